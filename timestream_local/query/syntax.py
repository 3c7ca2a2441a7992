"""Pieces shared by validation, kind inference and translation: node names and positions for
messages, duration literals, and the node that carries finished DuckDB text."""

from __future__ import annotations

from typing import ClassVar

from sqlglot import exp

from timestream_local.exceptions import ValidationException
from timestream_local.query.lexer import DURATION_FUNCTION

_INTERVAL_UNIT_NS = {
    "NANOSECOND": 1,
    "MICROSECOND": 1_000,
    "MILLISECOND": 1_000_000,
    "SECOND": 1_000_000_000,
    "MINUTE": 60_000_000_000,
    "HOUR": 3_600_000_000_000,
    "DAY": 86_400_000_000_000,
}


class Raw(exp.Expression):
    """Finished DuckDB text with ``{0}``, ``{1}``... holes for the generated SQL of its arguments."""

    arg_types: ClassVar[dict[str, bool]] = {"template": True, "expressions": False}


def node_name(node: exp.Expr) -> str:
    """The SQL name of a node for messages: a function's name, or the construct's keyword."""
    if isinstance(node, exp.Anonymous):
        return node.name
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return node.key.upper()


def start_of(meta: dict) -> tuple[int, int] | None:
    """(line, column) where a token starts; sqlglot records the column of its last character."""
    if not meta.get("line"):
        return None
    col = int(meta.get("col", 1))
    if "start" in meta and "end" in meta:
        col -= int(meta["end"]) - int(meta["start"])
    return int(meta["line"]), max(col, 1)


def _where(node: exp.Expr) -> str:
    for child in node.walk():
        position = start_of(getattr(child, "meta", None) or {})
        if position is not None:
            return f"line {position[0]}:{position[1]}: "
    return ""


def fail(node: exp.Expr, message: str) -> ValidationException:
    return ValidationException(_where(node) + message)


# The units Trino's date_add, date_diff and date_trunc take (date_trunc has no millisecond).
DATE_UNITS = ("millisecond", "second", "minute", "hour", "day", "week", "month", "quarter", "year")


def date_unit(node: exp.Expr, function: str) -> str:
    """The unit of a date_add / date_diff / date_trunc node, lower case; a ValidationException
    naming the allowed ones for anything else."""
    unit = node.args.get("unit")
    name = "day" if unit is None else unit.name.lower()
    if name not in DATE_UNITS:
        shown = unit.name.lower() if unit is not None else ""
        raise fail(
            node, f"{function}() does not know the unit '{shown[:40]}'; use one of {', '.join(DATE_UNITS)}"
        )
    return name


def is_duration(node: exp.Expr | None) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() == DURATION_FUNCTION


def duration_ns(node: exp.Expr) -> int | None:
    """Nanoseconds of a duration literal (``30s``) or a fixed-length INTERVAL literal, else None."""
    if is_duration(node):
        return int(node.expressions[0].name)
    if isinstance(node, exp.Interval):
        unit = node.unit.name.upper() if node.unit else ""
        unit = unit[:-1] if unit.endswith("S") else unit
        value = node.this
        if unit in _INTERVAL_UNIT_NS and isinstance(value, exp.Literal):
            text = value.name.strip()
            if text.lstrip("-").isdigit():
                return int(text) * _INTERVAL_UNIT_NS[unit]
    return None
