"""Facts about processes, read from /proc: is it alive, what does it run, who is in its process group."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name (which may hold spaces): state, ppid, pgrp, ..."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def alive(pid: int) -> bool:
    """True while the process exists and has not exited (a zombie has)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def process_argv(pid: int) -> list[str] | None:
    """The live process's command line, or None when it is gone (or a zombie)."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    if not raw:
        return None
    return raw.rstrip(b"\0").decode(errors="replace").split("\0")


def runs(pid: int | None, argv: list[str] | None) -> bool:
    """True when ``pid`` is alive and runs ``argv`` (the interpreter's path may differ)."""
    if not pid or not argv:
        return False
    running = process_argv(pid)
    return running is not None and len(running) == len(argv) and running[1:] == argv[1:]


def group_members(pgid: int) -> list[int]:
    """Processes of process group ``pgid`` that have not exited."""
    members = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def wait_group_gone(pgid: int, timeout: float, reap: int | None = None) -> bool:
    """Wait until no live process is left in group ``pgid``; ``reap``: a child of ours to collect."""
    deadline = time.monotonic() + timeout
    while True:
        if reap is not None:
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(reap, os.WNOHANG)[0]:
                    reap = None
        if not group_members(pgid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_group(pgid: int, timeout: float, reap: int | None = None) -> bool:
    """SIGTERM every process of the group, SIGKILL what is left after ``timeout``; True if SIGTERM did it."""
    signal_group(pgid, signal.SIGTERM)
    if wait_group_gone(pgid, timeout, reap):
        return True
    signal_group(pgid, signal.SIGKILL)
    wait_group_gone(pgid, 10, reap)
    return False
