"""SHOW DATABASES and SHOW TABLES FROM <database>, answered from DuckDB's catalogue.

Every Timestream database is a DuckDB schema and every table a relation in it (the storage
contract); the store's own schemas and DuckDB's built-in ones are left out.
"""

from __future__ import annotations

import re
from typing import Any

from timestream_local.exceptions import ResourceNotFoundException, ValidationException
from timestream_local.models import RESERVED_DATABASE_NAMES

_NAME = r'(?:"(?:[^"]|"")+"|[A-Za-z0-9_.\-]+)'
_LIKE = r"(?:\s+LIKE\s+'((?:[^']|'')*)')?"
SHOW_DATABASES = re.compile(rf"^\s*SHOW\s+DATABASES{_LIKE}\s*;?\s*$", re.IGNORECASE)
SHOW_TABLES = re.compile(rf"^\s*SHOW\s+TABLES(?:\s+(?:FROM|IN)\s+({_NAME}))?{_LIKE}\s*;?\s*$", re.IGNORECASE)
_SHOW = re.compile(r"^\s*(SHOW|DESCRIBE)\b", re.IGNORECASE)

_SCHEMAS = (
    "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() "
    "AND NOT starts_with(schema_name, '__') AND NOT list_contains(?, lower(schema_name))"
)


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def _like(pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    pattern = pattern.replace("''", "'")
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", re.DOTALL)


def _column(name: str, rows: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    info = [{"Name": name, "Type": {"ScalarType": "VARCHAR"}}]
    return info, [{"Data": [{"ScalarValue": value}]} for value in rows]


def answer(cursor: Any, sql: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
    """ColumnInfo and rows for a SHOW statement, or None when `sql` is not one."""
    if not _SHOW.match(sql):
        return None
    reserved = sorted(RESERVED_DATABASE_NAMES)
    match = SHOW_DATABASES.match(sql)
    if match:
        like = _like(match.group(1))
        names = [row[0] for row in cursor.execute(_SCHEMAS + " ORDER BY 1", [reserved]).fetchall()]
        return _column("Database", [n for n in names if like is None or like.match(n)])
    match = SHOW_TABLES.match(sql)
    if match:
        if match.group(1) is None:
            raise ValidationException("SHOW TABLES needs the database: SHOW TABLES FROM <database>")
        database = _unquote(match.group(1))
        schemas = {row[0] for row in cursor.execute(_SCHEMAS, [reserved]).fetchall()}
        if database not in schemas:
            raise ResourceNotFoundException(f"The database {database} does not exist.")
        tables = cursor.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal AND database_name = current_database() "
            "AND schema_name = ? AND NOT starts_with(view_name, '__') "
            "UNION SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = ? AND NOT starts_with(table_name, '__') ORDER BY 1",
            [database, database],
        ).fetchall()
        like = _like(match.group(2))
        return _column("Table", [t for (t,) in tables if like is None or like.match(t)])
    raise ValidationException(
        "only SHOW DATABASES and SHOW TABLES FROM <database> are supported among SHOW/DESCRIBE statements"
    )
