"""Trino's two interval types: INTERVAL YEAR TO MONTH and INTERVAL DAY TO SECOND.

DuckDB has one INTERVAL type (months, days and microseconds together), so which of Trino's types a
value has is read from the query text (``Kinds.scalar_type``: literals by their unit, durations are
day-to-second, arithmetic keeps the type): mixing the two in one sum is refused as Trino refuses it,
a year-month interval divided or multiplied by a number stays a whole number of months (DuckDB would
spill the fraction into days), and a result column holding a year-month interval leaves the query
wrapped in a one-field struct that ``results`` recognises and prints as Trino does (``2-7``).

Literals with a span (``INTERVAL '2-7' YEAR TO MONTH``, ``INTERVAL '1 02:03:04.5' DAY TO SECOND``)
are read here and reach DuckDB as a number of months or microseconds (literal nodes, never text).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from sqlglot import exp

from timestream_local.query.kinds import DAY_TO_SECOND, YEAR_TO_MONTH
from timestream_local.query.syntax import Raw, fail

YEAR_MONTH_FIELD = "__tsl_year_to_month"  # the one field of a result column's wrapping struct
# a year-month interval as a result column: results.py prints the field's months as Trino does
AS_RESULT = "{'" + YEAR_MONTH_FIELD + "': {0}}"
MONTHS = "to_months(CAST({0} AS INTEGER))"  # {0}: a whole number of months
MICROSECONDS = "to_microseconds(CAST({0} AS BIGINT))"
_MONTHS_OF = "(datepart('year', {0}) * 12 + datepart('month', {0}))"
# year-month interval * or / a number: whole months, the fraction truncated (Trino's (long) cast)
TIMES = "to_months(CAST(trunc(" + _MONTHS_OF + " * {1}) AS INTEGER))"
DIVIDED = (
    "to_months(CAST(trunc(" + _MONTHS_OF + " / CASE WHEN {1} = 0 THEN error('Division by zero') "
    "ELSE CAST({1} AS DOUBLE) END) AS INTEGER))"
)
TEMPLATES = frozenset({AS_RESULT, MONTHS, MICROSECONDS, TIMES, DIVIDED})

_YEAR_MONTH = re.compile(r"\s*([+-]?)(\d{1,9})-(\d{1,2})\s*")
_DAY_FIELDS = ("DAY", "HOUR", "MINUTE", "SECOND")
_MICROS = {"DAY": 86_400_000_000, "HOUR": 3_600_000_000, "MINUTE": 60_000_000, "SECOND": 1_000_000}
_LIMITS = {"HOUR": 24, "MINUTE": 60, "SECOND": 60}


def span_literal(node: exp.Interval) -> exp.Expr | None:
    """DuckDB's form of an ``INTERVAL '...' <unit> TO <unit>`` literal; None for other intervals."""
    span = node.args.get("unit")
    if not isinstance(span, exp.IntervalSpan) or not isinstance(node.this, exp.Literal):
        return None
    first, last = span.this.name.upper(), span.expression.name.upper()
    text = node.this.name
    if (first, last) == ("YEAR", "MONTH"):
        match = _YEAR_MONTH.fullmatch(text)
        if match is None or int(match.group(3)) > 11:
            raise fail(
                node, f"invalid INTERVAL YEAR TO MONTH literal '{text[:40]}': write it as 'years-months'"
            )
        months = int(match.group(2)) * 12 + int(match.group(3))
        return Raw(
            template=MONTHS, expressions=[exp.Literal.number(-months if match.group(1) == "-" else months)]
        )
    if first in _DAY_FIELDS and last in _DAY_FIELDS and _DAY_FIELDS.index(first) < _DAY_FIELDS.index(last):
        micros = _day_to_second_micros(
            node, text, _DAY_FIELDS[_DAY_FIELDS.index(first) : _DAY_FIELDS.index(last) + 1]
        )
        return Raw(template=MICROSECONDS, expressions=[exp.Literal.number(micros)])
    raise fail(node, f"INTERVAL ... {first} TO {last} is not an interval Trino knows")


