"""Shared helpers for the forwarder tests: streams, records, the forwarder as a subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from tests.services import LOCAL_CREDENTIALS, ROOT


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_stream(kinesis, name: str, shards: int) -> None:
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})


def reading(location: str, time_ms: int, value: int, city: str = "Shenzhen") -> dict:
    return {
        "city": city,
        "location": location,
        "MeasureName": "pm2.5",
        "MeasureValue": str(value),
        "MeasureValueType": "BIGINT",
        "Time": str(time_ms),
    }


def put(kinesis, stream: str, records: Iterable[tuple[bytes | str | dict, str]]) -> list[dict]:
    """PutRecords in batches of 500 (data, partition key); returns the per-record answers in order."""
    entries = []
    for data, key in records:
        payload = json.dumps(data, separators=(",", ":")) if isinstance(data, dict) else data
        entries.append(
            {"Data": payload.encode() if isinstance(payload, str) else payload, "PartitionKey": key}
        )
    answers: list[dict] = []
    for start in range(0, len(entries), 500):
        batch = entries[start : start + 500]
        for _attempt in range(50):
            answer = kinesis.put_records(StreamName=stream, Records=batch)
            if answer["FailedRecordCount"] == 0:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("kinesalite kept refusing records")
        answers += answer["Records"]
    return answers


def forwarder_command(stream: str, table: str, kinesalite, timestream, state: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "forwarder",
        "--stream", stream, "--database", "iot", "--table", table, "--region", "us-east-1",
        "--kinesis-endpoint-url", kinesalite.url, "--timestream-endpoint-url", timestream.url,
        "--checkpoint-dir", str(state / "checkpoints"), "--dead-letter", str(state / "dead-letter.jsonl"),
        "--flush-interval", "0.2", "--summary-interval", "1",
        *extra,
    ]  # fmt: skip


def start_forwarder(argv: list[str], log_path: Path) -> subprocess.Popen:
    env = {**os.environ, **LOCAL_CREDENTIALS, "PYTHONUNBUFFERED": "1"}
    with log_path.open("ab") as log:
        return subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        raise


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def dead_letters(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def create_table(timestream_write, name: str) -> None:
    with contextlib.suppress(timestream_write.exceptions.ConflictException):
        timestream_write.create_database(DatabaseName="iot")
    timestream_write.create_table(
        DatabaseName="iot",
        TableName=name,
        RetentionProperties={
            "MemoryStoreRetentionPeriodInHours": 48,
            "MagneticStoreRetentionPeriodInDays": 7,
        },
    )


def query(timestream_query, sql: str) -> list[list[str | None]]:
    """All rows of a query, each a list of scalar values (strings) or None."""
    rows: list[list[str | None]] = []
    request = {"QueryString": sql}
    while True:
        answer = timestream_query.query(**request)
        rows += [[datum.get("ScalarValue") for datum in row["Data"]] for row in answer["Rows"]]
        token = answer.get("NextToken")
        if not token:
            return rows
        request = {"QueryString": sql, "NextToken": token}


def scalar(timestream_query, sql: str) -> str | None:
    (row,) = query(timestream_query, sql)
    return row[0]


def checkpoints(state: Path) -> dict[str, tuple[str, str]]:
    """shard -> (kind, position) as stored by the forwarder."""
    import sqlite3

    db = sqlite3.connect(state / "checkpoints" / "forwarder-checkpoints.sqlite3")
    try:
        return {
            shard: (kind, pos)
            for shard, kind, pos in db.execute("SELECT shard_id, kind, position FROM checkpoints")
        }
    finally:
        db.close()
