"""DuckDB results -> Timestream's Query wire format (ColumnInfo, Rows of Datum).

Timestamps must keep their nanoseconds, which DuckDB's Python conversion would drop, so columns
holding timestamps are wrapped in SQL that turns them into epoch nanoseconds first (``prepare``);
``row_encoder`` then formats every value the way Timestream prints it and encodes each row.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from timestream_local.catalog import quote
from timestream_local.models import format_ns
from timestream_local.query.intervals import YEAR_MONTH_FIELD

_INTEGER = {"tinyint", "smallint", "integer", "utinyint", "usmallint"}
_BIGINT = {"bigint", "hugeint", "uinteger", "ubigint", "uhugeint"}
_DOUBLE = {"double", "float", "decimal"}
_TIMESTAMP = {
    "timestamp",
    "timestamp_ns",
    "timestamp_ms",
    "timestamp_s",
    "timestamp with time zone",
}
_NULL = {"NullValue": True}


@dataclass(frozen=True)
class Shape:
    """A column's type, reduced to what Timestream distinguishes."""

    kind: str  # scalar | array | timeseries | row
    scalar: str = "UNKNOWN"  # for kind == scalar: Timestream's ScalarType
    children: tuple[tuple[str, Shape], ...] = ()  # array/timeseries: (("", child)); row: fields
    needs_sql: bool = False  # values must be rewritten in SQL before fetching


_SCALARS: dict[str, Shape] = {
    **{kind: Shape("scalar", "INTEGER") for kind in _INTEGER},
    **{kind: Shape("scalar", "BIGINT") for kind in _BIGINT},
    **{kind: Shape("scalar", "DOUBLE", needs_sql=kind == "decimal") for kind in _DOUBLE},
    **{kind: Shape("scalar", "TIMESTAMP", needs_sql=True) for kind in _TIMESTAMP},
    "varchar": Shape("scalar", "VARCHAR"),
    "boolean": Shape("scalar", "BOOLEAN"),
    "date": Shape("scalar", "DATE"),
    "time": Shape("scalar", "TIME", needs_sql=True),
    "time_ns": Shape("scalar", "TIME", needs_sql=True),
    "interval": Shape("scalar", "INTERVAL_DAY_TO_SECOND", needs_sql=True),
    "null": Shape("scalar", "UNKNOWN"),
}
_AS_TEXT_SHAPE = Shape("scalar", "VARCHAR", needs_sql=True)  # uuid, blob, enum, map...: sent as text
_YEAR_MONTH = Shape("scalar", "INTERVAL_YEAR_TO_MONTH", needs_sql=True)  # see query/intervals.py


def shape_of(duck_type: Any) -> Shape:
    kind = str(duck_type.id)
    if kind in ("list", "array"):
        child = shape_of(duck_type.children[0][1])
        if child.kind == "row" and [name for name, _ in child.children] == ["time", "value"]:
            time_shape = child.children[0][1]
            if time_shape.scalar == "TIMESTAMP":
                value = child.children[1][1]
                return Shape("timeseries", children=(("", value),), needs_sql=True)
        return Shape("array", children=(("", child),), needs_sql=child.needs_sql)
    if kind in ("struct", "tuple"):  # a tuple is DuckDB's row of unnamed fields: (1, 'a')
        if [name for name, _ in duck_type.children] == [YEAR_MONTH_FIELD]:
            return _YEAR_MONTH
        fields = tuple(
            (name or f"_{i}", shape_of(child)) for i, (name, child) in enumerate(duck_type.children)
        )
        return Shape("row", children=fields, needs_sql=any(s.needs_sql for _, s in fields))
    return _SCALARS.get(kind, _AS_TEXT_SHAPE)


def column_type(shape: Shape) -> dict[str, Any]:
    if shape.kind == "scalar":
        return {"ScalarType": shape.scalar}
    if shape.kind == "timeseries":
        return {"TimeSeriesMeasureValueColumnInfo": {"Type": column_type(shape.children[0][1])}}
    if shape.kind == "array":
        return {"ArrayColumnInfo": {"Type": column_type(shape.children[0][1])}}
    return {"RowColumnInfo": [{"Name": name, "Type": column_type(child)} for name, child in shape.children]}


def column_info(name: str, shape: Shape) -> dict[str, Any]:
    return {"Name": name, "Type": column_type(shape)}


# ------------------------------------------------------------------------------ SQL-side fixups


def _fix_sql(expr: str, shape: Shape, depth: int = 0) -> str:  # noqa: PLR0911
    """DuckDB expression turning ``expr`` into values Python can format without losing precision."""
    if not shape.needs_sql:
        return expr
    var = f"__tsl_v{depth}"
    if shape.kind == "timeseries":
        value = _fix_sql(f"{var}['value']", shape.children[0][1], depth + 1)
        return f"list_transform({expr}, lambda {var}: {{'time': epoch_ns({var}['time']), 'value': {value}}})"
    if shape.kind == "array":
        return f"list_transform({expr}, lambda {var}: {_fix_sql(var, shape.children[0][1], depth + 1)})"
    if shape.kind == "row":
        fields = ", ".join(  # each field by position: a tuple's fields have no names
            f"{quote(name)} := {_fix_sql(f'struct_extract_at(({expr}), {i})', child, depth + 1)}"
            for i, (name, child) in enumerate(shape.children, start=1)
        )
        return f"CASE WHEN ({expr}) IS NULL THEN NULL ELSE struct_pack({fields}) END"
    if shape.scalar == "TIMESTAMP":
        return f"epoch_ns({expr})"
    if shape.scalar == "DOUBLE":
        return f"CAST({expr} AS DOUBLE)"
    if shape.scalar == "TIME":
        return f"CAST(epoch_us(CAST({expr} AS TIME)) * 1000 AS BIGINT)"  # microseconds, as DuckDB keeps
    if shape.scalar == "INTERVAL_YEAR_TO_MONTH":
        months = f"({expr}).{quote(YEAR_MONTH_FIELD)}"
        return f"datepart('year', {months}) * 12 + datepart('month', {months})"
    if shape.scalar == "INTERVAL_DAY_TO_SECOND":
        return (
            f"CASE WHEN ({expr}) IS NULL THEN NULL ELSE struct_pack("
            f"m := datepart('year', {expr}) * 12 + datepart('month', {expr}), d := datepart('day', {expr}), "
            f"us := datepart('hour', {expr}) * 3600000000 + datepart('minute', {expr}) * 60000000 "
            f"+ datepart('microseconds', {expr})) END"
        )
    return f"CAST({expr} AS VARCHAR)"


