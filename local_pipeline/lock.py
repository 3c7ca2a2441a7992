"""One `make demo` or `make down` at a time per state folder: a lock file under ``<state>/run/``.

The lock is an flock(2) on ``play.lock``, so it is released by the kernel when its holder ends, however
it ends (a crash or kill -9 leaves no stale lock). The holder writes who it is into the file, so a second
run can say what it is waiting for.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

LOCK_NAME = "play.lock"


def _describe(info: dict, now: float) -> str:
    what = info.get("what") or "another run"
    pid = info.get("pid")
    started = info.get("started")
    since = f", started {now - started:.0f} s ago" if isinstance(started, int | float) else ""
    return f"{what} (pid {pid}{since})" if pid else f"{what}{since}"


class RunLock:
    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / "run" / LOCK_NAME
        self._file = None

    def holder(self) -> dict:
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(self.path.read_text() or "{}")
            if isinstance(data, dict):
                return data
        return {}

    def _try(self) -> bool:
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def acquire(self, what: str, wait: float, note: Callable[[str], None]) -> bool:
        """Take the lock, waiting up to ``wait`` seconds for its holder; False when it stayed taken."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a+")
        if not self._try():
            note(
                f"{_describe(self.holder(), time.time())} is running on this pipeline "
                f"({self.path.parent.parent}); {what} waits for it to finish "
                f"(up to {wait:.0f} s; Ctrl-C stops waiting and changes nothing)"
            )
            deadline = time.monotonic() + wait
            while not self._try():
                if time.monotonic() >= deadline:
                    self._file.close()
                    self._file = None
                    return False
                time.sleep(0.5)
            note(f"the other run has finished; {what} goes ahead")
        self._file.seek(0)
        self._file.truncate()
        self._file.write(json.dumps({"pid": os.getpid(), "what": what, "started": time.time()}) + "\n")
        self._file.flush()
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            self._file.close()  # closing the file releases the flock
            self._file = None
