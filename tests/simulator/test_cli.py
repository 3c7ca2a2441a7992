"""The command line: help, bad configuration messages, the stdout sink's output."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from datetime import UTC, datetime

import pytest

from catalogue import load_catalogue
from tests.services import free_port
from tests.simulator.cli_helpers import simulate, stdout_records

CATALOGUE = load_catalogue()
START = "2026-03-01T00:00:00Z"
START_MS = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp() * 1000)


def test_help_explains_every_option():
    result = simulate("--help")
    assert result.returncode == 0
    for option in (
        "--stream",
        "--region",
        "--endpoint-url",
        "--sink",
        "--database",
        "--table",
        "--interval",
        "--duration",
        "--count",
        "--backfill",
        "--seed",
        "--catalogue",
        "--cities",
        "--param",
    ):
        assert option in result.stdout
    for default in (
        "Timestreampm25Stream",
        "us-east-1",
        "kinesis",
        "timestream",
        "stdout",
        "dropouts_per_day",
    ):
        assert default in result.stdout


def assert_one_clear_error(result, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("simulator: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert result.stdout == ""


def test_unknown_city_lists_the_valid_ones():
    result = simulate("--sink", "stdout", "--cities", "Beijing", "Atlantis", "--count", "1")
    assert_one_clear_error(result, "unknown city 'Atlantis'", *CATALOGUE.city_names)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--interval", "-1"], "--interval must be a positive number of seconds (got -1)"),
        (["--interval", "0"], "--interval must be a positive number of seconds"),
        (["--interval", "0.0005"], "--interval must be a whole number of milliseconds"),
        (["--interval", "soon"], "argument --interval"),
        (["--backfill", "two hours"], "'two hours' is not a duration"),
        (["--duration", "-5"], "'-5' is not a duration"),
        (["--count", "0"], "must be at least 1"),
        (["--start", "yesterday"], "'yesterday' is not a time"),
        (["--param", "haze_per_day=2"], "haze_per_day is a daily probability"),
        (["--param", "sunshine=1"], "unknown model parameter 'sunshine'"),
        (["--backfill", "1h", "--start", START], "not allowed with argument"),
    ],
)
def test_bad_options_get_one_clear_message(args, fragment):
    assert_one_clear_error(simulate("--sink", "stdout", "--count", "1", *args), fragment)


def test_unreachable_endpoint():
    url = f"http://127.0.0.1:{free_port()}"
    result = simulate("--endpoint-url", url, "--count", "1")
    assert_one_clear_error(result, f"cannot reach Kinesis at {url}", "--endpoint-url")


def test_stdout_is_deterministic_for_a_seed_and_parseable():
    args = ("--start", START, "--count", "600", "--seed", "11")
    first = simulate("--sink", "stdout", *args)
    second = simulate("--sink", "stdout", *args)
    other = stdout_records("--start", START, "--count", "600", "--seed", "12")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    records = [json.loads(line) for line in first.stdout.splitlines()]
    assert len(records) == 600
    for record in records:
        assert set(record) == {"city", "location", "MeasureName", "MeasureValue", "MeasureValueType", "Time"}
        assert record["MeasureName"] == "pm2.5"
        assert record["MeasureValueType"] == "BIGINT"
        assert record["MeasureValue"].isdigit()
        assert int(record["Time"]) % 1000 == 0
        assert int(record["Time"]) >= START_MS
        assert CATALOGUE.city(record["city"]).station(record["location"])
    assert [r["Time"] for r in other] != [] and [r["MeasureValue"] for r in other] != [
        r["MeasureValue"] for r in records
    ]
    # Readings are close to each station's baseline (the reference generator's levels).
    ratios = [int(r["MeasureValue"]) / CATALOGUE.station(r["location"]).baseline for r in records]
    assert 0.4 < sum(ratios) / len(ratios) < 2.5
    assert "done (reached --count): 600 records" in first.stderr


def test_cities_subset_interval_and_per_station_order():
    records = stdout_records(
        "--start", START, "--count", "400", "--seed", "3", "--cities", "lasa,Sanya", "--interval", "0.5"
    )
    assert {r["city"] for r in records} == {"Lasa", "Sanya"}
    times = defaultdict(list)
    for record in records:
        times[record["location"]].append(int(record["Time"]))
    assert set(times) == {s.name for s in CATALOGUE.city("Lasa").stations + CATALOGUE.city("Sanya").stations}
    for station_times in times.values():
        steps = {b - a for a, b in itertools.pairwise(station_times)}
        assert min(steps) == 500  # strictly increasing, on the 0.5 s grid (larger steps: dropouts)
        assert all(step % 500 == 0 for step in steps)


def test_same_station_same_data_with_or_without_other_cities():
    alone = stdout_records("--start", START, "--count", "45", "--seed", "5", "--cities", "Sanya")
    everything = stdout_records("--start", START, "--count", "2000", "--seed", "5")  # 17 ticks of 115
    assert len(alone) == 45
    assert alone == [r for r in everything if r["city"] == "Sanya"][:45]


def test_catalogue_file_sets_the_stations(tmp_path):
    path = tmp_path / "network.yaml"
    path.write_text(
        "timezone: UTC\ncities:\n  Alpha:\n    north gate: 40\n    river: 80\n  Beta:\n    hill: 10\n"
    )
    records = stdout_records("--start", START, "--count", "30", "--seed", "2", "--catalogue", str(path))
    assert len(records) == 30
    assert {(r["city"], r["location"]) for r in records} == {
        ("Alpha", "north gate"),
        ("Alpha", "river"),
        ("Beta", "hill"),
    }
    only_beta = stdout_records(
        "--start", START, "--count", "3", "--seed", "2", "--catalogue", str(path), "--cities", "beta"
    )
    assert only_beta == [r for r in records if r["city"] == "Beta"][:3]


def test_catalogue_file_errors_are_one_sentence(tmp_path):
    missing = tmp_path / "missing.yaml"
    assert_one_clear_error(
        simulate("--sink", "stdout", "--catalogue", str(missing)), "cannot read", "missing.yaml"
    )
    clash = tmp_path / "clash.yaml"
    clash.write_text("cities:\n  Alpha:\n    gate: 40\n  Beta:\n    gate: 10\n")
    assert_one_clear_error(simulate("--sink", "stdout", "--catalogue", str(clash)), "'gate'", "unique")


def test_backfill_with_zero_duration_stops_after_the_window():
    result = simulate(
        "--sink", "stdout", "--backfill", "30s", "--duration", "0", "--seed", "1", "--cities", "Lasa"
    )
    assert result.returncode == 0, result.stderr
    times = sorted({int(json.loads(line)["Time"]) for line in result.stdout.splitlines()})
    assert 29 <= len(times) <= 31
    assert times[-1] - times[0] in (29_000, 30_000)
    assert "backfill done" in result.stderr
