"""The nine "PM2.5 Analysis 1" panel queries, exactly as the generated dashboard sends them, against
known data written through a real timestream_local server with boto3 — each answer compared with
the same answer worked out here in plain Python from the records written.

The data is made to be awkward: readings in two 30 s bins inside the 30 s window, stations with no
reading in that window, whole 30 s bins missing (so interpolation has gaps to fill), a station with a
single reading, a city (Lasa) with nothing recent, wild values just outside each window and another
measure name in the same table. The queries use ago() on the server's clock; every window boundary
falls into a stretch without data as long as the queries run within SLACK seconds of writing.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from catalogue import load_catalogue
from tests.services import ROOT, start_timestream_local

DASHBOARD = ROOT / "dashboards" / "pm25-analysis-1.json"
SLACK = 60  # seconds the queries may run after T0 and still see exactly the intended rows
BIN_S = 30
MS = 1_000_000
S = 1_000_000_000


@dataclass(frozen=True)
class Reading:
    city: str
    location: str
    time_ns: int
    value: int
    measure: str = "pm2.5"


def panel_queries() -> list[tuple[str, str]]:
    board = json.loads(Path(DASHBOARD).read_text())
    queries = [(p["title"], t["rawQuery"]) for p in board["panels"] for t in p.get("targets", [])]
    assert len(queries) == 9
    return queries


# ---------------------------------------------------------------------------------- the data


def make_readings(t0: int, seed: int = 20261128) -> list[Reading]:
    """Readings around t0 (whole seconds since the epoch); see the module docstring."""
    rng = random.Random(seed)
    catalogue = load_catalogue()
    b = BIN_S * math.ceil((t0 - 30 + SLACK) / BIN_S)  # first bin wholly after the 30 s window's boundary
    out: list[Reading] = []

    def add(station, second: float, value: int | None = None, measure: str = "pm2.5") -> None:
        time_ns = round(second * 1000) * MS
        out.append(
            Reading(
                station.city, station.name, time_ns, rng.randint(5, 300) if value is None else value, measure
            )
        )

    for index, station in enumerate(catalogue.stations):
        add(station, t0 - 320, 999)  # before every 5-minute window
        if station.city == "Lasa":
            continue  # a whole city with nothing recent
        if station.name == "chongming":
            add(station, t0 - 200.25)  # a single reading: a one-point series
            continue
        # the 5-minute stretch, every 10 s from t0 - 300 + SLACK + 5 up to t0 - 40
        for second in range(t0 - 300 + SLACK + 5, t0 - 39, 10):
            if index % 5 == 2 and t0 - 160 <= second < t0 - 100:
                continue  # two missing 30 s bins
            add(station, second + rng.choice([0, 0.001, 0.5, 0.999]))
        # the 30 s window: bins [b, b + 30) and [b + 30, b + 60)
        if index % 7 == 3:
            continue  # missing in the 30 s window
        last = 30 if index % 7 == 5 else 60
        for offset in range(0, last, 10):
            add(station, b + offset + rng.choice([0, 2.5, 9.999]))
        if index % 9 == 0:
            add(station, b + 5, 5000, measure="pm10")  # another measure in the same window

    focus = catalogue.city("Shenzhen").station("huaqiao city")
    add(focus, t0 - 7250, 999)  # before the 2-hour window
    for second in range(t0 - 7200 + SLACK + 10, t0 - 330, 60):
        if t0 - 5000 <= second < t0 - 4000:
            continue  # a long gap inside the 2 hours
        add(focus, second + 0.25)
    return out


def write(client, readings: list[Reading]) -> None:
    for start in range(0, len(readings), 100):
        batch = readings[start : start + 100]
        client.write_records(
            DatabaseName="iot",
            TableName="pm25",
            Records=[
                {
                    "Dimensions": [
                        {"Name": "city", "Value": r.city},
                        {"Name": "location", "Value": r.location},
                    ],
                    "MeasureName": r.measure,
                    "MeasureValue": str(r.value),
                    "MeasureValueType": "BIGINT",
                    "Time": str(r.time_ns // MS),
                }
                for r in batch
            ],
        )


# ----------------------------------------------------------------- the answers, in plain Python


def java_round(x: float, places: int) -> float:
    """Trino's round(double, n): Math.round(x * 10^n) / 10^n, Math.round rounding the exact double
    x * 10^n half up (not floor(y + 0.5), whose own addition can round 11916.499999999998 up)."""
    factor = 10.0**places
    if x < 0:
        return -java_round(-x, places)
    scaled = x * factor
    whole = math.floor(scaled)
    if scaled - whole >= 0.5:
        whole += 1
    return whole / factor


def text_time(time_ns: int) -> str:
    seconds, fraction = divmod(time_ns, S)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}"


def pm25(readings: list[Reading], since_ns: int, inclusive: bool) -> list[Reading]:
    return [
        r for r in readings
        if r.measure == "pm2.5" and (r.time_ns >= since_ns if inclusive else r.time_ns > since_ns)
    ]  # fmt: skip


def bin_of(time_ns: int) -> int:
    return time_ns - time_ns % (BIN_S * S)


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def interpolated(readings: list[Reading]) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """Per (city, location): 30 s bin averages rounded to 2 places, every 30 s step from the first to
    the last bin filled by linear interpolation, each value rounded to 2 places again."""
    bins: dict[tuple[str, str], dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for r in readings:
        bins[(r.city, r.location)][bin_of(r.time_ns)].append(r.value)
    out = {}
    for key, by_bin in bins.items():
        points = sorted((t, java_round(mean(v), 2)) for t, v in by_bin.items())
        series = []
        step = BIN_S * S
        for t in range(points[0][0], points[-1][0] + 1, step):
            before = [p for p in points if p[0] <= t][-1]
            if before[0] == t:
                value = before[1]
            else:
                after = next(p for p in points if p[0] > t)
                value = before[1] + (after[1] - before[1]) * float(t - before[0]) / float(
                    after[0] - before[0]
                )
            series.append((t, java_round(value, 2)))
        out[key] = series
    return out


def expected_answers(readings: list[Reading], t0: int) -> list[Any]:
    catalogue = load_catalogue()
    t0_ns = t0 * S
    answers: list[Any] = []
    # panels 1-4: per station and 30 s bin of the last 30 s, the rounded average, pivoted
    window = pm25(readings, t0_ns - 30 * S + SLACK * S, inclusive=True)  # same rows as time >= ago(30s)
    for city in catalogue.cities[:4]:
        groups: dict[tuple[str, int], list[int]] = defaultdict(list)
        for r in window:
            if r.city == city.name:
                groups[(r.location, bin_of(r.time_ns))].append(r.value)
        aliases = [s.alias for s in city.stations]
        alias_of = {s.name: s.alias for s in city.stations}
        rows = [
            tuple(java_round(mean(v), 0) if alias == alias_of[location] else None for alias in aliases)
            for (location, _), v in groups.items()
        ]
        answers.append((aliases, rows))
    # panel 5: the focus station's readings of the last 5 minutes as one series
    recent = pm25(readings, t0_ns - 300 * S + SLACK * S, inclusive=True)
    focus = sorted((r.time_ns, r.value) for r in recent if r.location == "huaqiao city")
    answers.append([("huaqiao city", [(text_time(t), str(v)) for t, v in focus])])
    # panel 6: the focus station over 2 hours, interpolated
    two_hours = [
        r for r in pm25(readings, t0_ns - 7200 * S + SLACK * S, False) if r.location == "huaqiao city"
    ]
    series = interpolated(two_hours)[("Shenzhen", "huaqiao city")]
    answers.append([(text_time(t), v) for t, v in series])
    # panels 7-9: every station's interpolated last 5 minutes
    per_station = interpolated(recent)
    by_city: dict[str, list[float]] = defaultdict(list)
    for (city_name, _), points in per_station.items():
        by_city[city_name].extend(v for _, v in points)
    city_aliases = [c.alias for c in catalogue.cities]
    alias_of_city = {c.name: c.alias for c in catalogue.cities}
    answers.append(
        (
            city_aliases,
            [
                tuple(mean(v) if alias == alias_of_city[name] else None for alias in city_aliases)
                for name, v in by_city.items()
            ],
        )
    )
    ranking = sorted(
        ((city, location, mean([v for _, v in points])) for (city, location), points in per_station.items()),
        key=lambda row: row[2],
    )
    for ordered in (ranking[::-1], ranking):
        assert abs(ordered[9][2] - ordered[10][2]) > 1e-6, "test data has a tie at rank 10; change the seed"
        answers.append(ordered[:10])
    return answers


# --------------------------------------------------------------------------------- the server


def plain(datum: dict[str, Any]) -> Any:
    if datum.get("NullValue"):
        return None
    if "TimeSeriesValue" in datum:
        return [(p["Time"], p["Value"]["ScalarValue"]) for p in datum["TimeSeriesValue"]]
    return datum["ScalarValue"]


def query_all(client, sql: str) -> dict[str, Any]:
    """Every page of a query (the server pages like Timestream)."""
    pages = client.get_paginator("query").paginate(QueryString=sql)
    columns, rows = None, []
    for page in pages:
        columns = page["ColumnInfo"]
        rows.extend(tuple(plain(d) for d in row["Data"]) for row in page["Rows"])
    return {"columns": columns, "rows": rows}


@pytest.fixture(scope="module")
def panels(tmp_path_factory) -> Iterator[dict[str, Any]]:
    service = start_timestream_local(tmp_path_factory.mktemp("dashboard") / "data")
    try:
        kwargs = {"endpoint_url": service.url, "region_name": "us-east-1"}
        writer = boto3.client("timestream-write", **kwargs)
        reader = boto3.client("timestream-query", **kwargs)
        writer.create_database(DatabaseName="iot")
        writer.create_table(
            DatabaseName="iot",
            TableName="pm25",
            RetentionProperties={
                "MemoryStoreRetentionPeriodInHours": 24,
                "MagneticStoreRetentionPeriodInDays": 7,
            },
        )
        t0 = int(time.time())
        readings = make_readings(t0)
        write(writer, readings)
        results = [query_all(reader, sql) for _, sql in panel_queries()]
        elapsed = time.time() - t0
        assert elapsed < SLACK, f"writing and querying took {elapsed:.0f} s; the windows assume < {SLACK} s"
        yield {"results": results, "expected": expected_answers(readings, t0), "readings": readings}
    finally:
        service.stop()


def _as_float_rows(rows: list[tuple]) -> list[tuple]:
    return [tuple(None if v is None else float(v) for v in row) for row in rows]


def _sorted(rows: list[tuple]) -> list[tuple]:
    return sorted(rows, key=lambda row: [(v is None, v) for v in row])


@pytest.mark.parametrize("panel", [0, 1, 2, 3], ids=["beijing", "shanghai", "guangzhou", "shenzhen"])
def test_station_averages_of_the_last_30_seconds(panels, panel):
    aliases, expected = panels["expected"][panel]
    result = panels["results"][panel]
    assert [c["Name"] for c in result["columns"]] == aliases
    assert all(c["Type"] == {"ScalarType": "DOUBLE"} for c in result["columns"])
    assert _sorted(_as_float_rows(result["rows"])) == _sorted(expected)


def test_the_30_second_windows_hold_two_bins_and_miss_some_stations(panels):
    rows = [row for panel in range(4) for row in panels["expected"][panel][1]]
    stations_seen = {row.index(next(v for v in row if v is not None)) for row in rows}
    assert len(rows) > len(stations_seen)  # some station has two rows: two bins in the window
    assert any(len(panels["expected"][p][0]) > len({r.index(next(v for v in r if v is not None))
                                                    for r in panels["expected"][p][1]}) for p in range(4))  # fmt: skip


def test_focus_station_series_of_the_last_5_minutes(panels):
    result = panels["results"][4]
    assert [c["Name"] for c in result["columns"]] == ["location", "pm25"]
    assert result["columns"][1]["Type"] == {
        "TimeSeriesMeasureValueColumnInfo": {"Type": {"ScalarType": "BIGINT"}}
    }
    assert result["rows"] == panels["expected"][4]


def test_focus_station_interpolated_over_2_hours(panels):
    result = panels["results"][5]
    assert [c["Name"] for c in result["columns"]] == ["time", "interpolated_avg_pm25"]
    got = sorted((t, float(v)) for t, v in result["rows"])
    expected = panels["expected"][5]
    assert [t for t, _ in got] == [t for t, _ in expected]
    assert [v for _, v in got] == [v for _, v in expected]
    bins_with_readings = {
        r.time_ns // (BIN_S * S)
        for r in panels["readings"]
        if r.location == "huaqiao city" and r.value != 999
    }
    assert len(expected) > len(bins_with_readings) + 30  # the gaps were filled


def test_city_ranking_of_the_last_5_minutes(panels):
    aliases, expected = panels["expected"][6]
    result = panels["results"][6]
    assert [c["Name"] for c in result["columns"]] == aliases
    got = _sorted(_as_float_rows(result["rows"]))
    want = _sorted(expected)
    assert len(got) == len(want) == 11  # Lasa has nothing recent
    for got_row, want_row in zip(got, want, strict=True):
        assert [v is None for v in got_row] == [v is None for v in want_row]
        assert [v for v in got_row if v is not None] == pytest.approx(
            [v for v in want_row if v is not None], rel=1e-12
        )


@pytest.mark.parametrize("panel", [7, 8], ids=["top10", "lowest10"])
def test_station_rankings_of_the_last_5_minutes(panels, panel):
    result = panels["results"][panel]
    assert [c["Name"] for c in result["columns"]] == ["city", "location", "avg_pm25_loc"]
    got = [(city, location, float(value)) for city, location, value in result["rows"]]
    expected = panels["expected"][panel]
    assert [(c, loc) for c, loc, _ in got] == [(c, loc) for c, loc, _ in expected]
    assert [v for _, _, v in got] == pytest.approx([v for _, _, v in expected], rel=1e-12)
