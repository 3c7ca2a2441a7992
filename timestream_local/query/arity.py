"""How many arguments each supported function takes, and the refusal of a call with another count.

Trino (hence Timestream) refuses ``ceil(x, 2)`` or ``array_agg(a, b)``: "line 1:8: Unexpected
parameters (<types>) for function ceil. Expected: ceil(<types>)". Without the types at hand this
store names the count instead: "line 1:8: Unexpected parameters (2 arguments) for function ceil.
Expected: ceil(x)". Counting happens on the token stream, before sqlglot builds its tree (which folds
some calls into operators, bitwise_and(a, b) -> a & b, and drops arguments it has no place for),
in one pass over the tokens: :func:`argument_counts` notes how many arguments each "(" after a
function name holds; the parser then calls :meth:`Calls.see` for each call it reads (so a name that
is not a call, such as a table alias ``t(a, b)``, is never checked), and :meth:`Calls.check` raises
for the first wrong one in the text once the statement has parsed (a syntax error is reported
first, as Trino does).

Arguments are separated by top-level commas: commas inside nested parentheses or brackets (calls,
subqueries, lambdas ``(a, b) -> ...``, ``ARRAY[...]``) belong to those, strings and comments are single
tokens, and an aggregate's ``ORDER BY a, b`` inside the call ends the counting. ``substring(s FROM 1
FOR 2)``, ``position(a IN b)`` and ``trim(BOTH 'x' FROM s)`` use FROM / FOR / IN as separators.
``cast``, ``try_cast``, ``extract``, ``exists`` and ``current_date`` are grammar rather than calls and
are not in the table.
"""

from __future__ import annotations

from sqlglot.tokens import Token, TokenType

from timestream_local.exceptions import ValidationException

