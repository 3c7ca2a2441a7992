#!/bin/sh
# Installs Node.js and npm from Debian's packages when they are missing.
# Called by `make setup`; stops with one sentence when it cannot.
set -eu
if command -v npm >/dev/null 2>&1; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Node.js (with npm) is needed for the local Kinesis; install it with your package manager and run make again." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "Node.js is missing and installing it needs root: run 'apt-get install nodejs npm' as root, then make again." >&2
    exit 1
  fi
fi
echo "Installing Node.js and npm from Debian's packages ..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
