"""What the query language accepts, and the DuckDB text behind Timestream's own functions.

Everything not listed here is refused with a ValidationException naming it: a clear "not
supported" is always better than an answer that differs from Timestream's.
"""

from __future__ import annotations

import re

from sqlglot import exp

_HOLE = re.compile(r"\{(\w+)\}")


def fill(template: str, **values: object) -> str:
    """Put values into the ``{name}`` holes of a template; other braces (struct literals) stay."""
    return _HOLE.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template)


# Statement structure: clauses, operators, literals and names.
STRUCTURE: tuple[type[exp.Expr], ...] = (
    exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery, exp.With, exp.CTE,
    exp.From, exp.Join, exp.Where, exp.Group, exp.Having, exp.Order, exp.Ordered, exp.Limit,
    exp.Offset, exp.Distinct, exp.Alias, exp.TableAlias, exp.Column, exp.Identifier, exp.Table,
    exp.Star, exp.Literal, exp.Boolean, exp.Null, exp.Paren, exp.Tuple, exp.Array, exp.Bracket,
    exp.Dot, exp.And, exp.Or, exp.Not, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE,
    exp.NullSafeEQ, exp.NullSafeNEQ, exp.Is, exp.In, exp.Between, exp.Like, exp.Escape, exp.Add,
    exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg, exp.DPipe, exp.Case, exp.If, exp.Cast,
    exp.TryCast, exp.DataType, exp.DataTypeParam, exp.Interval, exp.Var, exp.Window,
    exp.WindowSpec, exp.Exists, exp.Lambda, exp.Unnest, exp.Any, exp.All,
)  # fmt: skip

# Built-in functions whose DuckDB translation (by sqlglot) has Trino's meaning.
FUNCTIONS: dict[type[exp.Expr], str] = {
    # arithmetic
    exp.Abs: "abs", exp.Ceil: "ceil", exp.Floor: "floor", exp.Round: "round", exp.Sqrt: "sqrt",
    exp.Pow: "power", exp.Exp: "exp", exp.Ln: "ln", exp.Log: "log", exp.Sign: "sign",
    exp.Cbrt: "cbrt", exp.Degrees: "degrees", exp.Radians: "radians", exp.Pi: "pi",
    exp.Rand: "random", exp.Greatest: "greatest", exp.Least: "least", exp.Trunc: "truncate",
    # aggregates
    exp.Avg: "avg", exp.Sum: "sum", exp.Min: "min", exp.Max: "max", exp.Count: "count",
    exp.Stddev: "stddev", exp.StddevPop: "stddev_pop", exp.StddevSamp: "stddev_samp",
    exp.Variance: "variance", exp.VariancePop: "var_pop", exp.ApproxQuantile: "approx_percentile",
    exp.ApproxDistinct: "approx_distinct", exp.AnyValue: "arbitrary", exp.ArgMax: "max_by",
    exp.ArgMin: "min_by", exp.LogicalAnd: "bool_and", exp.LogicalOr: "bool_or",
    exp.CountIf: "count_if", exp.ArrayAgg: "array_agg", exp.Corr: "corr",
    exp.CovarPop: "covar_pop", exp.CovarSamp: "covar_samp",
    # strings
    exp.Lower: "lower", exp.Upper: "upper", exp.Length: "length", exp.Concat: "concat",
    exp.Substring: "substr", exp.Replace: "replace", exp.Trim: "trim", exp.Pad: "lpad/rpad",
    exp.Split: "split", exp.StrPosition: "strpos", exp.Reverse: "reverse",
    exp.StartsWith: "starts_with", exp.RegexpLike: "regexp_like", exp.Chr: "chr",
    exp.SplitPart: "split_part", exp.Levenshtein: "levenshtein_distance",
    # conditionals
    exp.Coalesce: "coalesce", exp.Nullif: "nullif",
    # date and time
    exp.CurrentTimestamp: "now", exp.CurrentDate: "current_date", exp.TimestampTrunc: "date_trunc",
    exp.DateTrunc: "date_trunc", exp.DateAdd: "date_add", exp.DateDiff: "date_diff",
    exp.Extract: "extract", exp.Year: "year", exp.Month: "month", exp.Day: "day", exp.Hour: "hour",
    exp.Minute: "minute", exp.Second: "second", exp.DayOfWeekIso: "day_of_week",
    exp.DayOfYear: "day_of_year", exp.WeekOfYear: "week", exp.Quarter: "quarter",
    exp.UnixToTime: "from_unixtime", exp.TimeToUnix: "to_unixtime",
    exp.FromISO8601Timestamp: "from_iso8601_timestamp", exp.TimeToStr: "date_format",
    exp.Date: "date",
    # arrays
    exp.ArraySize: "cardinality", exp.ArrayContains: "contains", exp.ArrayMax: "array_max",
    exp.ArrayMin: "array_min", exp.ArrayDistinct: "array_distinct", exp.ArrayToString: "array_join",
    exp.ArraySort: "array_sort", exp.ArrayFilter: "filter", exp.Transform: "transform",
    exp.Flatten: "flatten", exp.GenerateSeries: "sequence",
    # window functions
    exp.RowNumber: "row_number", exp.Rank: "rank", exp.DenseRank: "dense_rank", exp.Lag: "lag",
    exp.Lead: "lead", exp.FirstValue: "first_value", exp.LastValue: "last_value",
    exp.NthValue: "nth_value", exp.Ntile: "ntile", exp.PercentRank: "percent_rank",
    exp.CumeDist: "cume_dist",
}  # fmt: skip

