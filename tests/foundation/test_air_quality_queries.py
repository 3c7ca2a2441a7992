"""The air quality SQL against the real local store, compared with plain-Python answers (tests/air_quality.py).

- The rollup's query (roles/pipeline_resources/vars/main.yml, as the role renders it) over raw readings,
  with @scheduled_runtime bound to a run's time, against the hourly mean/min/max/count of the same readings.
- The dashboard's queries (as `make dashboards` generates them) over a rollup table, against the
  24-hour city means, their IAQI and category, and the daily means, computed from the raw readings.
"""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime
from fractions import Fraction

import jinja2
import pytest
import yaml

from catalogue import load_catalogue
from dashboards.__main__ import render_air_quality
from dashboards.air_quality_queries import RollupContext
from dashboards.timestream_rows import run_query
from tests.air_quality import (
    CST_MS,
    DAY_MS,
    HOUR_MS,
    HourRollup,
    Reading,
    category,
    city_daily_means,
    city_means,
    cst_day_start,
    hourly_rollup,
    iaqi,
)
from tests.services import ROOT
from tests.timestream_local.store_helpers import unique

ROLE_VARS = ROOT / "roles" / "pipeline_resources" / "vars" / "main.yml"
RETENTION = {"MemoryStoreRetentionPeriodInHours": 24 * 10, "MagneticStoreRetentionPeriodInDays": 30}


def current_hour_ms() -> int:
    """The start of the current hour, once at least 20 s away from the next one (the queries' windows
    start at bin(now(), 1h): the test and the store must agree on which hour it is)."""
    now_ms = time.time_ns() // 1_000_000
    if HOUR_MS - now_ms % HOUR_MS < 20_000:
        time.sleep((HOUR_MS - now_ms % HOUR_MS) / 1000 + 1)
        now_ms = time.time_ns() // 1_000_000
    return now_ms - now_ms % HOUR_MS


def rollup_query(database: str, table: str) -> str:
    """The scheduled query's text exactly as the role passes it to timestream_scheduled_query."""
    text = yaml.safe_load(ROLE_VARS.read_text())["__pipeline_resources_rollup_query"]
    return jinja2.Template(text).render(pipeline_resources_database=database, pipeline_resources_table=table)


def readings_for(
    stations: list[tuple[str, str]], hours: list[int], per_hour: int, seed: int
) -> list[Reading]:
    """per_hour readings (0 to 600 ug/m3, at distinct random seconds) per station and hour start."""
    rng = random.Random(seed)
    found = []
    for city, location in stations:
        for hour in hours:
            for second in rng.sample(range(3600), per_hour):
                found.append(Reading(city, location, hour + second * 1000, rng.randint(0, 600)))
    return found


def write_readings(write, database: str, table: str, readings: list[Reading]) -> None:
    records = [
        {
            "Dimensions": [{"Name": "city", "Value": r.city}, {"Name": "location", "Value": r.location}],
            "MeasureName": "pm2.5",
            "MeasureValue": str(r.value),
            "MeasureValueType": "BIGINT",
            "Time": str(r.time_ms),
        }
        for r in readings
    ]
    for start in range(0, len(records), 100):
        write.write_records(DatabaseName=database, TableName=table, Records=records[start : start + 100])


def write_rollups(write, database: str, table: str, rollups: list[HourRollup]) -> None:
    """Rollup rows as the scheduled query's TargetConfiguration writes them (one multi-measure record each)."""
    records = [
        {
            "Dimensions": [{"Name": "city", "Value": r.city}, {"Name": "location", "Value": r.location}],
            "MeasureName": "pm25_hourly",
            "MeasureValueType": "MULTI",
            "MeasureValues": [
                {"Name": "avg_pm25", "Value": repr(float(r.mean)), "Type": "DOUBLE"},
                {"Name": "min_pm25", "Value": str(r.minimum), "Type": "BIGINT"},
                {"Name": "max_pm25", "Value": str(r.maximum), "Type": "BIGINT"},
                {"Name": "readings", "Value": str(r.count), "Type": "BIGINT"},
            ],
            "Time": str(r.hour_ms),
        }
        for r in rollups
    ]
    for start in range(0, len(records), 100):
        write.write_records(DatabaseName=database, TableName=table, Records=records[start : start + 100])


