"""Each table's relations as queries and look-ups read them: `__tsl."view_<id>"` over both tiers and
`__tsl."recent_<id>"` over the memory tier alone, with the user's column names (catalog.py), and the
SQL that reads both tiers with the tiers' own names (for the writer's look-ups of stored rows).

The views name the magnetic tier's files, so they are made again whenever a table's files or
columns change; ``generation`` counts those changes, which tells a query that picked the memory
tier alone that rows moved meanwhile (query/engine.py runs it again over both tiers).
"""

from __future__ import annotations

from collections.abc import Iterable

from timestream_local.catalog import TableInfo, quote
from timestream_local.storage.database import Database
from timestream_local.storage.magnetic import MagneticTier
from timestream_local.storage.memory import MemoryTier


class Views:
    """Makes and drops the tables' views and says which relation holds the rows a query needs."""

    def __init__(self, database: Database, memory: MemoryTier, magnetic: MagneticTier) -> None:
        self._db = database
        self._memory = memory
        self._magnetic = magnetic
        self.generation = 0  # bumped whenever a table's views change (rows moved between tiers)

    def ensure(self, table: TableInfo) -> None:
        """(Re)create the memory-tier table, the view unioning both tiers and the memory-only view."""
        self._memory.ensure_table(table)
        self._db.sql(f"CREATE OR REPLACE VIEW {table.view} AS {self.union_sql(table, visible=True)}")
        recent = self._select_list(table, table.physical_columns(), visible=True)
        self._db.sql(f"CREATE OR REPLACE VIEW {table.recent_view} AS SELECT {recent} FROM {table.mem_table}")
        self.generation += 1

    def drop(self, table: TableInfo) -> None:
        """Drop the table's views and its memory-tier table (inside the caller's transaction)."""
        self._db.sql(f"DROP VIEW IF EXISTS {table.view}")
        self._db.sql(f"DROP VIEW IF EXISTS {table.recent_view}")
        self._memory.drop(table)

    def relation(self, table: TableInfo, oldest_ns: int | None) -> str:
        """The view a query reads when it needs no row older than ``oldest_ns`` (None: every row): the
        memory tier alone when every magnetic file ends before that, so that queries over recent
        data do not open the history's Parquet files; else both tiers."""
        if oldest_ns is None:
            return table.view
        newest_file = self._magnetic.newest_time(table.id)
        return table.recent_view if newest_file is None or newest_file < oldest_ns else table.view

    @staticmethod
    def _select_list(table: TableInfo, present: Iterable[str], visible: bool) -> str:
        """The tiers' columns as a select list: NULL for those missing from ``present`` (an older
        file), and with the user's names when ``visible`` (then without the version column)."""
        kinds = table.physical_columns()
        names = table.column_names()
        pairs = [(names[c], c) for c in table.visible_columns()] if visible else [(c, c) for c in kinds]
        present = set(present)
        parts = []
        for physical, shown in pairs:
            value = quote(physical) if physical in present else f"CAST(NULL AS {kinds[physical]})"
            parts.append(value if value == quote(shown) else f"{value} AS {quote(shown)}")
        return ", ".join(parts)

    def union_sql(self, table: TableInfo, visible: bool) -> str:
        """The memory tier and the magnetic tier's Parquet files as one relation: the user's columns
        (``visible``) or the tiers' own (with the version, for look-ups)."""
        sql = f"SELECT {self._select_list(table, table.physical_columns(), visible)} FROM {table.mem_table}"
        files = self._magnetic.files(table.id)
        if files:
            present = set().union(*(set(f.columns) for f in files))
            sql += (
                f" UNION ALL SELECT {self._select_list(table, present, visible)} "
                f"FROM {self._magnetic.sources(files)}"
            )
        return sql

    def physical_sql(self, table: TableInfo) -> str:
        """Both tiers with the version column (for look-ups), as one relation of the tiers' columns."""
        return self.union_sql(table, visible=False)