# Timestream's own functions (sqlglot parses them as anonymous calls): name -> allowed arities.
TIMESTREAM_FUNCTIONS: dict[str, tuple[int, ...]] = {
    "ago": (1,),
    "bin": (2,),
    "create_time_series": (2,),
    "interpolate_linear": (2,),
    "interpolate_locf": (2,),
    "interpolate_fill": (3,),
    "from_milliseconds": (1,),
    "to_milliseconds": (1,),
    "from_nanoseconds": (1,),
    "to_nanoseconds": (1,),
    "__tsl_duration": (1,),
}

# Known Timestream functions this store does not implement (refused with that reason).
NOT_IMPLEMENTED = {
    "interpolate_spline_cubic", "derivative_rate", "integral", "time_series", "max_by_timeseries",
    "approx_percentile_timeseries", "make_time_series", "correlate_pearson", "correlate_spearman",
    "correlate_kendall", "dtw_distance",
}  # fmt: skip

CAST_TYPES = {
    exp.DType.BIGINT, exp.DType.INT, exp.DType.SMALLINT, exp.DType.TINYINT, exp.DType.DOUBLE,
    exp.DType.FLOAT, exp.DType.DECIMAL, exp.DType.VARCHAR, exp.DType.TEXT, exp.DType.CHAR,
    exp.DType.BOOLEAN, exp.DType.TIMESTAMP, exp.DType.DATE, exp.DType.ARRAY,
}  # fmt: skip

# ------------------------------------------------------------------------------- DuckDB templates
# The DuckDB text behind constructs sqlglot cannot write for us. Each is a constant: its holes {0},
# {1} ... take the generated SQL of syntax-tree arguments (values such as a duration's nanoseconds
# go in as literal nodes, never into the text), and the generator refuses any template that is not
# one of these (TEMPLATES, at the end).

MAX_SEQUENCE_ENTRIES = 10_000  # Trino's limit on the entries sequence() returns
_TOO_MANY = f"error('sequence() would return more than {MAX_SEQUENCE_ENTRIES:,} entries')"
_WRONG_WAY = (
    "error('sequence() stop value should be greater than or equal to start value if step is greater than "
    "zero, otherwise stop should be less than or equal to start')"
)

# sequence(start, stop, step) over integers; {2} is the step (default: 1 upwards, -1 downwards). The
# checks sit inside the stop argument, so that a refused sequence fails before any of it is built.
SEQUENCE_INT = (
    "generate_series({0}, CASE WHEN {2} = 0 THEN error('the step of sequence() must not be zero') "
    "WHEN ({2} > 0 AND {0} > {1}) OR ({2} < 0 AND {0} < {1}) THEN " + _WRONG_WAY + " "
    "WHEN ({1} - {0}) // {2} >= " + str(MAX_SEQUENCE_ENTRIES) + " THEN " + _TOO_MANY + " ELSE {1} END, {2})"
)
SEQUENCE_INT_DEFAULT_STEP = "CASE WHEN {0} <= {1} THEN 1 ELSE -1 END"

