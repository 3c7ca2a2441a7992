"""UNLOAD's Parquet files. They are written by a DuckDB connection of their own, made here for one
file at a time: an in-memory database that holds nothing of the store, whose one table has columns
named c0, c1, ... with types from this module's fixed list, filled with the result's values as
parameters; the file's column names are given as aliases through DuckDB's relational API (objects,
never SQL text). Client queries run on the store's own cursors and cannot reach this connection,
so DuckDB's file writing stays out of their reach (query/guard.py, storage/lockdown.py).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import duckdb

# Timestream's scalar types -> the Parquet column's DuckDB type (others: their text, as VARCHAR)
_TYPES = {
    "BIGINT": "BIGINT",
    "INTEGER": "INTEGER",
    "DOUBLE": "DOUBLE",
    "BOOLEAN": "BOOLEAN",
    "VARCHAR": "VARCHAR",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP_NS",
}
READ_CHUNK = 8 * 1024**2


def column_type(column: dict[str, Any]) -> str:
    return _TYPES.get(str(column.get("Type", {}).get("ScalarType")), "VARCHAR")


@contextlib.contextmanager
def parquet_file(columns: list[dict[str, Any]], rows: list[list[Any]], compression: str) -> Iterator[str]:
    """A temporary Parquet file of ``rows`` (text values, None for NULL) with the columns' names and
    types; removed on leaving the block."""
    types = [column_type(column) for column in columns]
    handle, path = tempfile.mkstemp(prefix="tsl-unload-", suffix=".parquet")
    os.close(handle)
    connection = duckdb.connect(":memory:")
    try:
        table = ", ".join(f"c{i} {kind}" for i, kind in enumerate(types))
        connection.execute(f"CREATE TABLE unload_rows ({table})")
        marks = ", ".join("?" for _ in types)
        for start in range(0, len(rows), 2048):
            connection.executemany(f"INSERT INTO unload_rows VALUES ({marks})", rows[start : start + 2048])
        relation = connection.table("unload_rows").select(
            *(duckdb.ColumnExpression(f"c{i}").alias(str(column["Name"])) for i, column in enumerate(columns))
        )
        relation.write_parquet(path, compression="gzip" if compression == "GZIP" else "uncompressed")
        connection.close()
        yield path
    finally:
        connection.close()
        with contextlib.suppress(OSError):
            os.unlink(path)


def chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as file:
        while chunk := file.read(READ_CHUNK):
            yield chunk
