"""What the query language accepts, and the DuckDB text behind Timestream's own functions.

Everything not listed here is refused with a ValidationException naming it: a clear "not
supported" is always better than an answer that differs from Timestream's.

This module passes 400 lines because it is the one registry: what validation accepts and every
DuckDB text the translation may write (TEMPLATES). Functions that need more than a template or two
live in a module of their concern (timeseries, interpolation, intervals, numeric, datetimes, arrays,
strings, typeof), whose templates are registered here.
"""

from __future__ import annotations

import re

from sqlglot import exp

from timestream_local.query import (
    arrays,
    datetimes,
    interpolation,
    intervals,
    numeric,
    strings,
    timeseries,
    typeof,
)

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
    exp.WindowSpec, exp.Exists, exp.Lambda, exp.Unnest, exp.Any, exp.All, exp.Values,
    exp.IgnoreNulls, exp.RespectNulls, exp.Rollup, exp.Cube, exp.GroupingSets, exp.BitwiseAnd, exp.BitwiseOr,
    exp.BitwiseXor, exp.BitwiseNot, exp.Struct, exp.ColumnDef,
)  # fmt: skip

# Built-in functions whose DuckDB translation (by sqlglot) has Trino's meaning.
FUNCTIONS: dict[type[exp.Expr], str] = {
    # arithmetic
    exp.Abs: "abs", exp.Ceil: "ceil/ceiling", exp.Floor: "floor", exp.Round: "round", exp.Sqrt: "sqrt",
    exp.Pow: "power/pow", exp.Exp: "exp", exp.Ln: "ln", exp.Log: "log2/log10/log", exp.Sign: "sign",
    exp.Cbrt: "cbrt", exp.Degrees: "degrees", exp.Radians: "radians", exp.Pi: "pi",
    exp.Rand: "random/rand", exp.Greatest: "greatest", exp.Least: "least", exp.Trunc: "truncate",
    # aggregates
    exp.Avg: "avg", exp.Sum: "sum", exp.Min: "min", exp.Max: "max", exp.Count: "count",
    exp.Stddev: "stddev", exp.StddevPop: "stddev_pop", exp.StddevSamp: "stddev_samp",
    exp.Variance: "variance/var_samp", exp.VariancePop: "var_pop", exp.ApproxQuantile: "approx_percentile",
    exp.ApproxDistinct: "approx_distinct", exp.AnyValue: "arbitrary", exp.ArgMax: "max_by",
    exp.ArgMin: "min_by", exp.LogicalAnd: "bool_and", exp.LogicalOr: "bool_or",
    exp.CountIf: "count_if", exp.ArrayAgg: "array_agg", exp.Corr: "corr",
    exp.CovarPop: "covar_pop", exp.CovarSamp: "covar_samp",
    # strings
    exp.Lower: "lower", exp.Upper: "upper", exp.Length: "length", exp.Concat: "concat",
    exp.Substring: "substr/substring", exp.Replace: "replace", exp.Trim: "trim/ltrim/rtrim", exp.Pad: "lpad/rpad",
    exp.Split: "split", exp.StrPosition: "strpos/position", exp.Reverse: "reverse",
    exp.StartsWith: "starts_with", exp.RegexpLike: "regexp_like", exp.Chr: "chr",
    exp.SplitPart: "split_part", exp.Levenshtein: "levenshtein_distance",
    # conditionals
    exp.Coalesce: "coalesce", exp.Nullif: "nullif",
    # date and time
    exp.CurrentTimestamp: "now/current_timestamp", exp.CurrentDate: "current_date", exp.TimestampTrunc: "date_trunc",
    exp.DateTrunc: "date_trunc", exp.DateAdd: "date_add", exp.DateDiff: "date_diff",
    exp.Extract: "extract", exp.Year: "year", exp.Month: "month", exp.Day: "day", exp.Hour: "hour",
    exp.Minute: "minute", exp.Second: "second", exp.DayOfWeekIso: "day_of_week/dow",
    exp.DayOfYear: "day_of_year/doy", exp.WeekOfYear: "week/week_of_year", exp.Quarter: "quarter",
    exp.UnixToTime: "from_unixtime", exp.TimeToUnix: "to_unixtime",
    exp.FromISO8601Timestamp: "from_iso8601_timestamp", exp.TimeToStr: "date_format",
    exp.Date: "date", exp.LastDay: "last_day_of_month", exp.CurrentTimezone: "current_timezone",
    # arrays
    exp.ArraySize: "cardinality", exp.ArrayContains: "contains", exp.ArrayMax: "array_max",
    exp.ArrayMin: "array_min", exp.ArrayDistinct: "array_distinct", exp.ArrayToString: "array_join",
    exp.ArraySort: "array_sort", exp.ArrayFilter: "filter", exp.Transform: "transform",
    exp.Flatten: "flatten", exp.GenerateSeries: "sequence", exp.Reduce: "reduce",
    exp.ArrayIntersect: "array_intersect", exp.ArrayExcept: "array_except", exp.ArrayRemove: "array_remove",
    exp.ArrayPosition: "array_position", exp.Repeat: "repeat", exp.ArraySlice: "slice",
    # trigonometry, bitwise, more aggregates, regular expressions, dates
    exp.Acos: "acos", exp.Asin: "asin", exp.Atan: "atan", exp.Atan2: "atan2", exp.Cos: "cos",
    exp.Cosh: "cosh", exp.Sin: "sin", exp.Tan: "tan", exp.Tanh: "tanh", exp.IsNan: "is_nan",
    exp.BitwiseAnd: "bitwise_and", exp.BitwiseOr: "bitwise_or", exp.BitwiseXor: "bitwise_xor",
    exp.BitwiseNot: "bitwise_not", exp.BitwiseAndAgg: "bitwise_and_agg", exp.BitwiseOrAgg: "bitwise_or_agg",
    exp.RegrSlope: "regr_slope", exp.RegrIntercept: "regr_intercept",
    exp.RegexpExtract: "regexp_extract", exp.RegexpExtractAll: "regexp_extract_all",
    exp.RegexpReplace: "regexp_replace", exp.RegexpSplit: "regexp_split",
    exp.DayOfMonth: "day_of_month", exp.YearOfWeek: "year_of_week", exp.FromISO8601Date: "from_iso8601_date",
    # window functions
    exp.RowNumber: "row_number", exp.Rank: "rank", exp.DenseRank: "dense_rank", exp.Lag: "lag",
    exp.Lead: "lead", exp.FirstValue: "first_value", exp.LastValue: "last_value",
    exp.NthValue: "nth_value", exp.Ntile: "ntile", exp.PercentRank: "percent_rank",
    exp.CumeDist: "cume_dist",
    # number bases, buckets, moments (numeric.py); the clock and date_parse (datetimes.py, translate.py)
    **numeric.TYPED, exp.CurrentTime: "current_time", exp.Localtime: "localtime",
    exp.Localtimestamp: "localtimestamp", exp.StrToTime: "date_parse", exp.Shuffle: "shuffle", exp.Typeof: "typeof",
}  # fmt: skip

