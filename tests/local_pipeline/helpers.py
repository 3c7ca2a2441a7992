"""Run the project's supervisor on small stand-in programs, and read what it records."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.services import ROOT

# A stand-in service: records each start and each signal it gets in EVENTS, then behaves as asked:
#   serve          run until SIGTERM, then exit 0
#   ignore-term    note SIGTERM but keep running (only SIGKILL ends it)
#   fail CODE      exit with CODE after 0.2 s
#   spawn-and-fail start a grandchild (sleep 300) in its group, then exit 1
PROGRAM = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    events = sys.argv[1]
    mode = sys.argv[2]

    def note(text):
        with open(events, "a") as out:
            out.write(f"{os.getpid()} {text}\\n")

    def on_term(signum, frame):
        note("SIGTERM")
        if mode != "ignore-term":
            sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)
    note("start")
    if mode == "fail":
        time.sleep(0.2)
        sys.exit(int(sys.argv[3]))
    if mode == "spawn-and-fail":
        child = subprocess.Popen(["sleep", "300"])
        note(f"grandchild {child.pid}")
        time.sleep(0.3)
        sys.exit(1)
    while True:
        time.sleep(0.1)
    """
)


def write_program(tmp_path: Path) -> Path:
    path = tmp_path / "service.py"
    path.write_text(PROGRAM)
    return path


def events(path: Path) -> list[tuple[int, str]]:
    if not path.exists():
        return []
    return [
        (int(pid), text) for pid, _, text in (line.partition(" ") for line in path.read_text().splitlines())
    ]


def supervise(tmp_path: Path, *program: str, options: tuple[str, ...] = ()) -> subprocess.Popen:
    log = (tmp_path / "service.log").open("ab")
    return subprocess.Popen(
        [
            sys.executable, "-m", "local_pipeline", "supervise",
            "--name", "svc", "--state-file", str(tmp_path / "svc.state.json"),
            "--restart-delay", "0.1", *options, "--", *program,
        ],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def state(tmp_path: Path) -> dict:
    try:
        return json.loads((tmp_path / "svc.state.json").read_text())
    except (OSError, ValueError):
        return {}


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def kill_quietly(pid: int, sig: int = 9) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
