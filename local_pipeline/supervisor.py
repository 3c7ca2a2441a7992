"""A small supervisor: runs one program, restarts it when it dies, stops it on request.

It is what systemd does for a service with ``Restart=on-failure`` and ``StartLimitBurst=``, for a
machine without a systemd user session (this project's CI, containers, most laptops' shells):

* the program runs as the supervisor's child, in a process group of its own, with the supervisor's
  working directory, environment and output (the service's log file);
* when it ends, the ending is logged ("killed by signal 9 (SIGKILL)", "exited with status 1") and,
  if the restart policy wants it, the program is started again after a delay that doubles while it
  keeps failing; past the start limit the supervisor gives up and ends with the program's status;
  processes the program left behind in its group are stopped before it starts again;
* SIGTERM, SIGINT or SIGHUP to the supervisor stops the program (SIGTERM to its group, SIGKILL after
  ``stop_timeout`` seconds) and ends the supervisor with status 0;
* the program gets SIGTERM if the supervisor itself dies (so nothing runs unsupervised), and the state
  file (see ``state.py``) always says what is going on.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import select
import signal
import subprocess
import time
from pathlib import Path

from local_pipeline import processes
from local_pipeline.restart import Ending, RestartPolicy, StartHistory
from local_pipeline.state import (
    EXITED,
    FAILED,
    RESTARTING,
    RUNNING,
    STOPPED,
    STOPPING,
    LastExit,
    ServiceState,
    write_state,
)

log = logging.getLogger("supervise")

PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds // 3600:.0f} h {seconds % 3600 / 60:.0f} min"
    return f"{seconds / 86_400:.1f} days"


class _StopRequest:
    """Set from a signal handler; wakes the supervisor's select() through a pipe."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)

    def request(self, signum: int, _frame: object = None) -> None:
        if self.signal is None:
            self.signal = signum
        with contextlib.suppress(OSError):
            os.write(self._write_fd, b"x")

    def wait(self, seconds: float) -> bool:
        if self.signal is None and seconds > 0:
            select.select([self.read_fd], [], [], seconds)
        return self.signal is not None


