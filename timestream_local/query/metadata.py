"""SHOW DATABASES and SHOW TABLES FROM <database>, and where a query's tables come from.

A query's tables are resolved by its ``Tiers`` (engine.py): the store, which answers from its own
catalogue, or ``SchemaSource`` below for a plain DuckDB database laid out as one schema per
Timestream database (what the engine's own tests build). SHOW statements are answered from the
same source. LIKE patterns are matched by ``like`` in linear time, whatever the pattern.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from timestream_local.catalog import quote
from timestream_local.exceptions import ResourceNotFoundException, ValidationException

_NAME = r'(?:"(?:[^"]|"")+"|[A-Za-z0-9_.\-]+)'
_LIKE = r"(?:\s+LIKE\s+'((?:[^']|'')*)')?"
# Each part can match in one way only (no two neighbouring parts both take spaces), so a match
# fails or succeeds in linear time whatever the text.
_END = r"\s*(?:;\s*)?$"
SHOW_DATABASES = re.compile(rf"^\s*SHOW\s+DATABASES{_LIKE}{_END}", re.IGNORECASE)
SHOW_TABLES = re.compile(rf"^\s*SHOW\s+TABLES(?:\s+(?:FROM|IN)\s+({_NAME}))?{_LIKE}{_END}", re.IGNORECASE)
_SHOW = re.compile(r"^\s*(SHOW|DESCRIBE)\b", re.IGNORECASE)
# DuckDB's own schemas, never Timestream databases in a plain DuckDB database
_BUILTIN_SCHEMAS = ("main", "temp", "information_schema", "pg_catalog", "system", "__tsl")


class Names(Protocol):
    def database_names(self) -> list[str]: ...

    def table_names(self, database: str) -> list[str]: ...


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def like(pattern: str, text: str) -> bool:
    """SQL LIKE (``%`` any run, ``_`` one character, no escape) in O(len(pattern) * len(text)) at
    worst, never exponential: the pattern is split at ``%`` and each piece is placed as early as it
    fits, which is all LIKE needs (a later placement never helps the pieces after it)."""
    pieces = pattern.split("%")

    def fits(piece: str, at: int) -> bool:
        if at + len(piece) > len(text):
            return False
        return all(p in ("_", t) for p, t in zip(piece, text[at : at + len(piece)], strict=True))

    if len(pieces) == 1:
        return len(text) == len(pattern) and fits(pattern, 0)
    first, *middle, last = pieces
    if len(first) + len(last) > len(text) or not fits(first, 0):
        return False
    if not fits(last, len(text) - len(last)):
        return False
    at, end = len(first), len(text) - len(last)
    for piece in middle:
        found = next((i for i in range(at, end - len(piece) + 1) if fits(piece, i)), None)
        if found is None:
            return False
        at = found + len(piece)
    return True


def _column(name: str, rows: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    info = [{"Name": name, "Type": {"ScalarType": "VARCHAR"}}]
    return info, [{"Data": [{"ScalarValue": value}]} for value in rows]


def answer(source: Names, sql: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
    """ColumnInfo and rows for a SHOW statement, or None when `sql` is not one."""
    if not _SHOW.match(sql):
        return None
    match = SHOW_DATABASES.match(sql)
    if match:
        pattern = match.group(1)
        pattern = None if pattern is None else pattern.replace("''", "'")
        return _column(
            "Database", [n for n in source.database_names() if pattern is None or like(pattern, n)]
        )
    match = SHOW_TABLES.match(sql)
    if match:
        if match.group(1) is None:
            raise ValidationException("SHOW TABLES needs the database: SHOW TABLES FROM <database>")
        tables = source.table_names(_unquote(match.group(1)))
        pattern = match.group(2)
        pattern = None if pattern is None else pattern.replace("''", "'")
        return _column("Table", [t for t in tables if pattern is None or like(pattern, t)])
    raise ValidationException(
        "only SHOW DATABASES and SHOW TABLES FROM <database> are supported among SHOW/DESCRIBE statements"
    )


class SchemaSource:
    """A plain DuckDB database in which each Timestream database is a schema holding its tables (the
    engine's tests build such databases; the store keeps its own catalogue instead)."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def _schemas(self) -> list[str]:
        rows = self.cursor.execute(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() "
            "AND NOT list_contains(?, lower(schema_name)) ORDER BY 1",
            [list(_BUILTIN_SCHEMAS)],
        ).fetchall()
        return [row[0] for row in rows]

    def database_names(self) -> list[str]:
        return self._schemas()

    def table_names(self, database: str) -> list[str]:
        found = next((s for s in self._schemas() if s.lower() == database.lower()), None)
        if found is None:
            raise ResourceNotFoundException(f"The database {database} does not exist.")
        rows = self.cursor.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? "
            "UNION SELECT view_name FROM duckdb_views() WHERE NOT internal AND database_name = current_database() "
            "AND schema_name = ? ORDER BY 1",
            [found, found],
        ).fetchall()
        return [row[0] for row in rows]

    def query_relations(self, tables: Sequence[Any], now_ns: int) -> tuple[list[str], list[str], int]:
        relations = []
        for ref in tables:
            where = f" at line {ref.line}:{ref.col}" if ref.line else ""
            found = next((s for s in self._schemas() if s.lower() == ref.database.lower()), None)
            if found is None:
                raise ResourceNotFoundException(f"The database {ref.database} does not exist{where}.")
            table = next((t for t in self.table_names(found) if t.lower() == ref.table.lower()), None)
            if table is None:
                raise ResourceNotFoundException(
                    f"The table {ref.table} does not exist in database {ref.database}{where}."
                )
            relations.append(f"{quote(found)}.{quote(table)}")
        return relations, list(relations), 0

    def tier_generation(self) -> int:
        return 0
