"""Scheduling: readings on a fixed time grid, past ticks as fast as the sink takes them, then live.

Tick ``k`` is at ``k * interval`` milliseconds since the epoch, so timestamps are the same
whoever generates them and however the run is split. Ticks already in the past (a backfill
or ``--start``) are generated back to back; future ticks wait (sleeping, no polling) until
their time comes. The sink is flushed whenever the runner is about to wait, so live readings
leave at once and a stop request never strands buffered records.

After every flush the runner reports the last tick the sink has fully accepted (``on_delivered``;
the command line stores it in ``--resume-file``); while catching up it flushes for that every
``save_every`` seconds, so a restarted run continues close to where the last one stopped.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import select
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from simulator.model import FleetModel
from simulator.sinks.base import Sink, SinkStats

log = logging.getLogger("simulator")


class StopSignal:
    """A stop request that can be raised from a signal handler and wakes a sleeping runner.

    A self-pipe rather than threading.Event: setting an Event from a signal handler can
    deadlock when the signal lands while the main thread holds the Event's lock.
    """

    def __init__(self) -> None:
        self.requested = False
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def request(self) -> None:
        self.requested = True
        with contextlib.suppress(OSError):
            os.write(self._write, b"x")

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if a stop was requested."""
        if not self.requested and seconds > 0:
            select.select([self._read], [], [], seconds)
        return self.requested

    def close(self) -> None:
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)


@dataclass(frozen=True)
class Schedule:
    interval_ms: int
    first_ms: int  # time of the first tick (on the interval grid)
    live_ms: int | None = None  # how long to run live once caught up; None: until stopped
    count: int | None = None  # stop after this many records

    @classmethod
    def build(
        cls,
        interval_ms: int,
        now_ms: int,
        start_ms: int | None = None,
        live_ms: int | None = None,
        count: int | None = None,
    ) -> Schedule:
        """Ticks from ``start_ms`` (default: now) on the interval grid."""
        start = now_ms if start_ms is None else start_ms
        first = math.ceil(start / interval_ms) * interval_ms
        return cls(interval_ms=interval_ms, first_ms=first, live_ms=live_ms, count=count)


@dataclass
class RunReport:
    records: int = 0
    ticks: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    stopped_by: str = ""
    stats: SinkStats = field(default_factory=SinkStats)


