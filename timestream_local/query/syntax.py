"""Pieces shared by validation, kind inference and translation: node names and positions for
messages, duration literals, and the node that carries finished DuckDB text."""

from __future__ import annotations

import re
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


_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\(")


def node_name(node: exp.Expr) -> str:
    """The SQL name of a node for messages, as Timestream's (Trino's) SQL writes it: a function's
    name (bitwise_and, not sqlglot's BitwiseAnd), or the construct's keyword."""
    if isinstance(node, exp.Anonymous):
        return node.name
    try:
        written = _CALL.match(node.sql(dialect="trino"))
    except Exception:  # a node the Trino generator cannot write: its own name will do
        written = None
    if written is not None:
        return written.group(1).lower()
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


# date_format's specifiers (Trino's, after MySQL's) as DuckDB's strftime writes them; %f is the
# fraction of the second in milliseconds, written with six digits
_DATE_FORMAT = {
    "a": "%a", "b": "%b", "c": "%-m", "d": "%d", "e": "%-d", "f": "%g000", "H": "%H", "h": "%I", "I": "%I",
    "i": "%M", "j": "%j", "k": "%-H", "l": "%-I", "M": "%B", "m": "%m", "p": "%p", "r": "%I:%M:%S %p",
    "S": "%S", "s": "%S", "T": "%H:%M:%S", "v": "%V", "W": "%A", "x": "%G", "Y": "%Y", "y": "%y", "%": "%%",
}  # fmt: skip
_NOT_IN_DATE_FORMAT = "DUuVwX"  # refused by Trino


def strftime_format(node: exp.Expr, text: str) -> str:
    """DuckDB's strftime format for a date_format format: each %<x> Trino knows becomes DuckDB's
    specifier, %<x> of any other x is the character x, a lone % at the end is dropped (as Trino
    reads it); the specifiers Trino refuses are refused."""
    out: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            if char in _NOT_IN_DATE_FORMAT:
                raise fail(node, f"%{char} not supported in date format string")
            out.append(_DATE_FORMAT.get(char, char))
            escaped = False
        elif char == "%":
            escaped = True
        else:
            out.append(char)
    return "".join(out)


_LOOK_AROUND = {"(?=": "look-ahead", "(?!": "negative look-ahead", "(?<=": "look-behind",
                "(?<!": "negative look-behind", "(?>": "atomic groups"}  # fmt: skip


def java_only_regex(pattern: str) -> str | None:  # noqa: PLR0912
    """The first construct of Java's pattern syntax (Trino's) that DuckDB's engine, RE2, lacks or
    reads differently, named; None when there is none. RE2 has no look-around, atomic groups,
    possessive quantifiers or back-references (it rejects them), and reads '&&' and a nested '['
    inside a character class as plain characters where Java intersects or unites classes."""
    i, size, in_class = 0, len(pattern), False
    while i < size:
        char = pattern[i]
        if char == "\\":
            following = pattern[i + 1 : i + 2]
            if following == "Q":  # \Q...\E quotes everything up to \E
                end = pattern.find("\\E", i + 2)
                i = size if end < 0 else end + 2
                continue
            if not in_class and following and following in "123456789k":
                return "back-references"
            i += 2
            continue
        if in_class:
            if char == "[":
                return "nested character classes"
            if pattern.startswith("&&", i):
                return "character class intersections (&&)"
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            i += 1
            if pattern[i : i + 1] == "^":
                i += 1
            if pattern[i : i + 1] == "]":  # a ']' first in a class is a plain ']'
                i += 1
            continue
        elif char == "(":
            for opening, name in _LOOK_AROUND.items():
                if pattern.startswith(opening, i):
                    return name
        elif char in "*+?}" and pattern[i + 1 : i + 2] == "+":
            return "possessive quantifiers"
        i += 1
    return None
