"""Which program holds a TCP port on this machine, as far as the system says.

Reads the listening sockets from /proc/net/tcp and /proc/net/tcp6 and finds the process whose open
files include that socket (/proc/PID/fd). Another user's processes are only visible to root; then the
answer says the holder cannot be seen. Used by local_service to name the program in a "port taken"
error.
"""

from __future__ import annotations

import os

LISTEN = "0A"


def listening_inodes(port, proc="/proc"):
    """Inodes of the sockets listening on ``port`` (any address, IPv4 or IPv6)."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            with open(os.path.join(proc, "net", table)) as handle:
                lines = handle.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != LISTEN:
                continue
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def socket_owners(inodes, proc="/proc"):
    """[(pid, command line)] of the processes holding one of the socket ``inodes``; and whether
    some processes' open files could not be read (another user's, without root)."""
    wanted = {f"socket:[{inode}]" for inode in inodes}
    owners, hidden = [], False
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        fd_dir = os.path.join(proc, entry, "fd")
        try:
            names = os.listdir(fd_dir)
        except PermissionError:
            hidden = True
            continue
        except OSError:
            continue
        for name in names:
            try:
                target = os.readlink(os.path.join(fd_dir, name))
            except OSError:
                continue
            if target in wanted:
                owners.append((int(entry), _command(proc, entry)))
                break
    return owners, hidden


def _command(proc, pid):
    try:
        with open(os.path.join(proc, pid, "cmdline"), "rb") as handle:
            raw = handle.read()
    except OSError:
        return "?"
    text = raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
    return text if len(text) <= 160 else text[:157] + "..."


def describe_holder(port, proc="/proc"):
    """'pid 1234 (node kinesis-local.js --port 4567)', or why the holder cannot be named."""
    inodes = listening_inodes(port, proc)
    if not inodes:
        return "another program (no listening socket for it is visible here)"
    owners, hidden = socket_owners(inodes, proc)
    if owners:
        return ", ".join(f"pid {pid} ({command})" for pid, command in owners)
    if hidden:
        return "a process this user cannot see (another user's; run as root, or ss -ltnp, to name it)"
    return "another program (its process is not visible here)"