def iso(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Runner:
    def __init__(
        self,
        model: FleetModel,
        sink: Sink,
        schedule: Schedule,
        stop: StopSignal,
        report_every: float = 5.0,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        on_delivered: Callable[[int], None] | None = None,
        save_every: float = 5.0,
    ) -> None:
        self.model = model
        self.sink = sink
        self.schedule = schedule
        self.stop = stop
        self.report_every = report_every
        self.clock = clock
        self.monotonic = monotonic
        self.report = RunReport(stats=sink.stats)
        self._tick = schedule.first_ms
        self._catching_up = self._tick <= clock() * 1000
        self._end_ms: float | None = None  # set when the run goes live
        if not self._catching_up:
            self._go_live()
        self._phase_started = monotonic()
        self._last_report = self._phase_started
        self._window = _Window(self._phase_started, 0)
        self._last_tick_size = 0
        self._on_delivered = on_delivered
        self._save_every = save_every
        self._next_save = self._phase_started + save_every
        self._complete_ms: int | None = None  # the last tick whose readings were all handed to the sink

    def run(self) -> RunReport:
        """Generate and send ticks until the end, the count, or a stop request; then flush."""
        report = self.report
        self._announce()
        while (reason := self._stop_reason()) is None:
            now_ms = self.clock() * 1000
            if self._tick > now_ms:
                if self._catching_up:
                    self._finish_backfill("going live" if self.schedule.live_ms != 0 else "stopping")
                    self._go_live()
                    continue
                self.stop.wait((self._tick - now_ms) / 1000)
                continue
            if self._emit_tick():
                reason = "count"
                break
            if self._tick > self.clock() * 1000:
                self.sink.flush()  # about to wait for the next tick: deliver this one now
                self._delivered()
            elif self._on_delivered is not None and self.monotonic() >= self._next_save:
                self.sink.flush()  # catching up: record progress now and then
                self._delivered()
            self._maybe_report()
        report.stopped_by = reason
        if self._catching_up:
            self._finish_backfill("stopping")
        self.sink.close()
        self._delivered()
        return report

    def _delivered(self) -> None:
        """Everything handed to the sink is accepted (it was just flushed): report the last whole tick."""
        self._next_save = self.monotonic() + self._save_every
        if self._on_delivered is not None and self._complete_ms is not None:
            self._on_delivered(self._complete_ms)

    def _announce(self) -> None:
        interval = self.schedule.interval_ms
        now_ms = self.clock() * 1000
        stations = len(self.model.stations)
        if self._catching_up:
            log.info(
                "backfill: generating %s stations from %s up to now (%s ticks), as fast as the %s sink takes them",
                stations,
                iso(self._tick),
                f"{int((now_ms - self._tick) // interval) + 1:,}",
                self.sink.name,
            )
        else:
            log.info("live: %s stations, one reading every %s s each", stations, interval / 1000)

    def _go_live(self) -> None:
        if self.schedule.live_ms is not None:
            self._end_ms = self.clock() * 1000 + self.schedule.live_ms

    def _stop_reason(self) -> str | None:
        if self._end_ms is not None and self._tick > self._end_ms:
            return "end"
        if self.stop.requested:
            return "signal"
        return None

    def _emit_tick(self) -> bool:
        """Generate and send one tick; True when --count is reached."""
        schedule, report = self.schedule, self.report
        readings = self.model.readings_at(self._tick)
        whole = len(readings)
        if schedule.count is not None:
            readings = readings[: schedule.count - report.records]
        self.sink.send(readings)
        if len(readings) == whole:
            self._complete_ms = self._tick
        report.records += len(readings)
        report.ticks += 1
        self._last_tick_size = len(readings)
        if report.first_ms is None:
            report.first_ms = self._tick
        report.last_ms = self._tick
        self._tick += schedule.interval_ms
        return schedule.count is not None and report.records >= schedule.count

    def _finish_backfill(self, then: str) -> None:
        self.sink.flush()
        self._delivered()
        records = self.report.records
        elapsed = self.monotonic() - self._phase_started
        log.info(
            "backfill done: %s records in %.1f s (%s records/s); %s",
            f"{records:,}",
            elapsed,
            f"{records / max(elapsed, 1e-9):,.0f}",
            then,
        )
        self._catching_up = False
        self._window = _Window(self.monotonic(), self.report.records)
        self._last_report = self.monotonic()

    def _maybe_report(self) -> None:
        moment = self.monotonic()
        if moment - self._last_report < self.report_every:
            return
        self._last_report = moment
        if self._catching_up:
            self._backfill_progress(self._tick, self._phase_started)
        else:
            self._live_summary(
                self._window, moment, self._tick, self._last_tick_size, len(self.model.stations)
            )
            self._window = _Window(moment, self.report.records)

    def _backfill_progress(self, tick: int, started: float) -> None:
        schedule, report = self.schedule, self.report
        now_ms = self.clock() * 1000
        elapsed = max(self.monotonic() - started, 1e-9)
        done_ticks = (tick - schedule.first_ms) / schedule.interval_ms
        todo_ticks = max(0.0, (now_ms - tick) / schedule.interval_ms)
        tick_rate = done_ticks / elapsed
        # The target moves on in real time while we catch up.
        gain = tick_rate - 1000 / schedule.interval_ms
        eta = f"{todo_ticks / gain:,.0f} s" if gain > 0 else "never (the sink is slower than real time)"
        log.info(
            "backfill: %s, %s records/s, %.0f%% of the window, ETA %s (at %s)",
            report.stats.describe(),
            f"{report.records / elapsed:,.0f}",
            100 * done_ticks / max(done_ticks + todo_ticks, 1),
            eta,
            iso(tick),
        )

    def _live_summary(self, window: _Window, moment: float, tick: int, last_tick: int, stations: int) -> None:
        report = self.report
        seconds = max(moment - window.started, 1e-9)
        records = report.records - window.records
        lag = self.clock() - tick / 1000
        extra = f", {report.stats.describe()} in total"
        behind = f", {lag:.1f} s behind" if lag > max(2.0, 2 * self.schedule.interval_ms / 1000) else ""
        log.info(
            "live: %s records in %.1f s (%.1f/s), %d of %d stations reporting%s, latest %s%s",
            f"{records:,}",
            seconds,
            records / seconds,
            last_tick,
            stations,
            extra,
            iso(report.last_ms or tick),
            behind,
        )


@dataclass(frozen=True)
class _Window:
    started: float
    records: int
