"""Scheduling: backfill then live, identical data however a run is split, --count, stop requests."""

from __future__ import annotations

import itertools
from collections import defaultdict

from catalogue import load_catalogue
from simulator.model import FleetModel
from simulator.runner import Runner, Schedule
from tests.simulator.fakes import FakeClock, FakeStop, ListSink

CATALOGUE = load_catalogue()
STATIONS = CATALOGUE.city("Beijing").stations + CATALOGUE.city("Lasa").stations
T0 = 1_772_400_000.25  # seconds, deliberately off the 1 s grid


def run(start_s=None, now_s=T0, live_ms=None, count=None, interval_ms=1000, stop_after_waits=None, seed=3):
    clock = FakeClock(now_s)
    stop = FakeStop(clock, stop_after_waits)
    sink = ListSink()
    model = FleetModel(STATIONS, seed=seed, timezone=CATALOGUE.timezone)
    start_ms = None if start_s is None else round(start_s * 1000)
    schedule = Schedule.build(interval_ms, round(now_s * 1000), start_ms, live_ms, count)
    runner = Runner(model, sink, schedule, stop, report_every=30.0, clock=clock.time, monotonic=clock.time)
    report = runner.run()
    return report, sink, clock


def by_station(readings):
    times = defaultdict(list)
    for reading in readings:
        times[reading.station].append(reading.time_ms)
    return times


def test_backfill_then_live_on_the_interval_grid():
    report, sink, clock = run(start_s=T0 - 600, live_ms=10_000)
    ticks = sorted({r.time_ms for r in sink.readings})
    first = (int(T0) - 600 + 1) * 1000  # first whole second at or after T0 - 600 s
    assert ticks[0] == first
    assert ticks == list(range(first, ticks[-1] + 1, 1000))
    assert ticks[-1] <= (T0 + 10) * 1000  # ten seconds of live data after the backfill
    assert len(ticks) == 600 + 10
    assert report.ticks == len(ticks)
    assert report.records == len(sink.readings) == sink.stats.sent
    assert report.stopped_by == "end"
    for times in by_station(sink.readings).values():
        assert all(a < b for a, b in itertools.pairwise(times))
    # Live mode sleeps once per tick (no polling) and each sleep is about one interval.
    assert len(clock.waits) == 10
    assert all(0 < wait <= 1.0 for wait in clock.waits)


def test_live_ticks_are_flushed_before_each_wait():
    _, sink, _ = run(live_ms=5_000)
    assert sink.calls[:4] == ["send", "flush", "send", "flush"]
    assert sink.calls[-1] == "close"


def test_data_is_identical_however_the_run_is_split():
    start = T0 - 900
    whole, whole_sink, _ = run(start_s=start, now_s=T0, live_ms=0)
    _, first_half, _ = run(start_s=start, now_s=T0 - 450, live_ms=0)
    _, second_half, _ = run(start_s=T0 - 449.75, now_s=T0, live_ms=0)
    # The same window generated live, tick by tick, as time passes.
    _, live_sink, _ = run(now_s=start, live_ms=900_000)
    assert first_half.readings + second_half.readings == whole_sink.readings
    assert [r for r in live_sink.readings if r.time_ms <= T0 * 1000] == whole_sink.readings
    assert whole.records > 0.95 * 900 * len(STATIONS)  # a few dropouts, nothing else missing


def test_count_stops_after_exactly_that_many_records_even_mid_tick():
    report, sink, _ = run(start_s=T0 - 3600, count=1000)
    assert report.records == len(sink.readings) == 1000
    assert report.stopped_by == "count"
    assert len(STATIONS) * 40 < 1000  # so the last tick was cut
    assert not sink.buffer


def test_half_second_interval():
    _, sink, _ = run(start_s=T0 - 10, live_ms=0, interval_ms=500)
    ticks = sorted({r.time_ms for r in sink.readings})
    assert all(b - a == 500 for a, b in itertools.pairwise(ticks))
    assert len(ticks) in (20, 21)


def test_stop_request_flushes_and_reports_signal():
    report, sink, _ = run(stop_after_waits=4)
    assert report.stopped_by == "signal"
    assert sink.calls[-1] == "close"
    assert not sink.buffer
    assert report.ticks == 3
