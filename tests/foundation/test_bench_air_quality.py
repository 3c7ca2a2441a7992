"""bench/air_quality.py's raw-readings queries give the "PM2.5 Air Quality" panels' answers, compared with
plain-Python answers (tests/air_quality.py) from the same readings; and its answer comparison.

The bench times these queries against the dashboard's own, so a wrong window here would compare
different questions: readings of the current hour (which the hourly rollup does not hold yet), of the
hour before the 24-hour window and of the day before the 7-day window carry extreme values, so that
reading any of them changes the answers.
"""

from __future__ import annotations

import random
import time

import pytest

from bench.air_quality import differences, raw_queries
from catalogue import load_catalogue
from dashboards.timestream_rows import QueryResult, run_query
from tests.air_quality import (
    DAY_MS,
    HOUR_MS,
    Reading,
    category,
    city_daily_means,
    city_means,
    cst_day_start,
    iaqi,
)
from tests.foundation.test_air_quality_queries import (
    RETENTION,
    current_hour_ms,
    epoch_ms,
    write_readings,
)
from tests.timestream_local.store_helpers import unique

EXTREME = 5000  # ug/m3: one such reading moves any mean by far more than a rounding step


@pytest.fixture
def database(timestream_write) -> str:
    name = unique("aqraw")
    timestream_write.create_database(DatabaseName=name)
    timestream_write.create_table(
        DatabaseName=name,
        TableName="pm25",
        RetentionProperties=RETENTION,
        MagneticStoreWriteProperties={"EnableMagneticStoreWrites": True},
    )
    return name


def history(now_hour: int, now_ms: int) -> tuple[list[Reading], int]:
    """Readings of five stations in three cities from 8 days back to now (uneven counts per hour),
    extreme values just outside the windows; and the 7-day window's start."""
    catalogue = load_catalogue()
    stations = [(city.name, station.name) for city in catalogue.cities[:3] for station in city.stations[:2]][
        :5
    ]
    week_start = cst_day_start(now_hour) - 6 * DAY_MS  # bin(now() + 8h, 1d) - 8h - 6d
    outside = {
        now_hour,
        now_hour - 25 * HOUR_MS,
        week_start - HOUR_MS,
    }  # current hour; just before each window
    rng = random.Random(633)
    readings = []
    for city, location in stations:
        for back in range(8 * 24, -1, -1):
            hour = now_hour - back * HOUR_MS
            seconds = range(max(1, min(3600, (now_ms - hour) // 1000)))  # none in the future
            for second in rng.sample(seconds, min(len(seconds), rng.randint(1, 4))):
                value = EXTREME if hour in outside else rng.randint(0, 600)
                readings.append(Reading(city, location, hour + second * 1000, value))
    return readings, week_start


def test_the_raw_queries_answer_each_panel_from_the_readings_of_its_window(
    timestream_write, timestream_query, database
):
    now_hour = current_hour_ms()
    readings, week_start = history(now_hour, time.time_ns() // 1_000_000)
    write_readings(timestream_write, database, "pm25", readings)
    past = [r for r in readings if r.time_ms < now_hour]  # what the hourly rollup holds
    table_sql, pivot_sql, trend_sql = raw_queries(load_catalogue(), database, "pm25")

    means = city_means(past, now_hour - 24 * HOUR_MS)
    table = run_query(timestream_query, table_sql)
    assert table.columns == ["city", "pm25_24h", "iaqi", "category"]
    expected = sorted(means, key=lambda city: (-iaqi(means[city]), city))
    assert [row[0] for row in table.rows] == expected  # worst first, then by name
    for city, mean_shown, index, name in table.rows:
        assert abs(mean_shown - means[city]) <= 0.05 + 1e-9
        assert (index, name) == (iaqi(means[city]), category(iaqi(means[city])))

    pivot = run_query(timestream_query, pivot_sql)
    assert pivot.columns == [city.alias for city in load_catalogue().cities]
    shown = {pivot.columns[i]: row[i] for row in pivot.rows for i in range(len(row)) if row[i] is not None}
    aliases = {city.name: city.alias for city in load_catalogue().cities}
    assert shown == {aliases[city]: iaqi(mean) for city, mean in means.items()}

    daily = city_daily_means(past, week_start)
    series = {row[0]: row[1] for row in run_query(timestream_query, trend_sql).rows}
    assert set(series) == set(daily)
    for city, days in daily.items():
        assert [epoch_ms(when) for when, _ in series[city]] == sorted(days)
        for when, value in series[city]:
            assert abs(value - days[epoch_ms(when)]) <= 0.05 + 1e-9


def test_answers_agree_to_1e9_relative_in_any_row_order_and_differ_loudly_otherwise():
    rollup = QueryResult(["a", "b"], [[None, 57], [101, None]])
    assert differences(rollup, QueryResult(["a", "b"], [[101, None], [None, 57]])) == []
    assert differences(rollup, QueryResult(["a", "b"], [[101, None], [None, 58]])) == [
        "[None, 57] vs [None, 58]"
    ]

    means = QueryResult(["city", "pm25"], [["Beijing", 41.3], ["Lasa", [("t", 12.5)]]])
    close = QueryResult(["city", "pm25"], [["Beijing", 41.3 * (1 + 0.9e-9)], ["Lasa", [("t", 12.5)]]])
    far = QueryResult(["city", "pm25"], [["Beijing", 41.3 * (1 + 1.1e-9)], ["Lasa", [("t", 12.5)]]])
    assert differences(means, close) == []
    assert len(differences(means, far)) == 1
    assert differences(means, QueryResult(["city", "pm25"], means.rows[:1])) == ["2 rows vs 1"]
    assert differences(means, QueryResult(["city", "mean"], means.rows)) == [
        "columns ['city', 'pm25'] vs ['city', 'mean']"
    ]
