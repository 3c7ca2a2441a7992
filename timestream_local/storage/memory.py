"""The memory tier: each table's recent rows in the DuckDB table `__tsl."mem_<id>"`, with the tiers'
own column names (catalog.py: `d<n>` for dimensions, `a<n>` for multi-measure attributes).

Rows arrive here from the flusher (buffered appends) and from the writer (overwrites and schema
changes, committed before the reply); the tier mover (mover.py) moves them on to the magnetic tier.
Every method runs inside the caller's transaction, under Database.db_lock, except the clustering
pair (``copy_clustered``, ``drop_unclustered``), which runs on the tier mover's own cursor.

Rows arrive in time order, so a row group (DuckDB's unit of 122,880 rows, with each column's
minimum and maximum) holds every series' readings of a few seconds: a filter on time skips row
groups, a filter on a station does not. The tier mover therefore rewrites each closed time block
sorted by series (``series_order``: the dimensions from fewest distinct values to most, the city
before its stations, then the measure name and the time): within a block, one city's rows and one
station's rows then sit in one or two row groups, and DuckDB's zone maps skip the others (with the
conditions a query implies, storage/hints.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import duckdb
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

    # -------------------------------------------------------------------------------- clustering
    def copy_clustered(
        self,
        cursor: duckdb.DuckDBPyConnection,
        table: TableInfo,
        low_ns: int,
        high_ns: int,
        min_rows: int = 1,
    ) -> int:
        """Append a copy of the rows with ``low_ns <= time < high_ns``, sorted by series, in the cursor's
        open transaction; returns the highest row id of the originals (``drop_unclustered`` removes
        them by it: the copy's rows are the transaction's own, numbered after every stored row), or
        -1 when the block holds fewer than ``min_rows`` rows (nothing was copied)."""
        where = f"time >= make_timestamp_ns({int(low_ns)}) AND time < make_timestamp_ns({int(high_ns)})"
        rows, last = cursor.execute(
            f"SELECT count(*), max(rowid) FROM {table.mem_table} WHERE {where}"
        ).fetchone()
        if not rows or rows < min_rows:
            return -1
        order = series_order(cursor, table, f"SELECT * FROM {table.mem_table} WHERE {where}")
        if order is None:
            return -1
        columns = ", ".join(quote(c) for c in table.physical_columns())
        cursor.execute(
            f"INSERT INTO {table.mem_table} ({columns}) SELECT {columns} FROM {table.mem_table} "
            f"WHERE {where} ORDER BY {order}"
        )
        return int(last)

    def drop_unclustered(
        self, cursor: duckdb.DuckDBPyConnection, table: TableInfo, low_ns: int, high_ns: int, last_rowid: int
    ) -> int:
        """Delete the originals of a block ``copy_clustered`` copied (row ids up to ``last_rowid``). Rows
        committed by others since the copy began (a late reading) are not visible to this transaction
        and stay. Returns how many rows were deleted."""
        where = f"time >= make_timestamp_ns({int(low_ns)}) AND time < make_timestamp_ns({int(high_ns)})"
        deleted = cursor.execute(
            f"DELETE FROM {table.mem_table} WHERE {where} AND rowid <= {int(last_rowid)}"
        ).fetchone()
        return int(deleted[0]) if deleted else 0


def series_order(cursor: duckdb.DuckDBPyConnection, table: TableInfo, source_sql: str) -> str | None:
    """ORDER BY terms that keep each series' rows together: the table's DIMENSION partition key
    first when it has one (the dimension its owner declared queries filter by, as Timestream
    clusters by it), then the dimensions by their distinct values in ``source_sql``, fewest first
    (a city before its stations), then the measure name and the time. One city's rows are then
    contiguous and so are one station's within them: the zone maps skip by any leading part of
    the order, and a query on a station alone gets the city it implies added (hints.py). Ordered
    the other way (most first), a row group would span few stations but every city, and a query
    on one city would read every row group of the block. None when ``source_sql`` has no rows."""
    names = table.column_names()
    dims = [quote(names[d]) for d in table.dimensions]
    counts = cursor.execute(
        f"SELECT count(*){''.join(f', approx_count_distinct({d})' for d in dims)} FROM ({source_sql})"
    ).fetchone()
    if not counts or not counts[0]:
        return None
    keys = [
        key.get("Name")
        for key in table.schema.get("CompositePartitionKey") or ()
        if key.get("Type") == "DIMENSION" and key.get("Name") in table.dimensions
    ]
    first = {table.dimensions.index(keys[0])} if keys else set()
    ranked = [dims[i] for i in sorted(range(len(dims)), key=lambda i: (i not in first, counts[1 + i], i))]
    return ", ".join([*ranked, "measure_name", "time"])
