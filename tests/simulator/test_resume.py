"""--resume-file: a restarted simulator continues with the tick after the last one its sink accepted,
skips only what is older than --resume-limit (and says which readings), and never cuts a tick short."""

from __future__ import annotations

import itertools
import json
import re
import time
from collections import defaultdict
from datetime import UTC, datetime

from catalogue import load_catalogue
from simulator.model import FleetModel, ModelParams
from simulator.runner import Runner, Schedule
from tests.simulator.cli_helpers import simulate
from tests.simulator.fakes import FakeClock, FakeStop, ListSink

CATALOGUE = load_catalogue()
LASA = CATALOGUE.city("Lasa").stations
NO_DROPOUTS = ModelParams(dropouts_per_day=0)
OPTIONS = ("--sink", "stdout", "--cities", "Lasa", "--seed", "11", "--param", "dropouts_per_day=0")


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_two_runs_with_a_resume_file_give_each_reading_once(tmp_path):
    resume = tmp_path / "position.json"
    first = simulate(*OPTIONS, "--backfill", "20s", "--duration", "0", "--resume-file", str(resume))
    assert first.returncode == 0, first.stderr
    saved = json.loads(resume.read_text())["last_delivered_ms"]
    time.sleep(2.2)  # the simulator is "down" for two ticks or more
    second = simulate(*OPTIONS, "--duration", "0", "--resume-file", str(resume))
    assert second.returncode == 0, second.stderr
    assert f"resuming after the last delivered reading ({_iso(saved)})" in second.stderr
    got = records(first.stdout) + records(second.stdout)
    times = sorted({int(r["Time"]) for r in got})
    second_times = sorted({int(r["Time"]) for r in records(second.stdout)})
    assert second_times[0] == saved + 1000  # the tick after the last one delivered
    assert second_times[-1] >= saved + 2000  # the ticks of the time it was down
    # Exactly the readings of every tick from the first to the last, each once, as the model computes them.
    model = FleetModel(LASA, seed=11, params=NO_DROPOUTS, timezone=CATALOGUE.timezone)
    expected = [
        (reading.station.name, reading.time_ms, str(reading.value))
        for tick in range(times[0], times[-1] + 1, 1000)
        for reading in model.readings_at(tick)
    ]
    assert sorted((r["location"], int(r["Time"]), r["MeasureValue"]) for r in got) == sorted(expected)
    assert json.loads(resume.read_text())["last_delivered_ms"] == times[-1]


def test_a_gap_longer_than_the_limit_is_skipped_and_named(tmp_path):
    resume = tmp_path / "position.json"
    last = (int(time.time()) - 7200) * 1000  # stopped two hours ago
    resume.write_text(json.dumps({"last_delivered_ms": last}))
    run = simulate(*OPTIONS, "--duration", "0", "--resume-file", str(resume), "--resume-limit", "30s")
    assert run.returncode == 0, run.stderr
    got = records(run.stdout)
    first = min(int(r["Time"]) for r in got)
    message = re.search(
        r"resuming: the readings from (\S+) to (\S+) \(([\d,]+) ticks\) are skipped", run.stderr
    )
    assert message, run.stderr
    assert message.group(1) == _iso(last + 1000)
    assert message.group(2) == _iso(first - 1000)
    assert int(message.group(3).replace(",", "")) == (first - last - 1000) // 1000
    assert time.time() * 1000 - first <= 31_000  # resumed no further back than the limit
    assert "the last run stopped 2.0 h ago, longer than --resume-limit" in run.stderr


def test_a_later_backfill_start_wins_over_an_old_position(tmp_path):
    resume = tmp_path / "position.json"
    resume.write_text(json.dumps({"last_delivered_ms": (int(time.time()) - 600) * 1000}))
    run = simulate(*OPTIONS, "--backfill", "5s", "--duration", "0", "--resume-file", str(resume))
    assert run.returncode == 0, run.stderr
    first = min(int(r["Time"]) for r in records(run.stdout))
    assert time.time() * 1000 - first < 8_000
    assert "the options start later" in run.stderr


def test_an_unreadable_resume_file_is_one_clear_error(tmp_path):
    resume = tmp_path / "position.json"
    resume.write_text("{torn")
    run = simulate(*OPTIONS, "--duration", "0", "--resume-file", str(resume))
    assert run.returncode == 2
    assert "cannot read the resume file" in run.stderr
    assert "remove it to start afresh" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_runner_reports_only_whole_ticks_as_delivered():
    clock = FakeClock(1_772_400_000.0)
    model = FleetModel(LASA, seed=3, params=NO_DROPOUTS, timezone=CATALOGUE.timezone)
    stations = len(LASA)
    schedule = Schedule.build(
        1000, round(clock.now * 1000), round(clock.now * 1000) - 10_000, None, 4 * stations + 1
    )
    delivered: list[int] = []
    sink = ListSink()
    runner = Runner(
        model,
        sink,
        schedule,
        FakeStop(clock),
        clock=clock.time,
        monotonic=clock.time,
        on_delivered=delivered.append,
    )
    runner.run()
    ticks = defaultdict(int)
    for reading in sink.readings:
        ticks[reading.time_ms] += 1
    whole = [tick for tick, count in sorted(ticks.items()) if count == stations]
    assert len(whole) == 4 and len(ticks) == 5  # the fifth tick was cut by --count
    assert delivered and delivered[-1] == whole[-1]
    assert all(a <= b for a, b in itertools.pairwise(delivered))


def _iso(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