# sequence over timestamps with a step in nanoseconds ({2}), exact to the nanosecond.
SEQUENCE_NS = (
    "list_transform(generate_series(epoch_ns({0}), CASE WHEN {2} <= 0 THEN error('the step of sequence() "
    "must be positive') WHEN epoch_ns({0}) > epoch_ns({1}) THEN " + _WRONG_WAY + " "
    "WHEN (epoch_ns({1}) - epoch_ns({0})) // {2} >= " + str(MAX_SEQUENCE_ENTRIES) + " THEN " + _TOO_MANY + " "
    "ELSE epoch_ns({1}) END, {2}), lambda __tsl_n: make_timestamp_ns(__tsl_n))"
)

# sequence over timestamps or dates with an INTERVAL step that is not a fixed duration ({2}); its
# size is estimated with the step's length from 1970-01-01 (a month counts 31 days).
SEQUENCE_INTERVAL = (
    "generate_series({0}, CASE WHEN epoch_ns(TIMESTAMP_NS '1970-01-01' + {2}) <= 0 THEN error('the step of "
    "sequence() must be positive') WHEN epoch_ns(CAST({0} AS TIMESTAMP_NS)) > epoch_ns(CAST({1} AS TIMESTAMP_NS)) "
    "THEN "
    + _WRONG_WAY
    + " WHEN (epoch_ns(CAST({1} AS TIMESTAMP_NS)) - epoch_ns(CAST({0} AS TIMESTAMP_NS))) "
    "// epoch_ns(TIMESTAMP_NS '1970-01-01' + {2}) >= "
    + str(MAX_SEQUENCE_ENTRIES)
    + " THEN "
    + _TOO_MANY
    + " "
    "ELSE {1} END, {2})"
)

# bin(t, d): round down to a multiple of d ({1}) nanoseconds since the epoch (floor, also before 1970).
BIN_NS = "make_timestamp_ns(epoch_ns({0}) - ((epoch_ns({0}) % {1}) + {1}) % {1})"

# Sorted after aggregating (by time, then value where times repeat): cheaper in DuckDB than an
# ordered aggregate, and a repeated time gives the same series on every run.
CREATE_TIME_SERIES = (
    "list_sort(list({'time': CAST({0} AS TIMESTAMP_NS), 'value': {1}}) "
    "FILTER (WHERE {0} IS NOT NULL AND {1} IS NOT NULL))"
)

MINUS = "({0} - {1})"  # ago(<interval>): now minus it
DIVIDE = "divide({0}, {1})"  # Trino's integer division truncates towards zero
DATE_DIFF = "date_sub({0}, {1}, {2})"  # date_diff(unit, a, b): {0} the unit as a string literal
FROM_EPOCH_UNITS = "make_timestamp_ns(CAST({0} AS BIGINT) * {1})"  # from_milliseconds: {1} = 1000000
FROM_UNIXTIME = "make_timestamp_ns(CAST(round({0} * 1000000000) AS BIGINT))"
FROM_ISO8601 = "CAST(timezone('UTC', CAST({0} AS TIMESTAMPTZ)) AS TIMESTAMP_NS)"
INTERVAL_IN_UNITS = "CAST(epoch({0}) * {1} AS BIGINT)"  # to_milliseconds(interval): {1} = 1000
EPOCH_NS = "epoch_ns({0})"
EPOCH_IN_UNITS = "((epoch_ns({0}) - ((epoch_ns({0}) % {1}) + {1}) % {1}) // {1})"  # floor division by {1}
ROUND_PLACES = "divide(round({0} * {1}, 0), {1})"  # Trino's round(x, n) for doubles; {1} = 10^n
MICROSECONDS = "to_microseconds({0})"
LATERAL = "LATERAL {0}"
UNNEST_ARRAY = "unnest({0})"
UNNEST_ROWS = "unnest({0}, recursive := true)"
UNNEST_ORDINAL = "unnest(range(1, len({0}) + 1))"