# name -> its signatures (Trino's / Timestream's function reference), "|" between them; "..." at the
# end: the argument before it may repeat.
_ONE = "x"
_NONE = ""
SIGNATURES: dict[str, str] = {
    **dict.fromkeys(
        ("abs", "acos", "asin", "atan", "cbrt", "ceil", "ceiling", "cos", "cosh", "degrees", "exp", "floor",
         "ln", "log10", "log2", "radians", "sign", "sin", "sqrt", "tan", "tanh", "is_nan", "is_finite",
         "is_infinite", "avg", "sum", "arbitrary", "array_agg", "bool_and", "bool_or", "every", "count_if",
         "geometric_mean", "kurtosis", "skewness", "stddev", "stddev_pop", "stddev_samp", "variance",
         "var_pop", "var_samp", "bitwise_and_agg", "bitwise_or_agg", "bitwise_not", "first_value",
         "last_value", "ntile", "cardinality", "array_distinct", "array_max", "array_min", "flatten",
         "shuffle", "lower", "upper", "length", "reverse", "chr", "codepoint", "typeof", "date",
         "year", "year_of_week", "yow", "quarter", "month", "week", "week_of_year", "day",
         "day_of_month", "day_of_week", "dow", "day_of_year", "doy", "hour", "minute", "second",
         "millisecond", "last_day_of_month", "to_unixtime", "to_iso8601", "from_iso8601_date",
         "from_iso8601_timestamp", "from_milliseconds", "from_nanoseconds", "to_milliseconds",
         "to_nanoseconds", "parse_duration", "ago"),
        _ONE,
    ),
    **dict.fromkeys(
        ("e", "pi", "nan", "infinity", "now", "current_timezone", "row_number", "rank", "dense_rank",
         "percent_rank", "cume_dist"),
        _NONE,
    ),
    # Trino also takes a precision, current_timestamp(p); this store's clock has one (see _OWN_MESSAGE)
    **dict.fromkeys(("current_time", "current_timestamp", "localtime", "localtimestamp"), _NONE),
    **dict.fromkeys(("corr", "covar_pop", "covar_samp", "regr_intercept", "regr_slope"), "y, x"),
    **dict.fromkeys(("bitwise_and", "bitwise_or", "bitwise_xor"), "x, y"),
    **dict.fromkeys(("array_except", "array_intersect", "array_union", "arrays_overlap"), "x, y"),
    **dict.fromkeys(("max", "min"), "x | x, n"),
    **dict.fromkeys(("max_by", "min_by"), "x, y | x, y, n"),
    **dict.fromkeys(("lag", "lead"), "x | x, offset | x, offset, default_value"),
    **dict.fromkeys(("greatest", "least"), "value, ..."),
    **dict.fromkeys(("pow", "power"), "x, p"),
    **dict.fromkeys(("rand", "random"), " | n | m, n"),
    **dict.fromkeys(("lpad", "rpad"), "string, size, padstring"),
    **dict.fromkeys(("trim", "ltrim", "rtrim"), "string | string, chars"),
    **dict.fromkeys(("substr", "substring"), "string, start | string, start, length"),
    **dict.fromkeys(("regexp_extract", "regexp_extract_all"), "string, pattern | string, pattern, group"),
    **dict.fromkeys(("interpolate_linear", "interpolate_locf", "interpolate_spline_cubic"), "timeseries, timestamps"),
    **dict.fromkeys(("derivative_linear", "non_negative_derivative_linear"), "timeseries, interval"),
    **dict.fromkeys(("correlate_pearson", "correlate_spearman"), "timeseries1, timeseries2"),
    "round": "x | x, d",
    "truncate": "x | x, n",
    "log": "b, x",
    "atan2": "y, x",
    "width_bucket": "x, bins | x, bound1, bound2, n",
    "from_base": "string, radix",
    "to_base": "x, radix",
    "bit_count": "x, bits",
    "count": " | x",
    "approx_distinct": "x | x, e",
    "approx_percentile": "x, percentage | x, w, percentage",
    "nth_value": "x, offset",
    "coalesce": "value1, value2, ...",
    "nullif": "value1, value2",
    "if": "condition, true_value | condition, true_value, false_value",
    "mod": "n, m",
    "concat": "x1, x2, ...",
    "replace": "string, search | string, search, replace",
    "split": "string, delimiter | string, delimiter, limit",
    "split_part": "string, delimiter, index",
    "strpos": "string, substring | string, substring, instance",
    "position": "substring IN string",
    "starts_with": "string, substring",
    "levenshtein_distance": "string1, string2",
    "hamming_distance": "string1, string2",
    "regexp_like": "string, pattern",
    "regexp_replace": "string, pattern | string, pattern, replacement",
    "regexp_split": "string, pattern",
    "date_add": "unit, value, timestamp",
    "date_diff": "unit, timestamp1, timestamp2",
    "date_trunc": "unit, x",
    "date_format": "timestamp, format",
    "date_parse": "string, format",
    "format_datetime": "timestamp, format",
    "from_unixtime": "unixtime",  # Trino also has (unixtime, zone) and (unixtime, hours, minutes), whose
    # TIMESTAMP WITH TIME ZONE answers Timestream does not list: refused rather than the zone dropped
    "bin": "timestamp, interval",
    "create_time_series": "time, value",
    "interpolate_fill": "timeseries, timestamps, fill_value",
    "integral_trapezoidal": "timeseries | timeseries, interval",
    "array_join": "x, delimiter | x, delimiter, null_replacement",
    "array_position": "x, element",
    "array_remove": "x, element",
    "array_sort": "x | x, function",
    "contains": "x, element",
    "element_at": "array, index",
    "filter": "array, function",
    "transform": "array, function",
    "reduce": "array, initialState, inputFunction, outputFunction",
    "repeat": "element, count",
    "sequence": "start, stop | start, stop, step",
    "slice": "x, start, length",
    "ngrams": "array, n",
    "zip": "array1, array2 | array1, array2, array3 | array1, array2, array3, array4 "
    "| array1, array2, array3, array4, array5",
    "zip_with": "array1, array2, function",
    "row": "field1, ...",
}  # fmt: skip

# Trino's parser has its own words for coalesce; Trino's precision of the clock functions is refused
_OWN_MESSAGE = {
    "coalesce": "The 'coalesce' function must have at least two arguments",
    **{
        clock: f"{clock}(p) with a precision is not supported by timestream_local (its clock answers in "
        f"nanoseconds); write {clock} without parentheses"
        for clock in ("current_time", "current_timestamp", "localtime", "localtimestamp")
    },
}
# calls whose SQL-standard form separates its arguments with words
_WORD_SEPARATED = frozenset({"substring", "position", "trim"})
_WORD_SEPARATORS = frozenset({TokenType.FROM, TokenType.FOR, TokenType.IN})
_OPENING = frozenset({TokenType.L_PAREN, TokenType.L_BRACKET})
_CLOSING = frozenset({TokenType.R_PAREN, TokenType.R_BRACKET})