def _death_signal_setter():
    """A function for the child (before exec): SIGTERM when the supervisor dies, so nothing runs
    unsupervised. Prepared before the fork: the child must not load libraries."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return lambda: None
    parent = os.getpid()

    def set_death_signal() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the supervisor died before prctl took effect
            os._exit(1)

    return set_death_signal


class Supervisor:
    def __init__(
        self,
        name: str,
        argv: list[str],
        state_file: Path,
        policy: RestartPolicy,
        stop_timeout: float = 20.0,
    ) -> None:
        self.name = name
        self.argv = argv
        self.state_file = Path(state_file)
        self.policy = policy
        self.stop_timeout = stop_timeout
        self.history = StartHistory(policy)
        self._stop = _StopRequest()
        self._death_signal = _death_signal_setter()
        self.state = ServiceState(
            name=name,
            supervisor_pid=os.getpid(),
            argv=argv,
            state=RUNNING,
            supervisor_started_at=time.time(),
        )

    # ------------------------------------------------------------------ helpers
    def _save(self, **changes: object) -> None:
        for key, value in changes.items():
            setattr(self.state, key, value)
        write_state(self.state_file, self.state)

    def _spawn(self) -> subprocess.Popen | None:
        self.history.started(time.monotonic())
        try:
            child = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                process_group=0,
                preexec_fn=self._death_signal,  # noqa: PLW1509 - the supervisor has one thread
                close_fds=True,
            )
        except OSError as error:
            log.error("%s cannot be started: %s", self.name, error)
            self._save(restarts=self.history.restarts)
            return None
        self._save(
            state=RUNNING,
            pid=child.pid,
            pgid=child.pid,
            started_at=time.time(),
            restarts=self.history.restarts,
            next_start_at=None,
            message="",
        )
        if self.history.restarts:
            log.info("%s started again (pid %d, restart %d)", self.name, child.pid, self.history.restarts)
        else:
            log.info("%s started (pid %d): %s", self.name, child.pid, " ".join(self.argv))
        return child

    def _wait(self, child: subprocess.Popen) -> Ending | None:
        """The child's ending, or None when a stop was requested first."""
        pidfd = os.pidfd_open(child.pid)
        try:
            while True:
                ready, _, _ = select.select([pidfd, self._stop.read_fd], [], [])
                if self._stop.signal is not None:
                    return None
                if pidfd in ready:
                    _, status = os.waitpid(child.pid, 0)
                    child.returncode = os.waitstatus_to_exitcode(status)
                    return Ending.from_wait_status(status)
        finally:
            os.close(pidfd)

    def _clear_group(self, pgid: int) -> None:
        """Stop what the ended program left behind in its process group (as systemd does on restart)."""
        left = processes.group_members(pgid)
        if left:
            log.warning("%s left %d process(es) behind (%s); stopping them", self.name, len(left), left)
            processes.stop_group(pgid, self.stop_timeout)

    def _stop_child(self, child: subprocess.Popen) -> None:
        signame = signal.Signals(self._stop.signal or signal.SIGTERM).name
        log.info("%s received: stopping %s (pid %d)", signame, self.name, child.pid)
        self._save(state=STOPPING, message=f"stopping on {signame}")
        started = time.monotonic()
        if not processes.stop_group(child.pid, self.stop_timeout, reap=child.pid):
            log.warning("%s did not stop within %.0f s of SIGTERM; killed it", self.name, self.stop_timeout)
        with contextlib.suppress(ChildProcessError):
            child.wait(timeout=5)
        log.info("%s stopped in %.1f s", self.name, time.monotonic() - started)

    # ------------------------------------------------------------------ main loop
    def run(self) -> int:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._stop.request)
        last: Ending | None = None
        while True:
            if self._stop.signal is not None:
                self._save(state=STOPPED, pid=None, next_start_at=None, message="stopped on request")
                return 0
            child = self._spawn()
            if child is None:
                ending = Ending(code=127)
                ran_for = 0.0
            else:
                ending = self._wait(child)
                if ending is None:
                    self._stop_child(child)
                    self._save(state=STOPPED, pid=None, message="stopped on request")
                    return 0
                ran_for = time.time() - (self.state.started_at or time.time())
                self._clear_group(child.pid)
            last = ending
            now = time.time()
            self.state.last_exit = LastExit(ending.describe(), ending.exit_code, now)
            where = f" (pid {child.pid})" if child is not None else ""
            if not self.policy.wants_restart(ending):
                log.info("%s%s %s after %s; not restarting it (restart=%s)",
                         self.name, where, ending.describe(), duration(ran_for), self.policy.mode)  # fmt: skip
                self._save(state=EXITED, pid=None, message=f"{ending.describe()}; not restarted")
                return ending.exit_code
            decision = self.history.next_start(time.monotonic())
            if decision.delay is None:
                message = (
                    f"{ending.describe()}; not restarting it: {self.policy.burst} starts within "
                    f"{self.policy.interval:.0f} s reached the start limit"
                )
                log.error("%s%s %s", self.name, where, message)
                self._save(state=FAILED, pid=None, message=message)
                return last.exit_code or 1
            log.warning(
                "%s%s %s after %s; restarting it in %.1f s (start %d of at most %d within %.0f s)",
                self.name, where, ending.describe(), duration(ran_for), decision.delay,
                decision.starts_in_window, self.policy.burst, self.policy.interval,
            )  # fmt: skip
            self._save(
                state=RESTARTING,
                pid=None,
                next_start_at=now + decision.delay,
                message=f"{ending.describe()}; restarting in {decision.delay:.1f} s",
            )
            self._stop.wait(decision.delay)
