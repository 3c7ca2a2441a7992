"""Exponential backoff with jitter, and the bookkeeping for retrying without a time limit."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """Delay before retry number ``attempt`` (1, 2, ...): base * 2**(attempt-1), capped, with jitter.

    The jitter is "equal jitter": a delay d becomes uniform(d/2, d), so retries of many threads spread
    out without ever collapsing to zero.
    """

    base: float = 0.1
    cap: float = 20.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        if attempt < 1:
            raise ValueError("attempt counts from 1")
        ceiling = min(self.cap, self.base * 2 ** min(attempt - 1, 60))
        return (rng or random).uniform(ceiling / 2, ceiling)


@dataclass
class Retrying:
    """One operation being retried until it succeeds.

    ``failed()`` records a failure and returns the delay to wait plus whether this failure deserves
    a warning: the first one does, then at most one every ``warn_every`` seconds, so a long outage
    stays visible without flooding the log.
    """

    backoff: Backoff = field(default_factory=Backoff)
    warn_every: float = 10.0
    clock: Callable[[], float] = time.monotonic
    rng: random.Random | None = None
    attempts: int = 0
    started: float | None = None
    _last_warning: float | None = None

    def failed(self) -> tuple[float, bool]:
        now = self.clock()
        if self.started is None:
            self.started = now
        self.attempts += 1
        warn = self._last_warning is None or now - self._last_warning >= self.warn_every
        if warn:
            self._last_warning = now
        return self.backoff.delay(self.attempts, self.rng), warn

    @property
    def failing_for(self) -> float:
        return 0.0 if self.started is None else self.clock() - self.started
