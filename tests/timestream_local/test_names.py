"""Every name AWS lets a client choose works as a name, and none reaches the store's own state.

Databases may be called main, information_schema or __tsl; dimensions may be called rowid,
file_row_number or __version (the names of DuckDB's pseudo-columns and of the store's version
column). Each is written, read back, updated with a higher version (in both tiers) and kept across
a restart, with exact counts. Names AWS forbids are refused with its rule.
"""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.config import Config

from tests.services import start_timestream_local
from tests.timestream_local.store_helpers import now_ms, query_rows

HOUR_MS = 3600 * 1000
LEGAL_DATABASE_NAMES = ["main", "information_schema", "pg_catalog", "temp", "system", "__tsl", "__hidden"]
COLLIDING_DIMENSIONS = ["rowid", "file_row_number", "filename", "__version", "__tsl_v0"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    service = start_timestream_local(
        tmp_path_factory.mktemp("names") / "data", extra_args=["--tier-interval", "0.3"]
    )
    yield service
    service.stop()


def _clients(service):
    kwargs = {
        "endpoint_url": service.url,
        "region_name": "us-east-1",
        "config": Config(retries={"max_attempts": 1}),
    }
    return boto3.client("timestream-write", **kwargs), boto3.client("timestream-query", **kwargs)


def _reading(dims: dict[str, str], value: int, time_ms: int, version: int = 1) -> dict:
    return {
        "Dimensions": [{"Name": name, "Value": v} for name, v in dims.items()],
        "MeasureName": "pm2.5",
        "MeasureValue": str(value),
        "MeasureValueType": "BIGINT",
        "Time": str(time_ms),
        "Version": version,
    }


def _restart(service):
    service.stop()
    again = start_timestream_local(service.data_dir, port=service.port, extra_args=["--tier-interval", "0.3"])
    service.process = again.process


@pytest.mark.parametrize("database", LEGAL_DATABASE_NAMES)
def test_any_legal_database_name_holds_data_that_queries_read(server, database):
    write, query = _clients(server)
    write.create_database(DatabaseName=database)
    write.create_table(DatabaseName=database, TableName="readings")
    t = now_ms()
    write.write_records(
        DatabaseName=database,
        TableName="readings",
        Records=[_reading({"station": f"s{i}"}, i, t) for i in range(5)],
    )
    rows = query_rows(
        query, f'SELECT station, measure_value::bigint AS v FROM "{database}".readings ORDER BY v'
    )
    assert rows == [{"station": f"s{i}", "v": str(i)} for i in range(5)]
    shown = query_rows(query, "SHOW DATABASES")
    assert {"Database": database} in shown
    assert query_rows(query, f'SHOW TABLES FROM "{database}"') == [{"Table": "readings"}]


def test_dimensions_named_like_internal_columns_keep_every_row_through_updates_and_restarts(server):
    write, query = _clients(server)
    write.create_database(DatabaseName="collisions")
    write.create_table(
        DatabaseName="collisions",
        TableName="readings",
        RetentionProperties={"MemoryStoreRetentionPeriodInHours": 1, "MagneticStoreRetentionPeriodInDays": 2},
        MagneticStoreWriteProperties={"EnableMagneticStoreWrites": True},
    )
    t = now_ms()
    columns = ", ".join(f'"{name}"' for name in COLLIDING_DIMENSIONS)

    def dims(i: int) -> dict[str, str]:
        # the values of "__version" are not numbers: they must stay strings of a dimension
        return {name: f"{name}-{i}" if name != "__version" else ("abc" if i % 2 else str(i)) for name in
                COLLIDING_DIMENSIONS}  # fmt: skip

    recent = [_reading(dims(i), i, t - i) for i in range(5)]
    aged = [_reading(dims(i), 100 + i, t - 2 * HOUR_MS - i) for i in range(5, 10)]  # to the magnetic tier
    written = write.write_records(DatabaseName="collisions", TableName="readings", Records=recent + aged)
    assert written["RecordsIngested"] == {"Total": 10, "MemoryStore": 5, "MagneticStore": 5}

    def table():
        return query_rows(
            query, f"SELECT {columns}, measure_value::bigint AS v FROM collisions.readings ORDER BY v"
        )

    expected = [{**dims(i), "v": str(i)} for i in range(5)] + [
        {**dims(i), "v": str(100 + i)} for i in range(5, 10)
    ]
    assert table() == expected

    # wait until the aged rows live in a Parquet file, then update one row in each tier
    deadline = time.monotonic() + 15
    while not list((server.data_dir / "magnetic").rglob("*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list((server.data_dir / "magnetic").rglob("*.parquet"))
    updates = [_reading(dims(2), 42, t - 2, version=2), _reading(dims(7), 77, t - 2 * HOUR_MS - 7, version=2)]
    write.write_records(DatabaseName="collisions", TableName="readings", Records=updates)
    expected[2]["v"], expected[7]["v"] = "42", "77"
    assert sorted(table(), key=lambda r: int(r["v"])) == sorted(expected, key=lambda r: int(r["v"]))

    # other tables are untouched and writable; everything survives a restart (the write log replays)
    write.create_table(DatabaseName="collisions", TableName="others")
    write.write_records(
        DatabaseName="collisions", TableName="others", Records=[_reading({"rowid": "x"}, 1, t)]
    )
    _restart(server)
    assert sorted(table(), key=lambda r: int(r["v"])) == sorted(expected, key=lambda r: int(r["v"]))
    assert query_rows(query, "SELECT rowid FROM collisions.others") == [{"rowid": "x"}]


@pytest.mark.parametrize(
    "name",
    [
        "time",
        "measure_name",
        "measure_value",
        "measure_value::double",
        "MEASURE_VALUEx",
        "ts_x",
        "TS_X",
        "a:b",
    ],
)
def test_dimension_names_aws_forbids_are_refused_with_its_rule(server, name):
    write, _query = _clients(server)
    if "forbidden" not in [d["DatabaseName"] for d in write.list_databases()["Databases"]]:
        write.create_database(DatabaseName="forbidden")
        write.create_table(DatabaseName="forbidden", TableName="readings")
    with pytest.raises(write.exceptions.RejectedRecordsException) as error:
        write.write_records(
            DatabaseName="forbidden", TableName="readings", Records=[_reading({name: "v"}, 1, now_ms())]
        )
    (rejected,) = error.value.response["RejectedRecords"]
    assert rejected["RecordIndex"] == 0
    assert "cannot start with ts_ or measure_value" in rejected["Reason"]
    assert "cannot contain the colon (:) character" in rejected["Reason"]


def test_a_name_starting_with_the_engines_prefix_is_a_plain_dimension(server):
    write, query = _clients(server)
    write.create_database(DatabaseName="prefixed")
    write.create_table(DatabaseName="prefixed", TableName="readings")
    write.write_records(
        DatabaseName="prefixed",
        TableName="readings",
        Records=[_reading({"__tsl_duration": "d"}, 1, now_ms())],
    )
    assert query_rows(query, 'SELECT "__tsl_duration" AS x FROM prefixed.readings') == [{"x": "d"}]