# Functions of Timestream's reference this store refuses, with the reason its message gives.
_NO_MAP = (
    "a MAP has no type in Timestream's query answers (ColumnInfo has scalars, arrays, rows and time series)"
)
REFUSED_WHY = {
    "try": "DuckDB cannot catch, inside an expression, the checks that raise Trino's errors; test the "
    "value first instead (CASE WHEN y <> 0 THEN x / y END)",
    "map_agg": _NO_MAP,
    "histogram": _NO_MAP,
}

# The names a client may write, as a call, for nodes that are not in FUNCTIONS (sqlglot also reads
# other dialects' names into them: iif() as IF, struct() as ROW, date_to_date_str() as CAST ...);
# an empty tuple: Trino has no call of that name at all (like(a, b), array(1)).
CALL_NAMES: dict[type[exp.Expr], tuple[str, ...]] = {
    exp.If: ("if",), exp.Struct: ("row",), exp.Cast: ("cast",), exp.TryCast: ("try_cast",),
    exp.Mod: ("mod",), exp.Exists: ("exists",), exp.Bracket: ("element_at",), exp.Like: (), exp.Array: (),
}  # fmt: skip


def call_names(node_type: type[exp.Expr]) -> tuple[str, ...] | None:
    """The names under which a call may build a node of this type; None: not checked by name."""
    if node_type in FUNCTIONS:
        return tuple(FUNCTIONS[node_type].split("/"))
    return CALL_NAMES.get(node_type)


# Timestream's own functions (sqlglot parses them as anonymous calls): name -> allowed arities.
TIMESTREAM_FUNCTIONS: dict[str, tuple[int, ...]] = {
    "ago": (1,),
    "bin": (2,),
    "create_time_series": (2,),
    "interpolate_linear": (2,),
    "interpolate_locf": (2,),
    "interpolate_fill": (3,),
    "interpolate_spline_cubic": (2,),
    "from_milliseconds": (1,),
    "to_milliseconds": (1,),
    "from_nanoseconds": (1,),
    "to_nanoseconds": (1,),
    "geometric_mean": (1,),
    "e": (0,),
    "infinity": (0,),
    "nan": (0,),
    "is_finite": (1,),
    "is_infinite": (1,),
    "codepoint": (1,),
    "millisecond": (1,),
    "yow": (1,),
    "every": (1,),
    "arrays_overlap": (2,),
    "hamming_distance": (2,),
    "array_union": (2,),
    "__tsl_duration": (1,),
    **timeseries.ARITIES,
    **numeric.ARITIES,
    **datetimes.ARITIES,
    **arrays.ARITIES,
}