def wrap_sql(sql: str, shapes: Sequence[Shape]) -> str | None:
    """A SELECT over the query fixing up the columns that need it (by position), or None."""
    if not any(shape.needs_sql for shape in shapes):
        return None
    columns = ", ".join(_fix_sql(f"#{i + 1}", shape) for i, shape in enumerate(shapes))
    return f"SELECT {columns} FROM ({sql})"


# ------------------------------------------------------------------------------------ formatting


def format_double(value: float) -> str:
    """A double as Java (and so Timestream) prints it: 58.0, 0.001, 1.0E7, 1.5E-5, NaN, Infinity."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        text = repr(value)
        return text if ("." in text or "e" in text) else text + ".0"
    mantissa, exponent = f"{value:.17e}".split("e")
    digits = repr(value)
    if "e" in digits:
        mantissa = digits.split("e")[0]
    else:
        # repr gives the shortest round-trip digits; re-express them as d.ddd x 10^n
        sign = "-" if value < 0 else ""
        significant = digits.lstrip("-").replace(".", "").lstrip("0").rstrip("0") or "0"
        mantissa = sign + significant[0] + "." + (significant[1:] or "0")
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}E{int(exponent)}"


def _format_time_ns(nanoseconds: int) -> str:
    seconds, fraction = divmod(nanoseconds, 1_000_000_000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{fraction:09d}"


def _format_interval(value: dict[str, int]) -> str:
    """INTERVAL DAY TO SECOND as Trino prints it: ``1 03:05:01.500000000`` (a month counts 30 days)."""
    total = ((value["m"] * 30 + value["d"]) * 86_400_000_000 + value["us"]) * 1000
    sign = "-" if total < 0 else ""
    days, rest = divmod(abs(total), 86_400_000_000_000)
    return f"{sign}{days} {_format_time_ns(rest)}"


def _format_year_month(months: int) -> str:
    """INTERVAL YEAR TO MONTH as Trino prints it: ``2-7``, ``-1-2``."""
    sign = "-" if months < 0 else ""
    years, rest = divmod(abs(months), 12)
    return f"{sign}{years}-{rest}"


def _scalar_text(shape: Shape) -> Callable[[Any], str]:  # noqa: PLR0911
    scalar = shape.scalar
    if scalar in ("BIGINT", "INTEGER"):
        return lambda v: str(int(v))
    if scalar == "DOUBLE":
        return lambda v: format_double(float(v))
    if scalar == "BOOLEAN":
        return lambda v: "true" if v else "false"
    if scalar == "TIMESTAMP":
        return format_ns
    if scalar == "DATE":
        return lambda v: v.isoformat() if isinstance(v, dt.date) else str(v)
    if scalar == "TIME":
        return _format_time_ns
    if scalar == "INTERVAL_DAY_TO_SECOND":
        return _format_interval
    if scalar == "INTERVAL_YEAR_TO_MONTH":
        return lambda v: _format_year_month(int(v))
    return str


def datum_converter(shape: Shape) -> Callable[[Any], dict[str, Any]]:
    """A function turning one fetched value of this shape into a Timestream Datum."""
    if shape.kind == "scalar":
        text = _scalar_text(shape)
        return lambda v: _NULL if v is None else {"ScalarValue": text(v)}
    if shape.kind == "timeseries":
        value_datum = datum_converter(shape.children[0][1])

        def timeseries(v: Any) -> dict[str, Any]:
            if v is None:
                return _NULL
            return {
                "TimeSeriesValue": [
                    {"Time": format_ns(point["time"]), "Value": value_datum(point["value"])} for point in v
                ]
            }

        return timeseries
    if shape.kind == "array":
        element = datum_converter(shape.children[0][1])
        return lambda v: _NULL if v is None else {"ArrayValue": [element(x) for x in v]}
    fields = [(name, datum_converter(child)) for name, child in shape.children]

    def row(v: Any) -> dict[str, Any]:
        if v is None:
            return _NULL
        values = list(v.values()) if isinstance(v, dict) else list(v)
        return {"RowValue": {"Data": [convert(x) for (_, convert), x in zip(fields, values, strict=True)]}}

    return row


def row_encoder(shapes: Sequence[Shape]) -> Callable[[Sequence[Any]], msgspec.Raw]:
    """A function turning one fetched row into its Timestream JSON ({"Data": [...]}), encoded."""
    converters = [datum_converter(shape) for shape in shapes]
    encode = msgspec.json.encode

    def row(values: Sequence[Any]) -> msgspec.Raw:
        return msgspec.Raw(
            encode({"Data": [convert(value) for convert, value in zip(converters, values, strict=True)]})
        )

    return row
