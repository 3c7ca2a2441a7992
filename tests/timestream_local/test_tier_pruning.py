"""Queries bounded to recent data read the memory tier alone, and never lose magnetic rows doing so.

The store keeps rows older than the memory retention in Parquet files. A query whose WHERE clause
keeps only rows newer than every file's newest row is pointed at the memory tier alone (so its cost
does not grow with history); any query that may need older rows must still see them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from timestream_local.models import Retention, WriteRequest
from timestream_local.query import execute_query
from timestream_local.store import Store

SECOND_NS = 1_000_000_000
MINUTE_NS = 60 * SECOND_NS
HOUR_NS = 60 * MINUTE_NS
NOW_NS = 1_795_000_000 * SECOND_NS  # a fixed "now" for writes, tier moves and queries alike
AGES_MIN = {"m180": 180, "m120": 120, "m10": 10, "m1": 1}  # location -> age of its one reading


def _reading(location: str, age_min: int) -> dict:
    """One PM2.5 record `age_min` minutes before NOW_NS (its value is its age)."""
    return {
        "Dimensions": [{"Name": "location", "Value": location}],
        "MeasureName": "pm2.5",
        "MeasureValue": str(age_min),
        "MeasureValueType": "BIGINT",
        "Time": str(NOW_NS - age_min * MINUTE_NS),
        "TimeUnit": "NANOSECONDS",
    }


@pytest.fixture
def store(tmp_path: Path):
    store = Store(tmp_path / "data", clock_ns=lambda: NOW_NS)
    store.catalogue.create_database("iot")
    store.catalogue.create_table(
        "iot",
        "pm25",
        retention=Retention(memory_hours=1, magnetic_days=2),
        magnetic_writes={"EnableMagneticStoreWrites": True},
    )
    records = [_reading(location, age) for location, age in AGES_MIN.items()]
    outcome, rejections = store.writer.write_records(WriteRequest("iot", "pm25", records=records))
    assert not rejections and outcome.magnetic == 2
    store.mover.run_once(NOW_NS)
    files = store.magnetic.files(store.catalogue.describe_table("iot", "pm25").id)
    assert [f.rows for f in files] == [2]  # the two aged rows now live in one Parquet file
    yield store
    store.close()


def _run(store: Store, sql: str, tiers_view=None):
    result = execute_query(store.reader.cursor(), sql, now_ns=NOW_NS, tiers=tiers_view or store.reader)
    locations = sorted(row["Data"][0]["ScalarValue"] for row in result.rows)
    return locations, result.duckdb_sql


@pytest.mark.parametrize(
    ("where", "expected", "memory_only"),
    [
        ("time >= ago(30m)", ["m1", "m10"], True),
        ("ago(30m) < time", ["m1", "m10"], True),
        ("time BETWEEN ago(30m) AND now()", ["m1", "m10"], True),
        ("measure_name = 'pm2.5' AND (time > ago(100m) AND location <> 'x')", ["m1", "m10"], True),
        # the window reaches the newest magnetic row (120 min old): both tiers
        ("time >= ago(121m)", ["m1", "m10", "m120"], False),
        ("time > ago(1d)", ["m1", "m10", "m120", "m180"], False),
        # fixed instants, as Grafana's $__timeFilter sends them
        (
            f"time BETWEEN from_milliseconds({(NOW_NS - 30 * MINUTE_NS) // 10**6}) AND from_milliseconds({NOW_NS // 10**6})",
            ["m1", "m10"],
            True,
        ),
        (f"time >= from_nanoseconds({NOW_NS - 30 * MINUTE_NS})", ["m1", "m10"], True),
        (f"time >= from_milliseconds({(NOW_NS - 121 * MINUTE_NS) // 10**6})", ["m1", "m10", "m120"], False),
        (
            f"time > ago(1d) AND time >= from_milliseconds({(NOW_NS - 30 * MINUTE_NS) // 10**6})",
            ["m1", "m10"],
            True,
        ),
        # now() minus a fixed duration is ago(): the same bound
        ("time >= now() - 30m", ["m1", "m10"], True),
        ("time > now() - INTERVAL '100' MINUTE", ["m1", "m10"], True),
        ("time >= now() - 121m", ["m1", "m10", "m120"], False),
        ("time >= ago(20m) - 101m", ["m1", "m10", "m120"], False),
        # timestamp literals: 2026-11-18 11:06:40 UTC is NOW_NS
        ("time >= TIMESTAMP '2026-11-18 10:36:40'", ["m1", "m10"], True),
        ("time >= TIMESTAMP '2026-11-18 09:06:40.000000001'", ["m1", "m10"], True),
        ("time >= TIMESTAMP '2026-11-18 09:06:40'", ["m1", "m10", "m120"], False),
        ("time >= CAST('2026-11-18' AS TIMESTAMP)", ["m1", "m10", "m120", "m180"], False),
        # the most recent of several bounds counts
        ("time > ago(1d) AND time > ago(30m)", ["m1", "m10"], True),
        # not a bound on every row: both tiers
        ("time > ago(30m) OR location = 'm180'", ["m1", "m10", "m180"], False),
        ("time < ago(30m)", ["m120", "m180"], False),
        ("location <> 'x'", ["m1", "m10", "m120", "m180"], False),
    ],
)
def test_where_clause_bounds_choose_the_tiers(store, where, expected, memory_only):
    locations, sql = _run(store, f"SELECT location FROM iot.pm25 WHERE {where}")
    assert locations == expected
    assert ('"__tsl"."recent_1"' in sql) is memory_only
    assert ("read_parquet" in sql) is False  # the view's definition, not the query, names the files


def test_a_bound_inside_a_subquery_covers_only_that_subquery(store):
    sql = (
        "SELECT location FROM iot.pm25 WHERE location IN "
        "(SELECT location FROM iot.pm25 WHERE time > ago(30m)) OR time < ago(150m)"
    )
    locations, translated = _run(store, sql)
    assert locations == ["m1", "m10", "m180"]
    assert translated.count('"__tsl"."recent_1"') == 1


def test_join_bounds_count_only_for_the_table_they_name(store):
    sql = (
        "SELECT a.location FROM iot.pm25 a JOIN iot.pm25 b ON a.location = b.location WHERE a.time > ago(30m)"
    )
    locations, translated = _run(store, sql)
    assert locations == ["m1", "m10"]
    assert '"__tsl"."recent_1" AS "a"' in translated and '"__tsl"."view_1" AS "b"' in translated


class _MovedDuringQuery:
    """Tiers that claim a recent-only read is enough, then report that rows moved meanwhile."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def query_relations(self, tables, now_ns):
        return ['"__tsl"."recent_1"' for _ in tables], ['"__tsl"."view_1"' for _ in tables], 1

    def tier_generation(self) -> int:
        return 2


def test_a_query_runs_again_over_both_tiers_when_rows_moved_while_it_ran(store):
    locations, sql = _run(
        store, "SELECT location FROM iot.pm25 WHERE time > ago(1d)", _MovedDuringQuery(store)
    )
    assert locations == ["m1", "m10", "m120", "m180"]
    assert '"__tsl"."view_1"' in sql


def test_moving_rows_to_the_magnetic_tier_changes_the_generation(store):
    before = store.reader.tier_generation()
    store.writer.write_records(WriteRequest("iot", "pm25", records=[_reading("late", 90)]))
    store.mover.run_once(NOW_NS)
    assert store.reader.tier_generation() != before
    # the new file's newest row (90 min old) now makes a 100-minute window read both tiers
    locations, sql = _run(store, "SELECT location FROM iot.pm25 WHERE time > ago(100m)")
    assert locations == ["late", "m1", "m10"]
    assert '"__tsl"."view_1"' in sql
