"""Against the project's local Timestream store over HTTP: written records can be queried back,
rejected records are reported with Timestream's reason, a missing table is a clear error."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import pytest

from tests.simulator.cli_helpers import sent_count, simulate, stdout_records

pytestmark = pytest.mark.slow


@pytest.fixture
def table(timestream_write):
    database, table = f"sim_{uuid.uuid4().hex[:8]}", "pm25"
    timestream_write.create_database(DatabaseName=database)
    timestream_write.create_table(
        DatabaseName=database,
        TableName=table,
        RetentionProperties={
            "MemoryStoreRetentionPeriodInHours": 24,
            "MagneticStoreRetentionPeriodInDays": 7,
        },
    )
    return database, table


def query_all(client, sql: str) -> list[dict[str, str]]:
    rows, token = [], None
    while True:
        response = client.query(QueryString=sql, **({"NextToken": token} if token else {}))
        names = [column["Name"] for column in response["ColumnInfo"]]
        rows.extend(
            {n: d.get("ScalarValue") for n, d in zip(names, row["Data"], strict=True)}
            for row in response["Rows"]
        )
        token = response.get("NextToken")
        if not token:
            return rows


def epoch_ms(timestamp: str) -> int:
    """Timestream's ``2026-11-28 10:00:00.000000000`` (UTC) -> epoch ms."""
    seconds, _, fraction = timestamp.partition(".")
    moment = datetime.strptime(seconds, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1000 + int((fraction or "0")[:3].ljust(3, "0"))


def stored(query_client, database: str, table: str) -> set[tuple]:
    rows = query_all(
        query_client,
        f'SELECT city, location, measure_name, measure_value::bigint AS value, time FROM "{database}"."{table}"',
    )
    return {(r["city"], r["location"], r["measure_name"], r["value"], str(epoch_ms(r["time"]))) for r in rows}


def expected(records: list[dict]) -> set[tuple]:
    return {(r["city"], r["location"], r["MeasureName"], r["MeasureValue"], r["Time"]) for r in records}


def test_written_records_are_queryable(timestream_local, timestream_query, table):
    database, name = table
    args = ("--start", str(int(time.time() * 1000) - 1_800_000), "--count", "4000", "--seed", "4")
    args += ("--cities", "Beijing", "Lasa")
    result = simulate(
        "--sink",
        "timestream",
        "--endpoint-url",
        timestream_local.url,
        "--database",
        database,
        "--table",
        name,
        *args,
    )
    assert result.returncode == 0, result.stderr
    assert sent_count(result.stderr) == 4000
    assert stored(timestream_query, database, name) == expected(stdout_records(*args))


def test_conflicting_records_are_rejected_with_the_reason(
    timestream_local, timestream_query, table, tmp_path
):
    database, name = table
    start = str(int(time.time() * 1000) - 600_000)
    base = ("--start", start, "--count", "300", "--cities", "Shanghai")
    target = (
        "--sink",
        "timestream",
        "--endpoint-url",
        timestream_local.url,
        "--database",
        database,
        "--table",
        name,
    )
    first = simulate(*target, *base, "--seed", "1")
    assert first.returncode == 0, first.stderr
    # Same stations and times, another seed: every reading whose value differs is a conflict.
    rejected_file = tmp_path / "rejected.jsonl"
    second = simulate(*target, *base, "--seed", "2", "--rejected-file", str(rejected_file))
    assert second.returncode == 0, second.stderr
    seed1, seed2 = stdout_records(*base, "--seed", "1"), stdout_records(*base, "--seed", "2")
    key = lambda r: (r["location"], r["Time"])  # noqa: E731
    values1 = {key(r): r["MeasureValue"] for r in seed1}
    conflicts = [r for r in seed2 if key(r) in values1 and values1[key(r)] != r["MeasureValue"]]
    assert len(conflicts) > 100
    lines = [json.loads(line) for line in rejected_file.read_text().splitlines()]
    assert sorted(key(line["record"]) for line in lines) == sorted(key(r) for r in conflicts)
    assert all(line["reason"] for line in lines)
    assert f"{len(conflicts):,} rejected" in second.stderr
    assert "Timestream rejected" in second.stderr
    assert second.stderr.count("Timestream rejected") <= 2  # a summary now and then, not a line per batch
    # The first run's values are what the table holds.
    assert {(loc, t, v) for (_, loc, _, v, t) in stored(timestream_query, database, name)} >= {
        (r["location"], r["Time"], r["MeasureValue"]) for r in seed1
    }


def test_missing_table_is_a_clear_configuration_error(timestream_local):
    result = simulate(
        "--sink",
        "timestream",
        "--endpoint-url",
        timestream_local.url,
        "--database",
        "nowhere",
        "--count",
        "1",
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"simulator: error: Timestream table nowhere.pm25 does not exist at {timestream_local.url}; "
        "create it or pass --database/--table"
    )
