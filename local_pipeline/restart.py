"""When to restart a service that ended, and after how long: systemd's Restart= and StartLimitBurst=.

* ``on-failure`` restarts after a non-zero exit status or a death by signal, except SIGHUP, SIGINT,
  SIGTERM and SIGPIPE, which (as for systemd) mean someone asked the program to stop;
  ``always`` restarts after any end; ``no`` never does.
* The delay doubles with each start inside the start-limit window (``delay``, 2 x ``delay``,
  4 x ``delay``... up to ``max_delay``), so a program that crashes at once is not hammered, while one
  that ran for longer than the window is restarted after ``delay`` again.
* At most ``burst`` starts (the first one included) may fall within ``interval`` seconds; the start
  that would be one more is refused and the service is left failed, as systemd's
  ``StartLimitBurst``/``StartLimitIntervalSec`` do.
"""

from __future__ import annotations

import signal
from collections import deque
from dataclasses import dataclass, field

MODES = ("on-failure", "always", "no")
CLEAN_SIGNALS = frozenset({signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE})


@dataclass(frozen=True)
class Ending:
    """How a process ended: an exit status, or the signal that killed it."""

    code: int | None = None
    signal: int | None = None

    @classmethod
    def from_wait_status(cls, status: int) -> Ending:
        import os  # noqa: PLC0415 - keeps this module importable for pure policy tests

        if os.WIFSIGNALED(status):
            return cls(signal=os.WTERMSIG(status))
        return cls(code=os.waitstatus_to_exitcode(status))

    @property
    def clean(self) -> bool:
        if self.signal is not None:
            return self.signal in CLEAN_SIGNALS
        return self.code == 0

    @property
    def exit_code(self) -> int:
        """The status a shell would report: the code, or 128 + the signal number."""
        return self.code if self.signal is None else 128 + self.signal

    def describe(self) -> str:
        if self.signal is not None:
            try:
                name = signal.Signals(self.signal).name
            except ValueError:
                name = f"signal {self.signal}"
            return f"killed by signal {self.signal} ({name})"
        return f"exited with status {self.code}"


@dataclass(frozen=True)
class RestartPolicy:
    mode: str = "on-failure"
    delay: float = 1.0
    max_delay: float = 30.0
    burst: int = 5
    interval: float = 120.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"restart mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.delay < 0 or self.max_delay < self.delay:
            raise ValueError("0 <= restart delay <= maximum restart delay must hold")
        if self.burst < 1:
            raise ValueError("the start limit burst must be at least 1")
        if self.interval <= 0:
            raise ValueError("the start limit interval must be positive")

    def wants_restart(self, ending: Ending) -> bool:
        if self.mode == "always":
            return True
        return self.mode == "on-failure" and not ending.clean


@dataclass
class Decision:
    """Restart after ``delay`` seconds, or (``delay`` None) give up: the start limit is reached."""

    delay: float | None
    starts_in_window: int  # starts inside the window, the planned one included


@dataclass
class StartHistory:
    """The start times of one service (monotonic seconds) and what the policy makes of them."""

    policy: RestartPolicy
    _starts: deque[float] = field(default_factory=deque)

    def started(self, at: float) -> None:
        self._starts.append(at)

    @property
    def restarts(self) -> int:
        return max(0, len(self._starts) - 1)

    def next_start(self, now: float) -> Decision:
        """When to start again after an ending at ``now``."""
        policy = self.policy
        recent = sum(1 for at in self._starts if at > now - policy.interval)
        delay = min(policy.max_delay, policy.delay * 2 ** max(0, recent - 1))
        planned = now + delay
        in_window = 1 + sum(1 for at in self._starts if at > planned - policy.interval)
        if in_window > policy.burst:
            return Decision(None, in_window)
        return Decision(delay, in_window)