def _parameters(signature: str) -> list[str]:
    return [part.strip() for part in signature.split(",") if part.strip()]


def arities(name: str) -> tuple[frozenset[int], int | None]:
    """The argument counts ``name`` accepts: (the fixed ones, the least of a variadic one or None)."""
    fixed: set[int] = set()
    least = None
    for signature in SIGNATURES[name].split("|"):
        parameters = _parameters(signature.replace(" IN ", ", "))
        if parameters and parameters[-1] == "...":
            least = len(parameters) - 1 if least is None else min(least, len(parameters) - 1)
        else:
            fixed.add(len(parameters))
    return frozenset(fixed), least


def accepts(name: str, count: int) -> bool:
    fixed, least = arities(name)
    return count in fixed or (least is not None and count >= least)


def expected(name: str) -> str:
    """Its signatures as Trino lists them after "Expected:" (names where Trino writes types)."""
    return ", ".join(f"{name}({signature.strip()})" for signature in SIGNATURES[name].split("|"))


def argument_counts(tokens: list[Token]) -> dict[int, int]:
    """id(token) of each "(" that follows a name in SIGNATURES -> the number of arguments it holds."""
    counts: dict[int, int] = {}
    # each open "(" or "[": [id of the "(" if counted else None, separators, any token seen, counting, name]
    stack: list[list] = []
    previous: Token | None = None
    for token in tokens:
        kind = token.token_type
        top = stack[-1] if stack else None
        if kind in _OPENING:
            if top is not None:
                top[2] = True
            name = (
                previous.text.lower()
                if previous is not None and previous.token_type != TokenType.STRING
                else ""
            )
            counted = kind == TokenType.L_PAREN and name in SIGNATURES
            stack.append([id(token) if counted else None, 0, False, True, name])
        elif kind in _CLOSING:
            if top is not None:
                stack.pop()
                if top[0] is not None:
                    counts[top[0]] = top[1] + 1 if top[2] else 0
        elif top is not None:
            if top[3] and (
                kind == TokenType.COMMA or (kind in _WORD_SEPARATORS and top[4] in _WORD_SEPARATED)
            ):
                top[1] += 1
            elif kind == TokenType.ORDER_BY:  # array_agg(x ORDER BY a, b): the ordering is no argument
                top[3] = False
            top[2] = True
        previous = token
    return counts


def _position(sql: str, start: int) -> str:
    line = sql.count("\n", 0, start) + 1
    return f"line {line}:{start - (sql.rfind(chr(10), 0, start) + 1) + 1}"


class Calls:
    """The argument counts of one statement's calls, checked as the parser reads each call."""

    def __init__(self, tokens: list[Token], sql: str) -> None:
        self._counts = argument_counts(tokens)
        self._sql = sql
        self._wrong: dict[int, str] = {}  # start offset of the name -> the message

    def see(self, name: Token, paren: Token) -> None:
        """The parser read a call: ``name`` followed by ``paren``."""
        count = self._counts.get(id(paren))
        called = name.text.lower()
        if count is None or accepts(called, count) or name.start in self._wrong:
            return
        if called in _OWN_MESSAGE:
            message = _OWN_MESSAGE[called]
        else:
            given = "" if count == 0 else f"{count} argument{'s' if count > 1 else ''}"
            message = f"Unexpected parameters ({given}) for function {called}. Expected: {expected(called)}"
        self._wrong[name.start] = f"{_position(self._sql, name.start)}: {message}"

    def forget(self, name: Token) -> None:
        """The parser did not read ``name`` as a call after all."""
        self._wrong.pop(name.start, None)

    def check(self) -> None:
        """A ValidationException for the first call (in the text) with a wrong number of arguments."""
        if self._wrong:
            raise ValidationException(self._wrong[min(self._wrong)])