def dashboard_queries(database: str, table: str = "pm25_hourly") -> list[str]:
    text = render_air_quality(RollupContext(catalogue=load_catalogue(), database=database, table=table))
    return [panel["targets"][0]["rawQuery"] for panel in json.loads(text)["panels"]]


def epoch_ms(timestamp: str) -> int:
    """Timestream's '2026-12-04 13:00:00.000000000' (UTC) as epoch milliseconds."""
    parsed = datetime.strptime(timestamp[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int(parsed.timestamp()) * 1000


@pytest.fixture
def database(timestream_write) -> str:
    name = unique("aq")
    timestream_write.create_database(DatabaseName=name)
    return name


def test_the_rollup_query_gives_each_station_hours_mean_min_max_and_count(
    timestream_write, timestream_query, database
):
    timestream_write.create_table(DatabaseName=database, TableName="pm25", RetentionProperties=RETENTION)
    run_hour = current_hour_ms() - 3 * HOUR_MS  # the hour the run at (run_hour + 1h + 5 min) rolls up
    stations = [("Beijing", "dongsi"), ("Beijing", "tiantan"), ("Sanya", "hedong")]
    # Readings in the hour before, the hour itself and the hour after: only the middle one counts.
    readings = readings_for(stations, [run_hour - HOUR_MS, run_hour, run_hour + HOUR_MS], 7, seed=16)
    # An hour's first and last millisecond belong to it; the next hour's first does not.
    readings += [
        Reading("Sanya", "hedong", run_hour, 599),
        Reading("Sanya", "hedong", run_hour + HOUR_MS - 1, 3),
        Reading("Sanya", "hedong", run_hour + HOUR_MS, 600),
    ]
    write_readings(timestream_write, database, "pm25", readings)

    runtime = datetime.fromtimestamp((run_hour + HOUR_MS + 5 * 60_000) / 1000, UTC)
    literal = f"from_iso8601_timestamp('{runtime:%Y-%m-%dT%H:%M:%S}Z')"
    sql = rollup_query(database, "pm25").replace("@scheduled_runtime", literal)
    result = run_query(timestream_query, sql)

    assert result.columns == ["city", "location", "hour", "avg_pm25", "min_pm25", "max_pm25", "readings"]
    expected = {key: r for key, r in hourly_rollup(readings).items() if key[2] == run_hour}
    assert len(expected) == 3
    got = {(row[0], row[1], epoch_ms(row[2])): row[3:] for row in result.rows}
    assert set(got) == set(expected)
    for key, rollup in expected.items():
        mean, minimum, maximum, count = got[key]
        assert mean == pytest.approx(float(rollup.mean), abs=1e-9)
        assert (minimum, maximum, count) == (rollup.minimum, rollup.maximum, rollup.count)
    assert got[("Sanya", "hedong", run_hour)][1:] == [3, 599, 9]


# Each city's 24-hour mean, on a breakpoint and just past it (ug/m3), and the index the standard gives.
LIMITS = {
    "Beijing": 0,
    "Shanghai": 35,
    "Guangzhou": Fraction(351, 10),
    "Shenzhen": 75,
    "Chengdu": Fraction(7504, 100),
    "Hangzhou": 115,
    "Nanjing": 150,
    "Tianjin": 250,
    "Chongqing": 350,
    "Lasa": 500,
    "Sanya": 501,
    # Not a breakpoint: in binary floating point 50 * 4.9 / 35 is 7.000000000000001, so an unguarded
    # CEIL gives 8 where the standard gives 7.
    "Shenyang": Fraction(49, 10),
}


def test_iaqi_and_category_at_each_breakpoint_and_just_past_it(timestream_write, timestream_query, database):
    timestream_write.create_table(
        DatabaseName=database, TableName="pm25_hourly", RetentionProperties=RETENTION
    )
    hour = current_hour_ms() - 2 * HOUR_MS
    rollups = [HourRollup(city, "s1", hour, Fraction(mean), 0, 0, 3600) for city, mean in LIMITS.items()]
    write_rollups(timestream_write, database, "pm25_hourly", rollups)
    table_sql, bars_sql, _ = dashboard_queries(database)

    result = run_query(timestream_query, table_sql)
    assert result.columns == ["city", "pm25_24h", "iaqi", "category"]
    got = {row[0]: row[1:] for row in result.rows}
    expected = {city: (iaqi(mean), category(iaqi(mean))) for city, mean in LIMITS.items()}
    assert {city: tuple(values[1:]) for city, values in got.items()} == expected
    # The standard's values, written out: breakpoints give their index; a step past rounds up.
    assert [expected[c][0] for c in LIMITS] == [0, 50, 51, 100, 101, 150, 200, 300, 400, 500, 500, 7]
    assert expected["Shanghai"][1] == "Excellent" and expected["Guangzhou"][1] == "Good"
    assert expected["Chongqing"][1] == "Severely polluted" and expected["Tianjin"][1] == "Heavily polluted"
    assert got["Guangzhou"][0] == 35.1
    assert [row[0] for row in result.rows][:2] == ["Lasa", "Sanya"]  # worst first, then by name

    bars = run_query(timestream_query, bars_sql)
    shown = {
        column: next(row[i] for row in bars.rows if row[i] is not None)
        for i, column in enumerate(bars.columns)
        if any(row[i] is not None for row in bars.rows)
    }
    assert shown == {city.lower(): values[0] for city, values in expected.items()}


def test_city_means_weight_each_hour_by_its_readings_over_the_last_24_whole_hours(
    timestream_write, timestream_query, database
):
    timestream_write.create_table(
        DatabaseName=database, TableName="pm25_hourly", RetentionProperties=RETENTION
    )
    now_hour = current_hour_ms()
    stations = [("Beijing", "dongsi"), ("Beijing", "tiantan"), ("Shanghai", "xujing"), ("Chengdu", "jinquan")]
    rng = random.Random(2012)
    readings = []
    # From 26 hours back to the current hour; the window starts 24 hours before the current hour.
    for city, location in stations:
        for back in range(26, -1, -1):
            hour = now_hour - back * HOUR_MS
            for second in rng.sample(range(3600), rng.randint(1, 12)):  # uneven counts: weighting matters
                readings.append(Reading(city, location, hour + second * 1000, rng.randint(5, 420)))
    write_rollups(timestream_write, database, "pm25_hourly", list(hourly_rollup(readings).values()))
    table_sql, _, trend_sql = dashboard_queries(database)

    got = {row[0]: row[1:] for row in run_query(timestream_query, table_sql).rows}
    means = city_means(readings, now_hour - 24 * HOUR_MS)
    assert set(got) == {"Beijing", "Shanghai", "Chengdu"}
    for city, mean in means.items():
        assert got[city][0] == pytest.approx(float(round(mean, 1)), abs=0.051)
        assert got[city][1:] == [iaqi(mean), category(iaqi(mean))]
    # The hour 25 hours back is outside the window: with it, the means differ.
    assert city_means(readings, now_hour - 25 * HOUR_MS) != means

    series = {row[0]: row[1] for row in run_query(timestream_query, trend_sql).rows}
    daily = city_daily_means(readings, cst_day_start(now_hour) - 6 * DAY_MS)
    assert set(series) == set(daily)
    for city, days in daily.items():
        points = [(epoch_ms(when), value) for when, value in series[city]]
        assert [when for when, _ in points] == sorted(days)
        for when, value in points:
            assert value == pytest.approx(float(round(days[when], 1)), abs=0.051)
            assert (when + CST_MS) % DAY_MS == 0  # each point is a CST midnight
