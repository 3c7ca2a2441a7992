"""One thread that stops queries running past their deadline.

Starting a timer thread per query costs more than a small dashboard query itself (thread creation,
plus the hand-over of the GIL while DuckDB runs), so the server keeps one watchdog: each query
registers its deadline and an interrupt callback, and removes them when it ends. The thread sleeps
until the earliest deadline and is woken only when a new one is earlier still.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Watchdog:
    def __init__(self, name: str = "tsl-query-watchdog") -> None:
        self._name = name
        self._condition = threading.Condition()
        self._deadlines: dict[int, tuple[float, Callable[[], None]]] = {}
        self._tokens = itertools.count(1)
        self._thread: threading.Thread | None = None

    def watch(self, seconds: float, on_timeout: Callable[[], None]) -> int:
        """Call `on_timeout` (from the watchdog's thread) unless `cancel(token)` comes first."""
        deadline = time.monotonic() + seconds
        with self._condition:
            token = next(self._tokens)
            earliest = min((d for d, _ in self._deadlines.values()), default=None)
            self._deadlines[token] = (deadline, on_timeout)
            if self._thread is None:
                self._start()
            elif earliest is None or deadline < earliest:
                self._condition.notify()
        return token

    def start(self) -> None:
        """Start the thread now rather than with the first deadline."""
        with self._condition:
            if self._thread is None:
                self._start()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def cancel(self, token: int) -> None:
        with self._condition:
            self._deadlines.pop(token, None)

    def _run(self) -> None:
        while True:
            with self._condition:
                now = time.monotonic()
                due = [token for token, (deadline, _) in self._deadlines.items() if deadline <= now]
                callbacks = [self._deadlines.pop(token)[1] for token in due]
                if not callbacks:
                    earliest = min((d for d, _ in self._deadlines.values()), default=None)
                    self._condition.wait(None if earliest is None else earliest - now)
                    continue
            for callback in callbacks:
                try:
                    callback()
                except Exception:  # a failing interrupt must not stop the watchdog
                    log.exception("interrupting a query past its deadline failed")
