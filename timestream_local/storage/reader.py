"""What the query side reads through: the narrow interface between the store and the query engine.

The Query API (api/query.py) asks for ``sync`` (every acknowledged write committed) and a ``cursor``;
the engine (query/engine.py) resolves a query's tables through the ``Tiers`` protocol it defines,
which ``Reader`` implements: ``query_relations``, ``tier_generation``, ``database_names`` and
``table_names``. Nothing else of the store is visible to queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import duckdb

from timestream_local.storage.database import Database
from timestream_local.storage.descriptions import Descriptions
from timestream_local.storage.flusher import Flusher
from timestream_local.storage.hints import SeriesHints
from timestream_local.storage.views import Views


class TableRef(Protocol):
    """A table as a query names it (query/translate.py's TableRef), with the time bounds the query
    puts on its rows: ``time >= now - since_ns`` and ``time >= after_ns``, where known, and the
    string values it allows columns (``equals``)."""

    database: str
    table: str
    line: int | None
    col: int | None
    since_ns: int | None
    after_ns: int | None
    equals: tuple[tuple[str, tuple[str, ...]], ...]


class Reader:
    """The store as queries see it."""

    def __init__(
        self,
        database: Database,
        descriptions: Descriptions,
        views: Views,
        flusher: Flusher,
        hints: SeriesHints | None = None,
    ) -> None:
        self._db = database
        self._hints = hints
        self._descriptions = descriptions
        self._views = views
        self._flusher = flusher

    def sync(self) -> None:
        """Make every acknowledged write visible to queries (called before each query)."""
        self._flusher.sync()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new DuckDB cursor on the store for one reader (per client connection)."""
        return self._db.cursor()

    def query_relations(self, tables: Sequence[TableRef], now_ns: int) -> tuple[list[str], list[str], int]:
        """What each table a query reads should be read from, the view over both tiers of each, and
        the tier generation of that choice; ResourceNotFoundException names a missing one.

        A table whose rows the query bounds to ``time >= now - since_ns`` (or a fixed ``after_ns``) is
        read from the memory tier alone when every magnetic file ends before that bound (views.py),
        so queries over recent data do not open the history's Parquet files. Taken under the store
        lock, which tier moves hold from start to commit; the engine re-runs a query over both
        tiers when the generation changed while it ran.

        A query's equality conditions on dimensions add the conditions they imply on the table's
        other dimensions (hints.py), so that a query on one station skips the row groups of other
        cities as well.
        """
        relations, full = [], []
        with self._db.lock:
            for ref in tables:
                where = f" at line {ref.line}:{ref.col}" if ref.line else ""
                table = self._descriptions.find_table(ref.database, ref.table, where)
                bounds = [b for b in (None if ref.since_ns is None else now_ns - ref.since_ns, ref.after_ns)
                          if b is not None]  # fmt: skip
                relation = self._views.relation(table, max(bounds) if bounds else None)
                if self._hints is not None and ref.equals:
                    full.append(self._hints.narrow(table, table.view, ref.equals))
                    relations.append(self._hints.narrow(table, relation, ref.equals))
                else:
                    full.append(table.view)
                    relations.append(relation)
            return relations, full, self._views.generation

    def tier_generation(self) -> int:
        """A number that changes whenever rows move between tiers."""
        return self._views.generation

    def database_names(self) -> list[str]:
        """Every database, sorted (SHOW DATABASES)."""
        with self._db.lock:
            return self._descriptions.database_names()

    def table_names(self, database: str) -> list[str]:
        """The tables of a database, sorted (SHOW TABLES FROM <database>)."""
        with self._db.lock:
            return self._descriptions.table_names(database)

    def table_columns(self, database: str, table: str) -> list[tuple[str, str, str]]:
        """A table's columns as DESCRIBE shows them: (column, type, Timestream attribute type)."""
        with self._db.lock:
            return self._descriptions.find_table(database, table).described_columns()

    def table_measures(self, database: str, table: str) -> list[tuple[str, str, list[str]]]:
        """A table's measures as SHOW MEASURES shows them: (measure name, data type, dimensions)."""
        with self._db.lock:
            return self._descriptions.find_table(database, table).measures()