CAST_TYPES = {
    exp.DType.BIGINT, exp.DType.INT, exp.DType.SMALLINT, exp.DType.TINYINT, exp.DType.DOUBLE,
    exp.DType.FLOAT, exp.DType.DECIMAL, exp.DType.VARCHAR, exp.DType.TEXT, exp.DType.CHAR,
    exp.DType.BOOLEAN, exp.DType.TIMESTAMP, exp.DType.DATE, exp.DType.ARRAY, exp.DType.TIME, exp.DType.STRUCT,
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


# ------------------------------------------------------------------------ Trino's meaning
# Templates for built-ins whose DuckDB namesake means something else (issue 14, item 5). Where the
# meaning depends on an argument's type and the query text does not settle it (Kinds.scalar_type),
# the template asks DuckDB: a CASE on typeof(x) is folded when DuckDB binds the query, so only the
# branch for x's type is ever run. Every branch must still bind for every type (hence TRY_CAST and
# CAST(x AS VARCHAR) in branches meant for other types), and the CASE has the union of its branches'
# types: cast_to_type(v, x) gives v the type of x (x is only bound, never evaluated). A template
# never puts a hole inside the body of one of its lambdas (a name in the argument could be captured
# by the lambda's parameter): values a lambda needs are bound outside it, e.g. [{'a': {0}}].

_INTEGERS = (
    "('TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', "
    "'UHUGEINT')"
)
_FLOATS = "('DOUBLE', 'FLOAT')"

# x / y: IEEE 754 when either side is a double (x / 0.0 is Infinity or NaN), truncating integer
# division (an error for / 0) otherwise
DIVIDE_FLOATING = "({0} / {1})"
DIVIDE_ANY = (
    f"CASE WHEN typeof({{0}}) IN {_FLOATS} OR typeof({{1}}) IN {_FLOATS} "
    "THEN cast_to_type({0} / {1}, divide({0}, {1})) ELSE divide({0}, {1}) END"
)
# ceil/floor keep their argument's type (ceil of an integer is the integer)
CEIL_ANY = f"CASE WHEN typeof({{0}}) IN {_INTEGERS} THEN {{0}} ELSE cast_to_type(ceil({{0}}), {{0}}) END"
FLOOR_ANY = f"CASE WHEN typeof({{0}}) IN {_INTEGERS} THEN {{0}} ELSE cast_to_type(floor({{0}}), {{0}}) END"
# sign keeps its argument's type; Math.signum keeps -0.0 and NaN
SIGN = "CASE WHEN {0} = 0 OR isnan({0}) THEN {0} ELSE cast_to_type(sign({0}), {0}) END"
SIGN_INTEGER = "cast_to_type(sign({0}), {0})"
# sum of integers is a BIGINT that overflows with an error (DuckDB sums into a HUGEINT); {0} is the
# whole aggregate (with FILTER), {1} its argument: min({1} * BIGINT) has the type Trino's sum has
_OUTSIDE_BIGINT = (
    "NOT BETWEEN -9223372036854775808 AND 9223372036854775807 THEN error('bigint addition overflow')"
)
SUM_BIGINT = "CASE WHEN {0} " + _OUTSIDE_BIGINT + " ELSE CAST({0} AS BIGINT) END"
SUM_ANY = (
    "cast_to_type(CASE WHEN typeof({0}) = 'HUGEINT' AND TRY_CAST({0} AS HUGEINT) "
    + _OUTSIDE_BIGINT
    + " ELSE {0} END, min({1} * CAST(0 AS BIGINT)))"
)

# -- casts. Java's String.trim() (which Trino applies before parsing a number) drops every character
# up to U+0020.
_INT_TEXT = r"'[\x00-\x20]*[+-]?[0-9]+[\x00-\x20]*'"
_DOUBLE_TEXT = (
    r"'[\x00-\x20]*[+-]?(NaN|Infinity|([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?[fFdD]?)[\x00-\x20]*'"
)
_DOUBLE_DIGITS = r"'[+-]?(NaN|Infinity|([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?)'"


def _cannot(text: str, name: str) -> str:
    return f"error('Cannot cast ''' || {text} || ''' to {name}')"


def _to_integer(duck: str, name: str, text: str, try_: bool) -> str:
    """VARCHAR -> an integer type the way Long.parseLong(s.trim()) reads it."""
    if try_:
        return (f"CASE WHEN regexp_full_match({text}, {_INT_TEXT}) "
                f"THEN TRY_CAST(regexp_extract({text}, '[+-]?[0-9]+') AS {duck}) END")  # fmt: skip
    return (f"CASE WHEN {text} IS NULL THEN NULL WHEN regexp_full_match({text}, {_INT_TEXT}) "
            f"THEN CAST(regexp_extract({text}, '[+-]?[0-9]+') AS {duck}) ELSE {_cannot(text, name)} END")  # fmt: skip


def _to_floating(duck: str, name: str, text: str, try_: bool) -> str:
    """VARCHAR -> DOUBLE/REAL the way Double.parseDouble reads it (no 'inf' or 'nan')."""
    value = f"{'TRY_CAST' if try_ else 'CAST'}(regexp_extract({text}, {_DOUBLE_DIGITS}) AS {duck})"
    otherwise = "NULL" if try_ else _cannot(text, name)
    return (f"CASE WHEN {text} IS NULL THEN NULL WHEN regexp_full_match({text}, {_DOUBLE_TEXT}) "
            f"THEN {value} ELSE {otherwise} END")  # fmt: skip


def _to_boolean(text: str, try_: bool) -> str:
    """VARCHAR -> BOOLEAN: only t, true, f, false, 1, 0 (any case), as Trino reads it."""
    otherwise = "NULL" if try_ else _cannot(text, "BOOLEAN")
    return (f"CASE WHEN {text} IS NULL THEN NULL WHEN upper({text}) IN ('T', 'TRUE', '1') THEN true "
            f"WHEN upper({text}) IN ('F', 'FALSE', '0') THEN false ELSE {otherwise} END")  # fmt: skip


# A double as Java's Double.toString writes it (and so Trino's CAST to VARCHAR), from DuckDB's
# shortest text of it ({s}): NaN, Infinity, plain digits for 1e-3 <= |x| < 1e7, otherwise one digit,
# a fraction and an exponent (1.0E7, 1.2345E-4). It only reads text, so it binds for any type.
_JAVA_DOUBLE = (
    "CASE WHEN {s} IS NULL THEN NULL WHEN {s} IN ('nan', '-nan') THEN 'NaN' WHEN {s} = 'inf' THEN 'Infinity' "
    "WHEN {s} = '-inf' THEN '-Infinity' WHEN abs(CAST({s} AS DOUBLE)) = 0 "
    "OR (abs(CAST({s} AS DOUBLE)) >= 0.001 AND abs(CAST({s} AS DOUBLE)) < 10000000) THEN {s} "
    "ELSE list_transform([regexp_extract({s}, '^(-?)([0-9]+)[.]?([0-9]*)(e([+-]?[0-9]+))?$', "
    "['g', 'i', 'f', 'x', 'e'])], lambda __tsl_m: list_transform([{'d': trim(__tsl_m['i'] || __tsl_m['f'], '0'), "
    "'e': coalesce(TRY_CAST(__tsl_m['e'] AS INTEGER), 0) + length(__tsl_m['i']) - 1 "
    "- (length(__tsl_m['i'] || __tsl_m['f']) - length(ltrim(__tsl_m['i'] || __tsl_m['f'], '0')))}], "
    "lambda __tsl_n: __tsl_m['g'] || substring(__tsl_n['d'], 1, 1) || '.' "
    "|| coalesce(nullif(substring(__tsl_n['d'], 2), ''), '0') || 'E' || CAST(__tsl_n['e'] AS VARCHAR))[1])[1] END"
)
_JAVA_OF = (
    "list_transform([CAST({0} AS VARCHAR)], lambda __tsl_s: "
    + _JAVA_DOUBLE.replace("{s}", "__tsl_s")
    + ")[1]"
)
VARCHAR_OF_FLOATING = _JAVA_OF
VARCHAR_OF_ANY = f"CASE WHEN typeof({{0}}) IN {_FLOATS} THEN {_JAVA_OF} ELSE CAST({{0}} AS VARCHAR) END"


def _cast_family(duck: str, name: str, try_: bool) -> dict[str, str]:
    """The templates of CAST (or TRY_CAST) to one type, by what the argument is known to be."""
    cast = "TRY_CAST" if try_ else "CAST"
    plain = f"{cast}({{0}} AS {duck})"
    if duck in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT"):
        text = _to_integer(duck, name, "CAST({0} AS VARCHAR)", try_)
        return {
            "floating": f"{cast}(round({{0}}) AS {duck})",  # Trino rounds half away from zero, DuckDB to even
            "varchar": _to_integer(duck, name, "{0}", try_),
            "any": (f"CASE WHEN typeof({{0}}) IN {_FLOATS} THEN {cast}(round(TRY_CAST({{0}} AS DOUBLE)) AS {duck}) "
                    f"WHEN typeof({{0}}) = 'VARCHAR' THEN {text} ELSE {plain} END"),
        }  # fmt: skip
    if duck in ("DOUBLE", "FLOAT"):
        varchar, text = (
            _to_floating(duck, name, "{0}", try_),
            _to_floating(duck, name, "CAST({0} AS VARCHAR)", try_),
        )
    else:  # BOOLEAN
        varchar, text = _to_boolean("{0}", try_), _to_boolean("CAST({0} AS VARCHAR)", try_)
    return {"varchar": varchar, "any": f"CASE WHEN typeof({{0}}) = 'VARCHAR' THEN {text} ELSE {plain} END"}


# DuckDB type -> (CAST templates, TRY_CAST templates); Trino's name for the type in messages
CASTS = {
    duck: (_cast_family(duck, name, False), _cast_family(duck, name, True))
    for duck, name in (("BIGINT", "BIGINT"), ("INTEGER", "INT"), ("SMALLINT", "SMALLINT"),
                       ("TINYINT", "TINYINT"), ("DOUBLE", "DOUBLE"), ("FLOAT", "REAL"), ("BOOLEAN", "BOOLEAN"))
}  # fmt: skip
# CAST(x AS VARCHAR(n)), {1} = n: a string is cut to n characters; anything else, written as CAST(x
# AS VARCHAR) writes it, must fit
VARCHAR_N = (
    "CASE WHEN typeof({0}) = 'VARCHAR' THEN substring(CAST({0} AS VARCHAR), 1, {1}) "
    "ELSE list_transform([{'v': "
    + VARCHAR_OF_ANY
    + ", 'n': {1}}], lambda __tsl_v: CASE WHEN length(__tsl_v['v']) "
    "> __tsl_v['n'] THEN error('Value ' || __tsl_v['v'] || ' cannot be represented as varchar(' || __tsl_v['n'] || ')') "
    "ELSE __tsl_v['v'] END)[1] END"
)

# -- strings
SPLIT_PART = (
    "CASE WHEN {2} < 1 THEN error('Index must be greater than zero') "
    "WHEN {1} = '' THEN CASE WHEN {2} <= length({0}) THEN substring({0}, {2}, 1) END "
    "WHEN {2} > (length({0}) - length(replace({0}, {1}, ''))) // length({1}) + 1 THEN NULL "
    "ELSE split_part({0}, {1}, {2}) END"
)
_PAD_CHECKS = (
    "CASE WHEN {1} < 0 OR {1} > 2147483647 THEN error('Target length must be in the range [0..2147483647]') "
    "WHEN {2} = '' THEN error('Padding string must not be empty') "
)
LPAD = _PAD_CHECKS + "ELSE lpad({0}, {1}, {2}) END"
RPAD = _PAD_CHECKS + "ELSE rpad({0}, {1}, {2}) END"
# substr(s, start[, length]): start 0, a start before the beginning, or a length <= 0 give ''
SUBSTR = "CASE WHEN {1} = 0 OR -({1}) > length({0}) THEN '' ELSE substring({0}, {1}) END"
SUBSTR_LENGTH = (
    "CASE WHEN {1} = 0 OR {2} <= 0 OR -({1}) > length({0}) THEN '' ELSE substring({0}, {1}, {2}) END"
)
# trim/ltrim/rtrim without characters remove Java's whitespace (Character.isWhitespace): not the
# no-break spaces U+00A0, U+2007 and U+202F
_WHITESPACE = " || ".join(
    f"chr({code})"
    for code in (*range(9, 14), *range(28, 33), 0x1680, *range(0x2000, 0x2007), *range(0x2008, 0x200B),
                 0x2028, 0x2029, 0x205F, 0x3000)
)  # fmt: skip
TRIM_WHITESPACE = f"trim({{0}}, {_WHITESPACE})"
LTRIM_WHITESPACE = f"ltrim({{0}}, {_WHITESPACE})"
RTRIM_WHITESPACE = f"rtrim({{0}}, {_WHITESPACE})"
# upper as Character.toUpperCase per code point: U+00DF (sharp s) has no one-letter upper case in
# Java and stays; DuckDB makes it U+1E9E. The only difference (compared over every code point).
UPPER = (
    "CASE WHEN strpos({0}, 'ß') > 0 THEN array_to_string(list_transform(str_split({0}, 'ß'), "
    "lambda __tsl_p: upper(__tsl_p)), 'ß') ELSE upper({0}) END"
)
# '||' and concat() when an operand's type is not known: anything but a string (or an array, which
# DuckDB concatenates or refuses itself) is refused, as Trino refuses it. {0} is the condition.
NOT_TEXT = "(typeof({0}) NOT IN ('VARCHAR', '\"NULL\"') AND typeof({0}) NOT LIKE '%[]')"
CONCAT_CHECKED = (
    "CASE WHEN {0} THEN error('''||'' and concat() take strings (or arrays): Trino does not convert "
    "numbers, booleans or timestamps to varchar; CAST them to VARCHAR') ELSE {1} END"
)
ARRAY_APPEND = "list_append({0}, {1})"
ARRAY_PREPEND = "list_prepend({0}, {1})"
ARRAY_REVERSE = "list_reverse({0})"

# -- arrays
SUBSCRIPT = (
    "CASE WHEN {1} = 0 THEN error('SQL array indices start at 1') "
    "WHEN {1} < 0 THEN error('Array subscript is negative: ' || {1}) "
    "WHEN {1} > len({0}) THEN error('Array subscript must be less than or equal to array length: ' || {1} "
    "|| ' > ' || len({0})) ELSE {0}[{1}] END"
)
ELEMENT_AT = (
    "CASE WHEN {1} = 0 THEN error('SQL array indices start at 1') WHEN abs({1}) > len({0}) THEN NULL "
    "ELSE {0}[{1}] END"
)
CONTAINS = (
    "CASE WHEN {0} IS NULL OR {1} IS NULL THEN NULL WHEN array_contains({0}, {1}) THEN true "
    "WHEN list_count({0}) < len({0}) THEN NULL ELSE false END"
)
ARRAY_MAX = "CASE WHEN list_count({0}) < len({0}) THEN NULL ELSE list_max({0}) END"
ARRAY_MIN = "CASE WHEN list_count({0}) < len({0}) THEN NULL ELSE list_min({0}) END"
# the first occurrence of each value, in order, NULL included once: sort (value, position) pairs, keep
# the first of each run of equal values, and put their positions back in order (n log n)
ARRAY_DISTINCT = (
    "list_transform([{0}], lambda __tsl_l: list_transform([list_sort(list_transform(__tsl_l, "
    "lambda __tsl_x, __tsl_i: {'v': __tsl_x, 'i': __tsl_i}))], lambda __tsl_s: list_transform(list_sort("
    "list_filter(list_transform(__tsl_s, lambda __tsl_p, __tsl_k: CASE WHEN __tsl_k = 1 "
    "OR __tsl_p['v'] IS DISTINCT FROM __tsl_s[__tsl_k - 1].v THEN __tsl_p['i'] END), "
    "lambda __tsl_i: __tsl_i IS NOT NULL)), lambda __tsl_i: __tsl_l[__tsl_i]))[1])[1]"
)
# array_join: elements written as CAST(x AS VARCHAR) writes them (doubles as Java does); NULLs are
# skipped, or replaced by {2}
_JAVA_ELEMENTS = (
    "list_transform({a}, lambda __tsl_e: list_transform([CAST(__tsl_e AS VARCHAR)], lambda __tsl_s: "
    + _JAVA_DOUBLE.replace("{s}", "__tsl_s")
    + ")[1])"
)
ARRAY_JOIN = (
    "CASE WHEN typeof({0}) IN ('DOUBLE[]', 'FLOAT[]') THEN array_to_string("
    + _JAVA_ELEMENTS.replace("{a}", "{0}")
    + ", {1}) ELSE array_to_string({0}, {1}) END"
)
ARRAY_JOIN_REPLACING = (
    "array_to_string(list_transform([{'a': {0}, 'r': {2}}], lambda __tsl_j: list_transform("
    "CASE WHEN typeof(__tsl_j['a']) IN ('DOUBLE[]', 'FLOAT[]') THEN "
    + _JAVA_ELEMENTS.replace("{a}", "__tsl_j['a']")
    + " ELSE list_transform(__tsl_j['a'], lambda __tsl_e: CAST(__tsl_e AS VARCHAR)) END, "
    "lambda __tsl_e: coalesce(__tsl_e, __tsl_j['r'])))[1], {1})"
)
# sequence(date, date): one day up or down
SEQUENCE_DAYS = (
    "CAST(generate_series(CAST({0} AS TIMESTAMP), CAST(CASE WHEN abs({1} - {0}) >= "
    + str(MAX_SEQUENCE_ENTRIES)
    + " THEN "
    + _TOO_MANY
    + " ELSE {1} END AS TIMESTAMP), CASE WHEN {0} <= {1} THEN INTERVAL 1 DAY ELSE INTERVAL (-1) DAY END) AS DATE[])"
)
# sequence(start, stop, INTERVAL 'k' MONTH), k > 0: start + i * k months, each from start as Trino
# does it (adding a month to the previous entry drifts at month ends: 01-31, 02-29, 03-29 ...)
SEQUENCE_MONTHS = (
    "list_transform([{'a': {0}, 'b': {1}, 'k': {2}}], lambda __tsl_q: CASE WHEN __tsl_q['a'] > __tsl_q['b'] THEN "
    + _WRONG_WAY
    + " WHEN date_sub('month', __tsl_q['a'], __tsl_q['b']) // __tsl_q['k'] >= "
    + str(MAX_SEQUENCE_ENTRIES)
    + " THEN "
    + _TOO_MANY
    + " ELSE list_filter(list_transform(range(0, date_sub('month', __tsl_q['a'], __tsl_q['b']) // __tsl_q['k'] + 2), "
    "lambda __tsl_i: cast_to_type(__tsl_q['a'] + to_months(CAST(__tsl_i * __tsl_q['k'] AS INTEGER)), __tsl_q['a'])), "
    "lambda __tsl_d: __tsl_d <= __tsl_q['b']) END)[1]"
)
# {0} with the type of {1}: a DATE stays a DATE through date_add, + INTERVAL, date_trunc, sequence
KEEP_TYPE = "cast_to_type({0}, {1})"
KEEP_ELEMENT_TYPE = "cast_to_type({0}, [{1}])"
# ... and an error ({2}, a message) when {1} is a DATE: a DATE has no hours, minutes or seconds
NOT_ON_DATE = "CASE WHEN typeof({1}) = 'DATE' THEN error({2}) ELSE cast_to_type({0}, {1}) END"
DATE_TRUNC = "date_trunc({0}, {1})"

# -- date and time
FROM_UNIXTIME = (
    f"CASE WHEN typeof({{0}}) IN {_INTEGERS} THEN make_timestamp_ns(CAST({{0}} AS BIGINT) * 1000000000) "
    "ELSE make_timestamp_ns(CAST(round(CAST({0} AS DOUBLE) * 1000000000) AS BIGINT)) END"
)
STRFTIME = "strftime({0}, {1})"
# extract(field FROM x) for each of Trino's fields (DOW is ISO: Monday 1 ... Sunday 7)
EXTRACT = {
    "YEAR": "year({0})", "QUARTER": "quarter({0})", "MONTH": "month({0})", "WEEK": "weekofyear({0})",
    "DAY": "day({0})", "DAY_OF_MONTH": "day({0})", "DAY_OF_WEEK": "isodow({0})", "DOW": "isodow({0})",
    "DAY_OF_YEAR": "dayofyear({0})", "DOY": "dayofyear({0})", "YEAR_OF_WEEK": "isoyear({0})",
    "YOW": "isoyear({0})", "HOUR": "hour({0})", "MINUTE": "minute({0})", "SECOND": "second({0})",
}  # fmt: skip

# -- window functions: offsets that are not literals are checked per row
OFFSET_AT_LEAST_0 = "CASE WHEN {0} < 0 THEN error('Offset must be at least 0') ELSE {0} END"
OFFSET_AT_LEAST_1 = "CASE WHEN {0} < 1 THEN error('Offset must be at least 1') ELSE {0} END"

_TRINO = frozenset(
    {
        DIVIDE_FLOATING, DIVIDE_ANY, CEIL_ANY, FLOOR_ANY, SIGN, SIGN_INTEGER, SUM_BIGINT, SUM_ANY,
        VARCHAR_OF_FLOATING, VARCHAR_OF_ANY, VARCHAR_N, SPLIT_PART, LPAD, RPAD, SUBSTR, SUBSTR_LENGTH,
        TRIM_WHITESPACE, LTRIM_WHITESPACE, RTRIM_WHITESPACE, UPPER, NOT_TEXT, CONCAT_CHECKED, ARRAY_APPEND,
        ARRAY_PREPEND, ARRAY_REVERSE, SUBSCRIPT, ELEMENT_AT, CONTAINS, ARRAY_MAX, ARRAY_MIN, ARRAY_DISTINCT,
        ARRAY_JOIN, ARRAY_JOIN_REPLACING, SEQUENCE_DAYS, SEQUENCE_MONTHS, KEEP_TYPE, KEEP_ELEMENT_TYPE,
        NOT_ON_DATE, DATE_TRUNC, FROM_UNIXTIME, STRFTIME, OFFSET_AT_LEAST_0, OFFSET_AT_LEAST_1,
        *EXTRACT.values(),
        *(template for families in CASTS.values() for family in families for template in family.values()),
    }
)  # fmt: skip

# Templates that may not be wrapped in a lambda (see bind): they hold an aggregate, unnest or LATERAL.
UNBINDABLE = frozenset(
    {CREATE_TIME_SERIES, SUM_ANY, UNNEST_ARRAY, UNNEST_ROWS, UNNEST_ORDINAL, LATERAL, numeric.SKEWNESS,
     numeric.KURTOSIS}
)  # fmt: skip
BIND_OVER = 100  # an argument a template repeats is bound once when its SQL is longer than this


def holes(template: str) -> dict[str, int]:
    """How often each hole ({0}, {1} ...) occurs in a template."""
    counts: dict[str, int] = {}
    for name in _HOLE.findall(template):
        counts[name] = counts.get(name, 0) + 1
    return counts


def bind(template: str, rendered: dict[str, str], constants: frozenset[str] = frozenset()) -> str:
    """The template filled with ``rendered`` (the generated SQL of its arguments), where a long
    argument it repeats is computed once: the arguments are bound in a one-element list of a struct
    and the template becomes the body of a lambda reading the struct's fields. Without this,
    templates nested in templates (x / 2 / 2 over a column of unknown type) would repeat their
    arguments exponentially. Every argument that names anything is bound, so that no name reaches
    the lambda's body (where the parameter would capture it); only ``constants`` (arguments that
    name nothing, such as literals) are written in place. Only constant text and the arguments' own
    SQL are written."""
    counts = holes(template)
    if template in UNBINDABLE or not any(
        counts.get(name, 0) > 1 and len(text) > BIND_OVER for name, text in rendered.items()
    ):
        return fill(template, **rendered)
    bound = [name for name in rendered if name not in constants]
    fields = ", ".join("'a" + name + "': " + rendered[name] for name in bound)
    body = fill(template, **{**rendered, **{name: "__tsl_b['a" + name + "']" for name in bound}})
    return "list_transform([{" + fields + "}], lambda __tsl_b: " + body + ")[1]"


# reduce(array, initial, (s, x) -> ..., s -> ...): {0} array, {1} initial state, {2} input, {3} output
REDUCE = "list_transform([list_reduce({0}, {2}, {1})], {3})[1]"
GEOMETRIC_MEAN = "geomean({0})"
# Timestream functions whose arguments go straight into a template's holes
DIRECT = {
    "array_union": ARRAY_DISTINCT.replace("{0}", "list_concat({0}, {1})"),  # in order of first appearance
    "create_time_series": CREATE_TIME_SERIES, "geometric_mean": GEOMETRIC_MEAN, "e": "exp(1.0)",
    "infinity": "CAST('infinity' AS DOUBLE)", "nan": "CAST('nan' AS DOUBLE)", "is_finite": "isfinite({0})",
    "is_infinite": "isinf({0})",
    "codepoint": "CASE WHEN length({0}) <> 1 THEN error('codepoint() takes a string of one character') "
                 "ELSE unicode({0}) END",
    "millisecond": "(millisecond({0}) % 1000)",  # DuckDB counts the milliseconds of the minute
    "yow": "isoyear({0})", "every": "bool_and({0})", "hamming_distance": "hamming({0}, {1})",
    # Trino: any element in common; NULL when there is none but an array holds a NULL
    "arrays_overlap": "CASE WHEN {0} IS NULL OR {1} IS NULL THEN NULL WHEN list_has_any({0}, {1}) THEN true "
                      "WHEN list_position({0}, NULL) IS NOT NULL OR list_position({1}, NULL) IS NOT NULL THEN NULL "
                      "ELSE false END",
    **numeric.DIRECT, **datetimes.DIRECT, **arrays.DIRECT,
}  # fmt: skip
# array_position: 0 where the element is missing, as Trino answers
ARRAY_POSITION = "CASE WHEN {0} IS NULL OR {1} IS NULL THEN NULL ELSE CAST(coalesce(list_position({0}, {1}), 0) AS BIGINT) END"
# array_remove: every element equal to {1} removed (NULL elements stay)
ARRAY_REMOVE = (
    "list_transform([{'a': {0}, 'v': {1}}], lambda __tsl_b: CASE WHEN __tsl_b['v'] IS NULL THEN NULL ELSE "
    "list_filter(__tsl_b['a'], lambda __tsl_e: __tsl_e IS NULL OR __tsl_e <> __tsl_b['v']) END)[1]"
)
MAX_REPEAT = 10_000  # Trino's limit on repeat()'s count
REPEAT = (
    "CASE WHEN {1} < 0 THEN error('count argument of repeat function must be greater than or equal to 0') "
    f"WHEN {{1}} > {MAX_REPEAT} THEN error('count argument of repeat function must be less than or equal to "
    f"{MAX_REPEAT}') ELSE list_transform([{{'x': {{0}}, 'n': {{1}}}}], lambda __tsl_b: "
    "list_transform(range(__tsl_b['n']), lambda __tsl_i: __tsl_b['x']))[1] END"
)
# regexp_extract(s, p[, group]): NULL, not '', where nothing matches
REGEXP_EXTRACT = "CASE WHEN regexp_matches({0}, {1}) THEN regexp_extract({0}, {1}, {2}) END"
REGEXP_EXTRACT_ALL = "regexp_extract_all({0}, {1}, {2})"
REGEXP_REPLACE = "regexp_replace({0}, {1}, {2}, 'g')"  # every match, as Trino replaces
REGEXP_SPLIT = "string_split_regex({0}, {1})"
# array_intersect / array_except: without duplicates, in the first array's order (array_distinct's)
# (list_position finds a NULL element too, so NULL is kept or dropped like any other value)
_DISTINCT_X = ARRAY_DISTINCT.replace("{0}", "__tsl_c['x']")
ARRAY_INTERSECT = (
    "list_transform([{'x': {0}, 'y': {1}}], lambda __tsl_c: CASE WHEN __tsl_c['x'] IS NULL OR __tsl_c['y'] IS NULL "
    "THEN NULL ELSE list_filter(" + _DISTINCT_X + ", lambda __tsl_e: list_position(__tsl_c['y'], __tsl_e) "
    "IS NOT NULL) END)[1]"
)
ARRAY_EXCEPT = ARRAY_INTERSECT.replace("IS NOT NULL) END", "IS NULL) END")
# slice(x, start, length): start counts from 1, or from the end when negative; a start beyond the
# array gives an empty one
SLICE = (
    "CASE WHEN {1} = 0 THEN error('SQL array indices start at 1') WHEN {2} < 0 THEN "
    "error('length must be greater than or equal to 0') WHEN {1} > 0 THEN list_slice({0}, {1}, {1} + {2} - 1) "
    "WHEN len({0}) + {1} < 0 THEN list_slice({0}, 1, 0) "
    "ELSE list_slice({0}, len({0}) + {1} + 1, len({0}) + {1} + {2}) END"
)
BITWISE_AND = "({0} & {1})"
BITWISE_OR = "({0} | {1})"
BITWISE_XOR = "xor({0}, {1})"
BITWISE_NOT = "(~{0})"

TEMPLATES = frozenset(
    {
        SEQUENCE_INT, SEQUENCE_INT_DEFAULT_STEP, SEQUENCE_NS, SEQUENCE_INTERVAL, BIN_NS, CREATE_TIME_SERIES,
        MINUS, DIVIDE, DATE_DIFF, FROM_EPOCH_UNITS, FROM_UNIXTIME, FROM_ISO8601, INTERVAL_IN_UNITS, EPOCH_NS,
        EPOCH_IN_UNITS, ROUND_PLACES, MICROSECONDS, LATERAL, UNNEST_ARRAY, UNNEST_ROWS, UNNEST_ORDINAL,
        *interpolation.TEMPLATES, *numeric.TEMPLATES, *datetimes.TEMPLATES, *arrays.TEMPLATES, *strings.TEMPLATES, *typeof.TEMPLATES, *_TRINO, *timeseries.TEMPLATES, *intervals.TEMPLATES, REDUCE,
        GEOMETRIC_MEAN, *DIRECT.values(), ARRAY_POSITION, ARRAY_REMOVE, REPEAT, REGEXP_EXTRACT,
        REGEXP_EXTRACT_ALL, REGEXP_REPLACE, REGEXP_SPLIT, BITWISE_AND, BITWISE_OR, BITWISE_XOR, BITWISE_NOT,
        ARRAY_INTERSECT, ARRAY_EXCEPT, SLICE,
    }
)  # fmt: skip
