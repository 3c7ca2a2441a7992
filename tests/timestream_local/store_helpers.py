"""Helpers for the timestream_local tests: unique names, record builders, reading rows back via Query."""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def record(
    location: str, value: Any, time_ms: int, measure: str = "pm2.5", kind: str = "BIGINT", **extra: Any
):
    body = {
        "Dimensions": [{"Name": "city", "Value": "Beijing"}, {"Name": "location", "Value": location}],
        "MeasureName": measure,
        "MeasureValue": str(value),
        "MeasureValueType": kind,
        "Time": str(time_ms),
    }
    body.update(extra)
    return body


def query_rows(client, sql: str) -> list[dict[str, Any]]:
    """All rows of a query (following NextToken), as dicts of column name -> ScalarValue (None for NULL)."""
    rows: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"QueryString": sql}
    for _ in range(1000):
        page = client.query(**kwargs)
        names = [c["Name"] for c in page["ColumnInfo"]]
        for row in page["Rows"]:
            rows.append(
                {
                    name: (None if d.get("NullValue") else d.get("ScalarValue"))
                    for name, d in zip(names, row["Data"], strict=True)
                }
            )
        if "NextToken" not in page:
            return rows
        kwargs["NextToken"] = page["NextToken"]
    raise AssertionError("query paging did not end")


def create_table(write_client, database: str | None = None, table: str | None = None, **options: Any):
    database = database or unique("db")
    table = table or unique("tbl")
    with contextlib.suppress(write_client.exceptions.ConflictException):
        write_client.create_database(DatabaseName=database)
    write_client.create_table(DatabaseName=database, TableName=table, **options)
    return database, table
