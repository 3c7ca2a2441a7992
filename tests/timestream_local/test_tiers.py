"""Memory tier -> magnetic tier (Parquet) -> expiry, driven by each table's retention."""

from __future__ import annotations

import time

import boto3
import pytest

from tests.services import start_timestream_local
from tests.timestream_local.store_helpers import create_table, now_ms, query_rows, record

HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS


@pytest.fixture(scope="module")
def tiered(tmp_path_factory):
    service = start_timestream_local(
        tmp_path_factory.mktemp("tiers") / "data", extra_args=["--tier-interval", "0.3"]
    )
    yield service
    service.stop()


def _clients(service):
    kwargs = {"endpoint_url": service.url, "region_name": "us-east-1"}
    return boto3.client("timestream-write", **kwargs), boto3.client("timestream-query", **kwargs)


def _wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_rows_move_to_parquet_expire_and_survive_restart(tiered, tmp_path):
    write, query = _clients(tiered)
    database, name = create_table(
        write,
        RetentionProperties={"MemoryStoreRetentionPeriodInHours": 1, "MagneticStoreRetentionPeriodInDays": 1},
        MagneticStoreWriteProperties={"EnableMagneticStoreWrites": True},
    )
    t = now_ms()
    records = [
        record("recent", 1, t),
        record("aged", 2, t - 2 * HOUR_MS),
        record("aged", 3, t - 3 * HOUR_MS),
        record("expiring", 4, t - DAY_MS + 1500),  # inside the 1-day retention for another 1.5 s
    ]
    result = write.write_records(DatabaseName=database, TableName=name, Records=records)
    assert result["RecordsIngested"] == {"Total": 4, "MemoryStore": 1, "MagneticStore": 3}

    def locations():
        rows = query_rows(query, f'SELECT location, measure_value::bigint AS v FROM "{database}"."{name}"')
        return sorted((r["location"], r["v"]) for r in rows)

    # the mover writes the aged rows to Parquet; queries keep seeing all of them
    _wait_for(lambda: list((tiered.data_dir / "magnetic").rglob("*.parquet")))
    assert ("aged", "2") in locations()
    # after 1.5 s the oldest row passes the magnetic retention and is deleted
    _wait_for(lambda: ("expiring", "4") not in locations())
    assert locations() == [("aged", "2"), ("aged", "3"), ("recent", "1")]

    # an upsert of a row that already lives in the magnetic tier replaces it there
    write.write_records(
        DatabaseName=database, TableName=name, Records=[record("aged", 30, t - 3 * HOUR_MS, Version=2)]
    )
    assert locations() == [("aged", "2"), ("aged", "30"), ("recent", "1")]

    tiered.stop()
    restarted = start_timestream_local(
        tiered.data_dir, port=tiered.port, extra_args=["--tier-interval", "0.3"]
    )
    tiered.process = restarted.process
    assert locations() == [("aged", "2"), ("aged", "30"), ("recent", "1")]


def test_update_table_retention_takes_effect(tiered):
    write, query = _clients(tiered)
    database, name = create_table(
        write,
        RetentionProperties={
            "MemoryStoreRetentionPeriodInHours": 6,
            "MagneticStoreRetentionPeriodInDays": 10,
        },
    )
    t = now_ms()
    write.write_records(
        DatabaseName=database, TableName=name, Records=[record("a", 1, t - 2 * HOUR_MS), record("b", 2, t)]
    )
    table_id_dirs_before = (
        set((tiered.data_dir / "magnetic").glob("t*")) if (tiered.data_dir / "magnetic").exists() else set()
    )
    write.update_table(
        DatabaseName=database,
        TableName=name,
        RetentionProperties={
            "MemoryStoreRetentionPeriodInHours": 1,
            "MagneticStoreRetentionPeriodInDays": 10,
        },
    )
    # the 2-hour-old row is now past the memory retention: it moves to a new table folder of Parquet files
    _wait_for(lambda: set((tiered.data_dir / "magnetic").glob("t*")) - table_id_dirs_before)
    rows = query_rows(query, f'SELECT location FROM "{database}"."{name}" ORDER BY location')
    assert [r["location"] for r in rows] == ["a", "b"]
    # writes older than the (new) memory retention are now rejected: magnetic writes are off
    with pytest.raises(write.exceptions.RejectedRecordsException):
        write.write_records(DatabaseName=database, TableName=name, Records=[record("c", 3, t - 2 * HOUR_MS)])

    write.update_table(
        DatabaseName=database,
        TableName=name,
        RetentionProperties={"MemoryStoreRetentionPeriodInHours": 1, "MagneticStoreRetentionPeriodInDays": 1},
        MagneticStoreWriteProperties={"EnableMagneticStoreWrites": True},
    )
    write.write_records(DatabaseName=database, TableName=name, Records=[record("c", 3, t - 2 * HOUR_MS)])
    rows = query_rows(query, f'SELECT location FROM "{database}"."{name}" ORDER BY location')
    assert [r["location"] for r in rows] == ["a", "b", "c"]