def _day_to_second_micros(node: exp.Expr, text: str, fields: tuple[str, ...]) -> int:
    """Microseconds of 'D HH:MM:SS.fff' (or the part the fields name): days apart by a space,
    the rest by colons; every field after the first within its range."""
    body = text.strip()
    negative = body.startswith("-")
    body = body.lstrip("+-")
    parts: list[str] = []
    if fields[0] == "DAY":
        day, _, rest = body.partition(" ")
        parts = [day, *(rest.split(":") if rest else [])]
    else:
        parts = body.split(":")
    pattern = re.compile(r"\d{1,9}(\.\d{1,9})?")
    if (
        len(parts) != len(fields)
        or not all(pattern.fullmatch(part) for part in parts)
        or any("." in part for part in parts[:-1])
        or ("." in parts[-1] and fields[-1] != "SECOND")
    ):
        raise fail(
            node,
            f"invalid INTERVAL {fields[0]} TO {fields[-1]} literal '{text[:40]}'; e.g. '1 02:03:04.5' DAY TO SECOND",
        )
    total = Decimal(0)
    for position, (field, part) in enumerate(zip(fields, parts, strict=True)):
        value = Decimal(part)
        if position and value >= _LIMITS[field]:
            raise fail(
                node, f"invalid INTERVAL literal '{text[:40]}': {field.lower()} {part} is out of range"
            )
        total += value * _MICROS[field]
    micros = int(total)
    return -micros if negative else micros


def mixes_kinds(left: str, right: str) -> bool:
    """Whether an addition or subtraction would add a year-month interval to a day-to-second one."""
    return {left, right} == {YEAR_TO_MONTH, DAY_TO_SECOND}


def refuse_mix(node: exp.Expr, left: str, right: str) -> None:
    if mixes_kinds(left, right):
        operator = "+" if isinstance(node, exp.Add) else "-"
        raise fail(node, f"Cannot apply operator: {left} {operator} {right}")


def scale(node: exp.Expr, interval: exp.Expr, factor: exp.Expr) -> exp.Expr:
    """A year-month interval multiplied or divided by a number, in whole months."""
    template = DIVIDED if isinstance(node, exp.Div) else TIMES
    return Raw(template=template, expressions=[interval, factor])


_RESULT_MARK = "tsl_year_to_month_result"  # node.meta key: a result column holding a year-month interval


def _result_selects(tree: exp.Expr) -> list[exp.Select]:
    """The SELECTs whose projections are the query's result columns (every branch of a UNION ...)."""
    if isinstance(tree, exp.SetOperation):
        return _result_selects(tree.this) + _result_selects(tree.expression)
    if isinstance(tree, exp.Subquery):
        return _result_selects(tree.this)
    return [tree] if isinstance(tree, exp.Select) else []


def mark_results(tree: exp.Expr, scalar_type: Callable[[exp.Expr], str]) -> None:
    """Note the result columns that hold a year-month interval (on the tree as the client wrote it)."""
    for select in _result_selects(tree):
        for projection in select.expressions:
            if scalar_type(projection) == YEAR_TO_MONTH:
                projection.meta[_RESULT_MARK] = True


def wrap_results(tree: exp.Expr) -> None:
    """Wrap the noted result columns (after the rewrite) so that ``results`` can tell them apart."""
    for select in _result_selects(tree):
        for projection in list(select.expressions):
            if not projection.meta.get(_RESULT_MARK):
                continue
            if isinstance(projection, exp.Alias):
                projection.set("this", Raw(template=AS_RESULT, expressions=[projection.this]))
            else:
                name = projection.alias_or_name
                projection.replace(
                    exp.alias_(Raw(template=AS_RESULT, expressions=[projection.copy()]), name, quoted=True)
                )
