"""The memory tier: each table's recent rows in the DuckDB table `__tsl."mem_<id>"`, with the tiers'
own column names (catalog.py: `d<n>` for dimensions, `a<n>` for multi-measure attributes).

Rows arrive here from the flusher (buffered appends) and from the writer (overwrites and schema
changes, committed before the reply); the tier mover (mover.py) moves them on to the magnetic tier.
Every method runs inside the caller's transaction, under Database.db_lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from timestream_local.catalog import VERSION_KEY, TableInfo, quote
from timestream_local.storage.columns import Columns
from timestream_local.storage.database import Database


def same_value(values: list[Any]) -> bool:
    """True when every value is the same string or integer (floats are left alone: 0.0 == -0.0)."""
    first = values[0]
    if type(first) not in (str, int) or values[-1] != first:  # a varying column often shows at its end
        return False
    return values.count(first) == len(values) and len(set(map(type, values))) == 1


class MemoryTier:
    """Creates, fills and empties the memory-tier tables."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def ensure_table(self, table: TableInfo) -> None:
        """Create the table's memory-tier table, or add the columns it lacks (a schema change)."""
        physical = table.physical_columns()
        defs = ", ".join(f"{quote(name)} {kind}" for name, kind in physical.items())
        self._db.sql(f"CREATE TABLE IF NOT EXISTS {table.mem_table} ({defs})")
        existing = {row[0] for row in self._db.sql(f"DESCRIBE {table.mem_table}")}
        for name, kind in physical.items():
            if name not in existing:
                self._db.sql(f"ALTER TABLE {table.mem_table} ADD COLUMN {quote(name)} {kind}")

    def drop(self, table: TableInfo) -> None:
        self._db.sql(f"DROP TABLE IF EXISTS {table.mem_table}")

    def delete(self, table: TableInfo, rowids: Iterable[int]) -> None:
        """Delete rows by DuckDB rowid (stored rows a newer version overwrote)."""
        ids = ", ".join(str(int(r)) for r in rowids)
        self._db.sql(f"DELETE FROM {table.mem_table} WHERE rowid IN ({ids})")

    def insert(self, table: TableInfo, rows: Columns) -> None:
        """Insert rows into the memory tier inside the current transaction.

        The rows go to DuckDB as one JSON document of columns (one array per column), which DuckDB
        parses and unnests in C++: a few microseconds per row, far less than per-row Python values.
        A column holding one string or integer in every row (the measure name, the version, often a
        dimension) goes as that one value, which halves the flusher's work for streaming data.
        """
        if not rows.count:
            return
        kinds = {**table.view_columns(), VERSION_KEY: "BIGINT"}
        physical = table.column_names()
        names = list(rows.data)
        document = []
        selects = []
        for number, name in enumerate(names, start=1):
            values = rows.data[name]
            kind = kinds[name]
            element = "BIGINT" if kind == "TIMESTAMP_NS" else kind
            if name != "time" and same_value(values):  # time is unnested: it makes the rows
                document.append(values[:1])
                select = f"CAST(j[{number}] AS {element}[])[1]"
            else:
                document.append(values)
                select = f"unnest(CAST(j[{number}] AS {element}[]))"
            selects.append(f"make_timestamp_ns({select})" if kind == "TIMESTAMP_NS" else select)
        payload = msgspec.json.encode(document).decode()  # ~10x json.dumps (values are finite, valid UTF-8)
        self._db.sql(
            f"INSERT INTO {table.mem_table} ({', '.join(quote(physical[n]) for n in names)}) "
            f"SELECT {', '.join(selects)} FROM (SELECT json_transform(?, '[\"JSON\"]') AS j)",
            [payload],
        )
