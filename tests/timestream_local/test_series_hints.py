"""The store adds the dimension conditions a query implies (storage/hints.py): a query on a station
alone gets its city, which sorts first in the stored blocks, so DuckDB's zone maps can skip other
cities' row groups. The answers must stay exactly those of the query as written: a station name
in two cities, a series without a city, and series written after a query was answered."""

from __future__ import annotations

from pathlib import Path

import pytest

from timestream_local.models import Retention, WriteRequest
from timestream_local.query import execute_query
from timestream_local.query.engine import compile_query
from timestream_local.store import Store

SECOND_NS = 1_000_000_000
NOW_NS = 1_795_000_200 * SECOND_NS


def _record(dims: dict[str, str], value: int, time_ns: int) -> dict:
    return {
        "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
        "MeasureName": "pm2.5",
        "MeasureValue": str(value),
        "MeasureValueType": "BIGINT",
        "Time": str(time_ns),
        "TimeUnit": "NANOSECONDS",
    }


def _write(store: Store, dims: dict[str, str], seconds: range, value: int) -> None:
    records = [_record(dims, value, NOW_NS - s * SECOND_NS) for s in seconds]
    for i in range(0, len(records), 100):
        _, rejections = store.writer.write_records(WriteRequest("iot", "pm25", records=records[i : i + 100]))
        assert not rejections
    store.flusher.sync()


@pytest.fixture
def store(tmp_path: Path):
    store = Store(tmp_path / "data", clock_ns=lambda: NOW_NS)
    store.catalogue.create_database("iot")
    store.catalogue.create_table("iot", "pm25", retention=Retention(memory_hours=2, magnetic_days=2))
    # 30 stations in 3 cities (the city has fewer values: it sorts first), 60 readings each
    for n in range(30):
        _write(store, {"city": f"city{n % 3}", "location": f"station {n:02d}"}, range(1, 61), n)
    _write(store, {"city": "city1", "location": "shared"}, range(1, 61), 100)  # one name, two cities
    _write(store, {"city": "city2", "location": "shared"}, range(1, 41), 200)
    _write(store, {"location": "no city"}, range(1, 21), 300)  # a series without the city dimension
    yield store
    store.close()


def _relation(store: Store, where: str) -> str:
    compiled = compile_query(f"SELECT count(*) FROM iot.pm25 WHERE {where}")
    relations, _full, _generation = store.reader.query_relations(compiled.tables, NOW_NS)
    return relations[0]


def _count_sum(store: Store, where: str) -> tuple[str, str]:
    sql = f"SELECT count(*), sum(measure_value::bigint) FROM iot.pm25 WHERE {where} AND time > ago(1h)"
    (row,) = execute_query(store.reader.cursor(), sql, now_ns=NOW_NS, tiers=store.reader).rows
    return tuple(d.get("ScalarValue") for d in row["Data"])


def test_a_station_query_gets_its_city_and_the_same_answer(store: Store) -> None:
    assert _relation(store, "location = 'station 07'").endswith("WHERE \"city\" = 'city1')")
    assert _count_sum(store, "location = 'station 07'") == ("60", str(60 * 7))
    # a name in two cities: both, and the rows of both
    assert _relation(store, "location = 'shared'").endswith("WHERE \"city\" IN ('city1', 'city2'))")
    assert _count_sum(store, "location = 'shared'") == ("100", str(60 * 100 + 40 * 200))
    assert _count_sum(store, "location IN ('shared', 'station 07')") == (
        "160",
        str(60 * 100 + 40 * 200 + 60 * 7),
    )


def test_nothing_is_implied_where_it_could_drop_rows_or_would_not_prune(store: Store) -> None:
    plain = _relation(store, "measure_name = 'pm2.5'")
    assert "SELECT" not in plain
    # a series of this station has no city: no condition on the city
    assert _relation(store, "location = 'no city'") == plain
    assert _count_sum(store, "location = 'no city'") == ("20", str(20 * 300))
    # a city: its stations sort after it, so they are not added
    assert _relation(store, "city = 'city1'") == plain
    assert _count_sum(store, "city = 'city1'") == ("660", str(60 * sum(range(1, 30, 3)) + 60 * 100))
    # an unknown station: nothing implied, nothing found
    assert _relation(store, "location = 'nowhere'") == plain
    assert _count_sum(store, "location = 'nowhere'") == ("0", None)


def test_a_series_written_after_a_query_is_in_the_next_answer(store: Store) -> None:
    assert _count_sum(store, "location = 'station 07'") == ("60", str(60 * 7))  # the hint is cached
    _write(store, {"city": "city2", "location": "station 07"}, range(1, 11), 1000)  # a new series
    assert _relation(store, "location = 'station 07'").endswith("WHERE \"city\" IN ('city1', 'city2'))")
    assert _count_sum(store, "location = 'station 07'") == ("70", str(60 * 7 + 10 * 1000))


def test_the_series_hints_survive_a_restart(store: Store, tmp_path: Path) -> None:
    store.close()
    reopened = Store(tmp_path / "data", clock_ns=lambda: NOW_NS)
    try:
        assert _relation(reopened, "location = 'shared'").endswith("WHERE \"city\" IN ('city1', 'city2'))")
        assert _count_sum(reopened, "location = 'shared'") == ("100", str(60 * 100 + 40 * 200))
    finally:
        reopened.close()