# Interpolation. The time series is a list of {time, value} structs sorted by time; the sequence a
# list of timestamps, sorted and de-duplicated first. For every sequence point p (index j) we need
# cnt = how many data points have time <= p. Sorting data keys {t, 0} and sequence keys {t, 1}
# together once (list_grade_up twice gives each element's rank; data sorts before an equal sequence
# point) yields it for all points in O((n + m) log(n + m)): cnt_j = rank(sequence point j) - j.
# The neighbours are then ts[cnt] (at or before p) and ts[cnt + 1] (after p); index 0 and n + 1 are
# NULL. Few lambdas on purpose: DuckDB's planning time grows with each one. {0} is the time series,
# {1} the sequence, {2} the fill value.
_INTERP_FRAME = (
    "list_transform([{'ts': {0}, 's': list_sort(list_distinct(CAST({1} AS TIMESTAMP_NS[]))), 'f': {2}}], "
    "lambda __tsl_a: list_transform([list_transform(list_select(list_grade_up(list_grade_up(list_concat("
    "list_transform(__tsl_a.ts, lambda __tsl_e: {'t': __tsl_e.time, 'k': 0}), "
    "list_transform(__tsl_a.s, lambda __tsl_e: {'t': __tsl_e, 'k': 1})))), "
    "range(len(__tsl_a.ts) + 1, len(__tsl_a.ts) + len(__tsl_a.s) + 1)), "
    "lambda __tsl_r, __tsl_j: __tsl_r - __tsl_j)], "
    "lambda __tsl_c: list_filter(list_transform(__tsl_a.s, lambda __tsl_p, __tsl_j: CASE {body} END), "
    "lambda __tsl_x: __tsl_x IS NOT NULL))[1])[1]"
)

_N = "__tsl_c[__tsl_j]"
_L = f"__tsl_a.ts[{_N}]"
_R = f"__tsl_a.ts[{_N} + 1]"
_LINEAR_BODY = (
    f"WHEN {_N} = 0 THEN NULL "
    f"WHEN {_L}.time = __tsl_p THEN {{'time': __tsl_p, 'value': CAST({_L}.value AS DOUBLE)}} "
    f"WHEN {_N} = len(__tsl_a.ts) THEN NULL "
    f"ELSE {{'time': __tsl_p, 'value': CAST({_L}.value AS DOUBLE) + "
    f"(CAST({_R}.value AS DOUBLE) - CAST({_L}.value AS DOUBLE)) * "
    f"CAST(epoch_ns(__tsl_p) - epoch_ns({_L}.time) AS DOUBLE) / "
    f"CAST(epoch_ns({_R}.time) - epoch_ns({_L}.time) AS DOUBLE)}}"
)
_LOCF_BODY = f"WHEN {_N} = 0 THEN NULL ELSE {{'time': __tsl_p, 'value': {_L}.value}}"
_FILL_BODY = (
    f"WHEN {_N} > 0 AND {_L}.time = __tsl_p THEN {{'time': __tsl_p, 'value': {_L}.value}} "
    "ELSE {'time': __tsl_p, 'value': __tsl_a.f}"
)

INTERPOLATE = {
    "interpolate_linear": _INTERP_FRAME.replace("{body}", _LINEAR_BODY),
    "interpolate_locf": _INTERP_FRAME.replace("{body}", _LOCF_BODY),
    "interpolate_fill": _INTERP_FRAME.replace("{body}", _FILL_BODY),
}
# interpolate_xxx(timeseries, timestamp) -> double: the value at the one point ({1} is a one-point array)
INTERPOLATE_ONE = {name: f"({body})[1].value" for name, body in INTERPOLATE.items()}

TEMPLATES = frozenset(
    {
        SEQUENCE_INT, SEQUENCE_INT_DEFAULT_STEP, SEQUENCE_NS, SEQUENCE_INTERVAL, BIN_NS, CREATE_TIME_SERIES,
        MINUS, DIVIDE, DATE_DIFF, FROM_EPOCH_UNITS, FROM_UNIXTIME, FROM_ISO8601, INTERVAL_IN_UNITS, EPOCH_NS,
        EPOCH_IN_UNITS, ROUND_PLACES, MICROSECONDS, LATERAL, UNNEST_ARRAY, UNNEST_ROWS, UNNEST_ORDINAL,
        *INTERPOLATE.values(), *INTERPOLATE_ONE.values(),
    }
)  # fmt: skip
