"""Tell time series from arrays, intervals and scalars, following columns through CTEs and
sub-queries (sqlglot's scopes): UNNEST and the interpolation functions need to know.

``Kinds.scalar_type`` also names the type of a scalar where the query text alone settles it,
without the store's schema (so a translation stays valid for every table it may read): literals,
casts, ``time``, ``measure_value::<type>``, and what functions and operators make of those. It says
``UNKNOWN`` wherever that is not certain (a dimension or multi-measure column, a sub-query...);
the translator then lets DuckDB tell the type apart at bind time instead (``typeof``), which is
always right but repeats the argument in the SQL text, so the static answer is only a shortcut.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.scope import Scope, traverse_scope

from timestream_local.query.syntax import is_duration

TIMESERIES = "timeseries"
ARRAY = "array"
INTERVAL = "interval"
SCALAR = "scalar"
UNKNOWN = "unknown"

# scalar types, as far as Trino's semantics tell them apart (scalar_type)
INTEGER = "integer"  # tinyint, smallint, integer, bigint
FLOATING = "floating"  # double, real
DECIMAL = "decimal"  # decimal literals such as 2.5
VARCHAR = "varchar"
BOOLEAN = "boolean"
DATE = "date"
TIMESTAMP = "timestamp"
YEAR_TO_MONTH = "interval year to month"  # INTERVAL '2' YEAR, INTERVAL '2-7' YEAR TO MONTH
DAY_TO_SECOND = "interval day to second"  # INTERVAL '1' DAY, durations such as 30s
NUMERIC = (INTEGER, FLOATING, DECIMAL)

_CAST_TYPES = {
    **dict.fromkeys((exp.DType.BIGINT, exp.DType.INT, exp.DType.SMALLINT, exp.DType.TINYINT), INTEGER),
    **dict.fromkeys((exp.DType.DOUBLE, exp.DType.FLOAT), FLOATING),
    exp.DType.DECIMAL: DECIMAL,
    **dict.fromkeys((exp.DType.VARCHAR, exp.DType.TEXT, exp.DType.CHAR), VARCHAR),
    exp.DType.BOOLEAN: BOOLEAN,
    exp.DType.DATE: DATE,
    **dict.fromkeys((exp.DType.TIMESTAMP, exp.DType.TIMESTAMP_NS), TIMESTAMP),
}
# the store's own columns, whose names fix their types (AWS forbids these names for dimensions)
_COLUMN_TYPES = {
    "time": TIMESTAMP,
    "measure_name": VARCHAR,
    "measure_value::bigint": INTEGER,
    "measure_value::double": FLOATING,
    "measure_value::varchar": VARCHAR,
    "measure_value::boolean": BOOLEAN,
    "measure_value::timestamp": TIMESTAMP,
}
_RETURNS: dict[type[exp.Expr], str] = {
    **dict.fromkeys((exp.Count, exp.CountIf, exp.ApproxDistinct, exp.Length, exp.StrPosition,
                     exp.Levenshtein, exp.ArraySize, exp.RowNumber, exp.Rank, exp.DenseRank, exp.Ntile,
                     exp.Year, exp.Month, exp.Day, exp.Hour, exp.Minute, exp.Second, exp.DayOfWeekIso,
                     exp.DayOfYear, exp.WeekOfYear, exp.Quarter, exp.Extract, exp.DateDiff, exp.FromBase,
                     exp.WidthBucket), INTEGER),
    **dict.fromkeys((exp.Pow, exp.Sqrt, exp.Cbrt, exp.Exp, exp.Ln, exp.Log, exp.Degrees, exp.Radians,
                     exp.Pi, exp.Rand, exp.TimeToUnix, exp.PercentRank, exp.CumeDist, exp.Stddev,
                     exp.StddevPop, exp.StddevSamp, exp.Variance, exp.VariancePop, exp.Corr,
                     exp.CovarPop, exp.CovarSamp, exp.Skewness, exp.Kurtosis), FLOATING),
    **dict.fromkeys((exp.Lower, exp.Upper, exp.Concat, exp.Substring, exp.Replace, exp.Trim, exp.Pad,
                     exp.SplitPart, exp.Chr, exp.TimeToStr, exp.ArrayToString, exp.Typeof), VARCHAR),
    **dict.fromkeys((exp.Predicate, exp.Connector, exp.Not, exp.StartsWith, exp.RegexpLike,
                     exp.ArrayContains, exp.LogicalAnd, exp.LogicalOr), BOOLEAN),
    **dict.fromkeys((exp.UnixToTime, exp.FromISO8601Timestamp, exp.CurrentTimestamp, exp.Localtimestamp,
                     exp.StrToTime), TIMESTAMP),
    **dict.fromkeys((exp.CurrentDate, exp.Date), DATE),
}  # fmt: skip
# functions whose result has the type of their first argument
_SAME_AS_ARGUMENT = (
    exp.Abs, exp.Round, exp.Trunc, exp.Ceil, exp.Floor, exp.Sign, exp.Min, exp.Max, exp.AnyValue,
    exp.FirstValue, exp.LastValue, exp.Lag, exp.Lead, exp.NthValue, exp.ArgMax, exp.ArgMin,
    exp.ApproxQuantile, exp.Sum, exp.TimestampTrunc, exp.DateTrunc, exp.DateAdd,
)  # fmt: skip
_TIMESTREAM_RETURNS = {
    "bin": TIMESTAMP, "ago": TIMESTAMP, "from_milliseconds": TIMESTAMP, "from_nanoseconds": TIMESTAMP,
    "to_milliseconds": INTEGER, "to_nanoseconds": INTEGER, "to_base": VARCHAR, "bit_count": INTEGER,
    "to_iso8601": VARCHAR, "format_datetime": VARCHAR, "parse_duration": DAY_TO_SECOND,
}  # fmt: skip
_TIMESTREAM_ARRAYS = ("ngrams", "zip", "zip_with")


class Kinds:
    """Tells time series from arrays, intervals and scalars, following columns through CTEs."""

    def __init__(self, tree: exp.Expr) -> None:
        self._types: dict[int, str] = {}
        self._scopes: dict[int, Scope] = {}
        try:
            for scope in traverse_scope(tree):
                self._scopes[id(scope.expression)] = scope
        except (OptimizeError, RecursionError, KeyError, ValueError):
            self._scopes = {}

    def _scope_of(self, node: exp.Expr) -> Scope | None:
        current: exp.Expr | None = node
        while current is not None:
            scope = self._scopes.get(id(current))
            if scope is not None:
                return scope
            current = current.parent
        return None

    def of(self, node: exp.Expr | None, depth: int = 0) -> str:  # noqa: PLR0911, PLR0912
        if node is None or depth > 40:
            return UNKNOWN
        if isinstance(node, (exp.Paren, exp.Alias)):
            return self.of(node.this, depth + 1)
        if is_duration(node) or isinstance(node, exp.Interval):
            return INTERVAL
        if isinstance(node, exp.Anonymous):
            name = node.name.lower()
            if name in ("create_time_series", "derivative_linear", "non_negative_derivative_linear"):
                return TIMESERIES
            if name.startswith("interpolate_"):
                second = node.expressions[1] if len(node.expressions) > 1 else None
                return TIMESERIES if self.of(second, depth + 1) in (ARRAY, UNKNOWN) else SCALAR
            if name == "parse_duration":
                return INTERVAL
            return ARRAY if name in _TIMESTREAM_ARRAYS else SCALAR
        if isinstance(node, (exp.Repeat, exp.RegexpExtractAll, exp.RegexpSplit, exp.ArrayIntersect,
                             exp.ArrayExcept, exp.ArrayRemove, exp.ArraySlice, exp.Shuffle)):  # fmt: skip
            return ARRAY
        if isinstance(node, (exp.GenerateSeries, exp.Array, exp.ArrayAgg, exp.Split, exp.ArrayDistinct,
                             exp.Transform, exp.Flatten)):  # fmt: skip
            return ARRAY
        if isinstance(node, (exp.DPipe, exp.Reverse)):  # array || element, reverse(array): arrays
            sides = (self.of(node.this, depth + 1), self.of(node.args.get("expression"), depth + 1))
            return ARRAY if ARRAY in sides else SCALAR
        if isinstance(node, (exp.ArrayFilter, exp.ArraySort)):
            inner = self.of(node.this, depth + 1)
            return inner if inner in (TIMESERIES, ARRAY) else ARRAY
        if isinstance(node, (exp.Case, exp.If, exp.Coalesce)):
            branches = [node.args.get("true"), node.args.get("default"), node.this]
            branches += [w.args.get("true") for w in node.args.get("ifs") or []]
            for branch in branches:
                kind = self.of(branch, depth + 1) if branch is not None else UNKNOWN
                if kind not in (UNKNOWN, SCALAR):
                    return kind
            return SCALAR
        if isinstance(node, exp.Column):
            return self._column(node, depth)
        return SCALAR

    def _column(self, column: exp.Column, depth: int) -> str:
        scope = self._scope_of(column)
        if scope is None:
            return UNKNOWN
        wanted = column.name.lower()
        qualifier = column.table.lower()
        for source_name, source in scope.sources.items():
            if qualifier and source_name.lower() != qualifier:
                continue
            if isinstance(source, exp.Table):
                if qualifier:
                    return SCALAR
                continue
            if isinstance(source, Scope) and isinstance(source.expression, exp.Values):
                found = _values_column(source.expression, wanted)
                if found is not None:
                    return self.of(found, depth + 1)
                continue
            if not isinstance(source, Scope) or not isinstance(source.expression, exp.Query):
                continue
            for projection in source.expression.selects:
                if projection.alias_or_name.lower() == wanted:
                    return self.of(projection, depth + 1)
        return UNKNOWN

    # -- scalar types

    def scalar_type(self, node: exp.Expr | None, depth: int = 0) -> str:
        """The scalar type (INTEGER, FLOATING, ...) the query text settles for ``node``, else UNKNOWN."""
        if node is None or depth > 40:
            return UNKNOWN
        known = self._types.get(id(node))
        if known is None:
            known = self._types[id(node)] = self._scalar_type(node, depth)
        return known

    def _scalar_type(self, node: exp.Expr, depth: int) -> str:  # noqa: PLR0911, PLR0912
        if isinstance(node, (exp.Paren, exp.Alias, exp.Neg, exp.Window, exp.Filter)):
            return self.scalar_type(node.this, depth + 1)
        if isinstance(node, exp.Literal):
            if node.is_string:
                return VARCHAR
            text = node.name
            if "e" in text.lower():
                return FLOATING
            return DECIMAL if "." in text else INTEGER
        if isinstance(node, exp.Boolean):
            return BOOLEAN
        if isinstance(node, exp.Interval) or is_duration(node):
            return interval_type(node)
        if isinstance(node, (exp.Cast, exp.TryCast)):
            return _CAST_TYPES.get(node.to.this, UNKNOWN)
        if isinstance(node, exp.Column):
            return self._column_type(node, depth)
        if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)):
            return self._arithmetic(node, depth)
        if isinstance(node, exp.DPipe):
            kinds = {self.of(node.this, depth + 1), self.of(node.expression, depth + 1)}
            return VARCHAR if kinds <= {SCALAR} else UNKNOWN
        if isinstance(node, exp.Anonymous):
            return _TIMESTREAM_RETURNS.get(node.name.lower(), UNKNOWN)
        if isinstance(node, (exp.Avg, exp.Sum)):
            inner = self.scalar_type(_argument(node.this), depth + 1)
            if isinstance(node, exp.Avg):
                return FLOATING if inner in (INTEGER, FLOATING) else UNKNOWN
            return inner if inner in (INTEGER, FLOATING) else UNKNOWN
        if isinstance(node, _SAME_AS_ARGUMENT) or (isinstance(node, exp.Rand) and node.this is not None):
            return self.scalar_type(_argument(node.this), depth + 1)  # random(n) has n's type
        if isinstance(node, (exp.Coalesce, exp.Greatest, exp.Least, exp.Nullif, exp.If, exp.Case)):
            return self._common(node, depth)
        for klass, result in _RETURNS.items():
            if isinstance(node, klass):
                return result
        return UNKNOWN

    def _arithmetic(self, node: exp.Expr, depth: int) -> str:
        left, right = self.scalar_type(node.this, depth + 1), self.scalar_type(node.expression, depth + 1)
        if left in NUMERIC and right in NUMERIC:
            if FLOATING in (left, right):
                return FLOATING
            return DECIMAL if DECIMAL in (left, right) else INTEGER
        intervals = {left, right} & {YEAR_TO_MONTH, DAY_TO_SECOND}
        if isinstance(node, (exp.Add, exp.Sub)) and left == right and intervals:
            return left  # interval +- interval of the same kind
        if isinstance(node, (exp.Mul, exp.Div)) and len(intervals) == 1:
            other = right if left in intervals else left
            if other in NUMERIC and (isinstance(node, exp.Mul) or left in intervals):
                return intervals.pop()  # interval * number, number * interval, interval / number
        if isinstance(node, (exp.Add, exp.Sub)):
            # date/timestamp +- interval keeps the date or timestamp (the translation sees to it)
            for side, other in ((left, node.expression), (right, node.this)):
                if side in (DATE, TIMESTAMP) and self.of(other, depth + 1) == INTERVAL:
                    return side
        return UNKNOWN

    def _common(self, node: exp.Expr, depth: int) -> str:
        """The type of a choice between values: the same for all, or double among numbers."""
        if isinstance(node, exp.Case):
            branches = [w.args.get("true") for w in node.args.get("ifs") or []] + [node.args.get("default")]
        elif isinstance(node, exp.If):
            branches = [node.args.get("true"), node.args.get("false")]
        elif isinstance(node, exp.Nullif):
            branches = [node.this]
        else:
            branches = [node.this, *node.expressions]
        types = {
            self.scalar_type(b, depth + 1) for b in branches if b is not None and not isinstance(b, exp.Null)
        }
        if len(types) == 1:
            return types.pop()
        if types and types <= {INTEGER, FLOATING}:
            return FLOATING
        return UNKNOWN

    def _column_type(self, column: exp.Column, depth: int) -> str:
        scope = self._scope_of(column)
        if scope is None:
            return UNKNOWN
        wanted = column.name.lower()
        qualifier = column.table.lower()
        for source_name, source in scope.sources.items():
            if qualifier and source_name.lower() != qualifier:
                continue
            if isinstance(source, exp.Table):
                if qualifier or len(scope.sources) == 1:
                    return _COLUMN_TYPES.get(column.name, UNKNOWN)
                continue
            if isinstance(source, Scope) and isinstance(source.expression, exp.Values):
                found = _values_column(source.expression, wanted)
                if found is not None:
                    return self.scalar_type(found, depth + 1)
                continue
            if not isinstance(source, Scope) or not isinstance(source.expression, exp.Query):
                continue
            for projection in source.expression.selects:
                if projection.alias_or_name.lower() == wanted:
                    return self.scalar_type(projection, depth + 1)
        return UNKNOWN


_YEAR_MONTH_UNITS = ("YEAR", "MONTH")


def interval_type(node: exp.Expr) -> str:
    """YEAR_TO_MONTH or DAY_TO_SECOND for an INTERVAL literal (by its first unit) or a duration."""
    unit = node.args.get("unit") if isinstance(node, exp.Interval) else None
    if isinstance(unit, exp.IntervalSpan):
        unit = unit.this
    name = unit.name.upper() if unit is not None else ""
    return YEAR_TO_MONTH if name.rstrip("S") in _YEAR_MONTH_UNITS else DAY_TO_SECOND


def _values_column(values: exp.Values, wanted: str) -> exp.Expr | None:
    """The first row's expression for a column of ``(VALUES ...) AS t(a, b)``, None if not named so."""
    alias = values.args.get("alias")
    names = [column.name.lower() for column in (alias.columns if alias is not None else [])]
    if wanted not in names or not values.expressions:
        return None
    row = values.expressions[0]
    cells = row.expressions if isinstance(row, exp.Tuple) else [row]
    index = names.index(wanted)
    return cells[index] if index < len(cells) else None


def _argument(node: exp.Expr | None) -> exp.Expr | None:
    """An aggregate's argument, looking through DISTINCT."""
    if isinstance(node, exp.Distinct) and len(node.expressions) == 1:
        return node.expressions[0]
    return node
