"""SHOW DATABASES, SHOW TABLES, SHOW MEASURES and DESCRIBE, and where a query's tables come from.

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
# database.table: each part quoted, or a plain name without dots
_PART = r'(?:"(?:[^"]|"")+"|[A-Za-z0-9_\-]+)'
_QUALIFIED = rf"({_PART})\s*\.\s*({_PART})"
SHOW_MEASURES = re.compile(rf"^\s*SHOW\s+MEASURES\s+(?:FROM|IN)\s+{_QUALIFIED}{_LIKE}{_END}", re.IGNORECASE)
DESCRIBE = re.compile(rf"^\s*DESCRIBE\s+{_QUALIFIED}{_END}", re.IGNORECASE)
_SHOW = re.compile(r"^\s*(SHOW|DESCRIBE)\b", re.IGNORECASE)
# DuckDB's own schemas, never Timestream databases in a plain DuckDB database
_BUILTIN_SCHEMAS = ("main", "temp", "information_schema", "pg_catalog", "system", "__tsl")


class Names(Protocol):
    def database_names(self) -> list[str]: ...

    def table_names(self, database: str) -> list[str]: ...

    def table_columns(self, database: str, table: str) -> list[tuple[str, str, str]]: ...

    def table_measures(self, database: str, table: str) -> list[tuple[str, str, list[str]]]: ...


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


Answer = tuple[list[dict[str, Any]], list[dict[str, Any]]]
_VARCHAR = {"ScalarType": "VARCHAR"}
# SHOW MEASURES' dimensions column: an array of rows (dimension_name, data_type)
_DIMENSIONS = {"ArrayColumnInfo": {"Type": {"RowColumnInfo": [
    {"Name": "dimension_name", "Type": _VARCHAR}, {"Name": "data_type", "Type": _VARCHAR}]}}}  # fmt: skip


def _column(name: str, rows: list[str]) -> Answer:
    info = [{"Name": name, "Type": _VARCHAR}]
    return info, [{"Data": [{"ScalarValue": value}]} for value in rows]


def _pattern(text: str | None) -> str | None:
    return None if text is None else text.replace("''", "'")


def _matches(pattern: str | None, name: str) -> bool:
    return pattern is None or like(pattern, name)


def _describe(source: Names, database: str, table: str) -> Answer:
    names = ("Column", "Type", "Timestream attribute type")
    info = [{"Name": name, "Type": _VARCHAR} for name in names]
    rows = [
        {"Data": [{"ScalarValue": value} for value in row]} for row in source.table_columns(database, table)
    ]
    return info, rows


def _show_measures(source: Names, database: str, table: str, pattern: str | None) -> Answer:
    info = [{"Name": "measure_name", "Type": _VARCHAR}, {"Name": "data_type", "Type": _VARCHAR},
            {"Name": "dimensions", "Type": _DIMENSIONS}]  # fmt: skip
    rows = []
    for name, kind, dimensions in source.table_measures(database, table):
        if _matches(pattern, name):
            cells = [
                {"RowValue": {"Data": [{"ScalarValue": d}, {"ScalarValue": "varchar"}]}} for d in dimensions
            ]
            rows.append({"Data": [{"ScalarValue": name}, {"ScalarValue": kind}, {"ArrayValue": cells}]})
    return info, rows


def answer(source: Names, sql: str) -> Answer | None:
    """ColumnInfo and rows for a SHOW or DESCRIBE statement, or None when `sql` is not one."""
    if not _SHOW.match(sql):
        return None
    if match := SHOW_DATABASES.match(sql):
        pattern = _pattern(match.group(1))
        return _column("Database", [n for n in source.database_names() if _matches(pattern, n)])
    if match := SHOW_TABLES.match(sql):
        databases = source.database_names() if match.group(1) is None else [_unquote(match.group(1))]
        pattern = _pattern(match.group(2))
        tables = [t for database in databases for t in source.table_names(database)]
        return _column("Table", [t for t in tables if _matches(pattern, t)])
    if match := SHOW_MEASURES.match(sql):
        database, table = _unquote(match.group(1)), _unquote(match.group(2))
        return _show_measures(source, database, table, _pattern(match.group(3)))
    if match := DESCRIBE.match(sql):
        return _describe(source, _unquote(match.group(1)), _unquote(match.group(2)))
    raise ValidationException(
        "this SHOW/DESCRIBE statement is not supported: use SHOW DATABASES [LIKE 'p'], SHOW TABLES [FROM db] "
        "[LIKE 'p'], SHOW MEASURES FROM db.table [LIKE 'p'] or DESCRIBE db.table"
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

    def _relation(self, database: str, table: str) -> str:
        ref = type("Ref", (), {"database": database, "table": table, "line": None, "col": None})
        return self.query_relations([ref], 0)[0][0]

    def table_columns(self, database: str, table: str) -> list[tuple[str, str, str]]:
        """From the relation's DuckDB columns: measure_name, time and measure_value::<type> by name,
        other VARCHAR columns as dimensions, the rest as multi-measure attributes."""
        rows = []
        for name, kind, *_ in self.cursor.execute(f"DESCRIBE {self._relation(database, table)}").fetchall():
            shown = "timestamp" if kind.startswith("TIMESTAMP") else kind.lower()
            if name in ("measure_name", "time"):
                rows.append((name, shown, "MEASURE_NAME" if name == "measure_name" else "TIMESTAMP"))
            elif name.startswith("measure_value::"):
                rows.append((name, shown, "MEASURE_VALUE"))
            else:
                rows.append((name, shown, "DIMENSION" if kind == "VARCHAR" else "MULTI"))
        return rows

    def table_measures(self, database: str, table: str) -> list[tuple[str, str, list[str]]]:
        columns = self.table_columns(database, table)
        dimensions = [name for name, _, attribute in columns if attribute == "DIMENSION"]
        values = [name for name, _, attribute in columns if attribute == "MEASURE_VALUE"]
        kinds = " ".join(f"WHEN count({quote(v)}) > 0 THEN ?" for v in values)  # each type is a parameter
        sql = f"SELECT measure_name, CASE {kinds} ELSE 'multi' END FROM {self._relation(database, table)} GROUP BY 1 ORDER BY 1"
        types = [v.split("::", 1)[1] for v in values]
        return [(name, kind, dimensions) for name, kind in self.cursor.execute(sql, types).fetchall()]
