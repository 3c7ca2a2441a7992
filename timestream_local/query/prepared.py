"""The statements one DuckDB connection has prepared, so that a query text seen again is not parsed again.

A dashboard sends the same query texts every few seconds, and only their now()/ago() instants
change between runs. Those instants become the prepared statement's parameters ($1, $2 ...), so
such a text is parsed once per connection and then executed with the instants of each run. DuckDB
still binds and optimises every execution with the parameter values as constants, so
``time >= ago(5m)`` keeps pruning row groups by their time range, and a table that changed since
the statement was prepared is read as it is now.

A text is prepared the second time it comes: preparing costs a planning pass of its own, which a
text sent once (one whose literals change on every run, as Grafana's ``$__timeFilter`` makes them)
would never earn back.

One instance belongs to one connection (a server keeps one per HTTP connection) and is used by
one thread at a time, as the connection itself is.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import duckdb

from timestream_local.lru import LruCache
from timestream_local.query.translate import bind_now, now_parameters, now_values

STATEMENTS_PER_CONNECTION = 32  # a dashboard's panel queries, several times over


@dataclass(frozen=True)
class _Statement:
    name: str
    offsets: tuple[int, ...]  # parameter k+1 is "now" minus offsets[k] nanoseconds


class PreparedStatements:
    """The prepared statements of ``cursor``, by the text they were prepared from (at most
    ``capacity``; as many texts seen once are remembered)."""

    def __init__(self, cursor: Any, capacity: int = STATEMENTS_PER_CONNECTION) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.cursor = cursor
        self._statements: LruCache[str, _Statement] = LruCache(capacity)
        self._seen: LruCache[str, bool] = LruCache(capacity)  # texts that came once, not yet prepared
        self._names = (f"__tsl_statement_{n}" for n in itertools.count(1))

    def __len__(self) -> int:
        return len(self._statements)

    def execute(self, sql: str, now_ns: int) -> Any:
        """Run ``sql`` (a translation with its tables bound and its '__TSL_NOW__<ns>' placeholders
        left in) with "now" at ``now_ns``; returns the cursor, ready to fetch from."""
        statement = self._statements.get(sql)
        if statement is None:
            if self._seen.drop(sql) is None:  # the first time: sent as text, and remembered
                self._seen.put(sql, True)
                return self.cursor.execute(bind_now(sql, now_ns))
            statement = self._prepare(sql)
        values = now_values(statement.offsets, now_ns)
        call = f"EXECUTE {statement.name}({', '.join(values)})" if values else f"EXECUTE {statement.name}"
        try:
            return self.cursor.execute(call)
        except (duckdb.BinderException, duckdb.CatalogException):
            self._forget(sql)  # the tables changed under it: prepared afresh when it comes again
            raise

    def _prepare(self, sql: str) -> _Statement:
        text, offsets = now_parameters(sql)
        statement = _Statement(next(self._names), offsets)
        self.cursor.execute(f"PREPARE {statement.name} AS {text}")
        for _, evicted in self._statements.put(sql, statement):
            self._deallocate(evicted)
        return statement

    def _forget(self, sql: str) -> None:
        statement = self._statements.drop(sql)
        if statement is not None:
            self._deallocate(statement)

    def _deallocate(self, statement: _Statement) -> None:
        self.cursor.execute(f"DEALLOCATE {statement.name}")
