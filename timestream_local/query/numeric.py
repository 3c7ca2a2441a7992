"""Number functions of Timestream's reference with Trino's meaning: number bases (to_base,
from_base), buckets (width_bucket, both forms), bit_count, random(n), and the third and fourth
moments (skewness, kurtosis).

As everywhere in the translator, each DuckDB text here is a registered constant template (see
functions.TEMPLATES): the arguments go in through the holes, never as text, and no hole is inside a
lambda's body (values a lambda needs are bound outside it, ``[{'a': {0}}]``). Error texts are
Trino's.
"""

from __future__ import annotations

from sqlglot import exp

from timestream_local.query.syntax import Raw, fail

_RADIX = "CASE WHEN {1} < 2 OR {1} > 36 THEN error('Radix must be between 2 and 36') "
# to_base(x, radix): Long.toString(x, radix), lower-case digits and a minus sign. A negative x is
# written from its quotient and remainder (each within BIGINT, even for its smallest value).
TO_BASE = (
    _RADIX + "WHEN {0} >= 0 THEN lower(to_base({0}, {1})) ELSE '-' || CASE WHEN {0} // {1} = 0 THEN '' "
    "ELSE lower(to_base(-({0} // {1}), {1})) END || lower(to_base(-({0} % {1}), {1})) END"
)
_DIGITS = "'0123456789abcdefghijklmnopqrstuvwxyz'"
_TOO_BIG = "9223372036854775808"  # 2^63: one past the largest BIGINT, the magnitude of the smallest
# from_base(s, radix): Long.parseLong(s, radix): an optional sign and at least one digit of the
# radix (either case); anything else, or a value outside BIGINT, is an error naming the text.
# Digits accumulate in a HUGEINT that stops growing once past 2^63, so it cannot overflow.
_NOT_VALID = "error('Not a valid base-' || __tsl_f['r'] || ' number: ' || __tsl_f['s'])"
FROM_BASE = (
    _RADIX + "ELSE list_transform([{'s': {0}, 'r': CAST({1} AS BIGINT)}], lambda __tsl_f: CASE "
    "WHEN __tsl_f['s'] IS NULL THEN NULL "
    "WHEN NOT regexp_full_match(__tsl_f['s'], '[+-]?[0-9A-Za-z]+') THEN " + _NOT_VALID + " "
    "ELSE list_transform([list_reduce(list_transform(str_split(lower(ltrim(__tsl_f['s'], '+-')), ''), "
    "lambda __tsl_c: strpos(" + _DIGITS + ", __tsl_c) - 1), lambda __tsl_v, __tsl_d: CASE "
    "WHEN __tsl_v < 0 OR __tsl_d >= __tsl_f['r'] THEN CAST(-1 AS HUGEINT) "
    "WHEN __tsl_v > " + _TOO_BIG + " THEN __tsl_v ELSE __tsl_v * __tsl_f['r'] + __tsl_d END, "
    "CAST(0 AS HUGEINT))], lambda __tsl_n: CASE WHEN __tsl_n < 0 THEN " + _NOT_VALID + " "
    "WHEN starts_with(__tsl_f['s'], '-') AND __tsl_n <= " + _TOO_BIG + " THEN CAST(-__tsl_n AS BIGINT) "
    "WHEN NOT starts_with(__tsl_f['s'], '-') AND __tsl_n < " + _TOO_BIG + " THEN CAST(__tsl_n AS BIGINT) "
    "ELSE " + _NOT_VALID + " END)[1] END)[1] END"
)
# width_bucket(x, bound1, bound2, n): Trino's MathFunctions.widthBucket, step by step
WIDTH_BUCKET = (
    "list_transform([{'x': CAST({0} AS DOUBLE), 'a': CAST({1} AS DOUBLE), 'b': CAST({2} AS DOUBLE), "
    "'n': CAST({3} AS BIGINT)}], lambda __tsl_w: CASE "
    "WHEN __tsl_w['n'] <= 0 THEN error('bucketCount must be greater than 0') "
    "WHEN isnan(__tsl_w['x']) THEN error('operand must not be NaN') "
    "WHEN NOT isfinite(__tsl_w['a']) THEN error('first bound must be finite') "
    "WHEN NOT isfinite(__tsl_w['b']) THEN error('second bound must be finite') "
    "WHEN __tsl_w['a'] = __tsl_w['b'] THEN error('bounds cannot equal each other') "
    "ELSE list_transform([CASE WHEN __tsl_w['x'] < least(__tsl_w['a'], __tsl_w['b']) THEN CAST(0 AS BIGINT) "
    "WHEN __tsl_w['x'] >= greatest(__tsl_w['a'], __tsl_w['b']) THEN CASE WHEN __tsl_w['n'] = 9223372036854775807 "
    "THEN error('Bucket for value ' || __tsl_w['x'] || ' is out of range') ELSE __tsl_w['n'] + 1 END "
    "ELSE CAST(trunc(__tsl_w['n'] * (__tsl_w['x'] - least(__tsl_w['a'], __tsl_w['b'])) "
    "/ (greatest(__tsl_w['a'], __tsl_w['b']) - least(__tsl_w['a'], __tsl_w['b'])) + 1) AS BIGINT) END], "
    "lambda __tsl_r: CASE WHEN __tsl_w['a'] > __tsl_w['b'] THEN __tsl_w['n'] - __tsl_r + 1 ELSE __tsl_r END)[1] "
    "END)[1]"
)
# width_bucket(x, bins): how many bins are at or below x (Trino's binary search over sorted bins;
# here every bin is checked, so an unsorted array is always refused)
WIDTH_BUCKET_BINS = (
    "list_transform([{'x': CAST({0} AS DOUBLE), 'b': CAST({1} AS DOUBLE[])}], lambda __tsl_w: CASE "
    "WHEN len(__tsl_w['b']) = 0 THEN error('Bins cannot be an empty array') "
    "WHEN isnan(__tsl_w['x']) THEN error('Operand cannot be NaN') "
    "WHEN len(list_filter(__tsl_w['b'], lambda __tsl_v: NOT isfinite(__tsl_v))) > 0 THEN "
    "error('Bin value must be finite, got ' || list_filter(__tsl_w['b'], lambda __tsl_v: NOT isfinite(__tsl_v))[1]) "
    "WHEN __tsl_w['b'] <> list_sort(__tsl_w['b']) THEN error('Bin values are not sorted in ascending order') "
    "ELSE CAST(len(list_filter(__tsl_w['b'], lambda __tsl_v: __tsl_v <= __tsl_w['x'])) AS BIGINT) END)[1]"
)
# bit_count(x, bits): the 1 bits of x in a two's complement number of that many bits; x must fit.
# A negative x that fits has all of its upper (64 - bits) bits set.
BIT_COUNT = (
    "CASE WHEN {1} < 2 OR {1} > 64 THEN error('Bits specified in bit_count must be between 2 and 64, got ' || {1}) "
    "WHEN {1} < 64 AND ({0} > CAST(power(2, {1} - 1) AS HUGEINT) - 1 OR {0} < -CAST(power(2, {1} - 1) AS HUGEINT)) "
    "THEN error('Number must be representable with the bits specified. ' || {0} || ' cannot be represented with ' "
    "|| {1} || ' bits') WHEN {0} >= 0 THEN CAST(bit_count(CAST({0} AS BIGINT)) AS BIGINT) "
    "ELSE CAST(bit_count(CAST({0} AS BIGINT)) - (64 - {1}) AS BIGINT) END"
)
# skewness: Trino's sqrt(n) * m3 / m2^1.5 (the population moment coefficient); DuckDB's skewness
# is the sample-adjusted one, sqrt(n (n - 1)) / (n - 2) times it. NULL under three values.
# Values that are all equal give NaN (0 / 0), where DuckDB answers NULL.
SKEWNESS = (
    "CASE WHEN count({0}) >= 3 AND var_pop({0}) = 0 THEN CAST('nan' AS DOUBLE) "
    "ELSE skewness({0}) * (count({0}) - 2) / sqrt(count({0}) * (count({0}) - 1)) END"
)
# kurtosis: Trino's excess kurtosis, (n-1) n (n+1) / ((n-2) (n-3)) m4 / m2^2 - 3 (n-1)^2 / ((n-2) (n-3)),
# is DuckDB's kurtosis (the same bias-corrected formula). NULL under four values.
KURTOSIS = "CASE WHEN count({0}) >= 4 AND var_pop({0}) = 0 THEN CAST('nan' AS DOUBLE) ELSE kurtosis({0}) END"

# random(n): an integer of n's type in [0, n) (ThreadLocalRandom.nextLong(n) in Trino)
RANDOM_BELOW = "CASE WHEN {0} <= 0 THEN error('bound must be positive') ELSE cast_to_type(floor(random() * {0}), {0}) END"

DIRECT = {"to_base": TO_BASE, "bit_count": BIT_COUNT}
ARITIES = {"to_base": (2,), "bit_count": (2,)}
# the nodes sqlglot parses these functions into -> the name the client writes
TYPED: dict[type[exp.Expr], str] = {
    exp.FromBase: "from_base", exp.WidthBucket: "width_bucket", exp.Skewness: "skewness",
    exp.Kurtosis: "kurtosis",
}  # fmt: skip
TEMPLATES = frozenset(
    {TO_BASE, FROM_BASE, WIDTH_BUCKET, WIDTH_BUCKET_BINS, BIT_COUNT, SKEWNESS, KURTOSIS, RANDOM_BELOW}
)


def rewrite(node: exp.Expr) -> exp.Expr:
    """The DuckDB expression of one of the TYPED nodes."""
    if isinstance(node, exp.FromBase):
        return Raw(template=FROM_BASE, expressions=[node.this, node.expression])
    if isinstance(node, exp.WidthBucket):
        args = [node.args.get(key) for key in ("min_value", "max_value", "num_buckets")]
        if args[0] is not None and args[1] is None and args[2] is None:
            return Raw(template=WIDTH_BUCKET_BINS, expressions=[node.this, args[0]])
        if any(arg is None for arg in args) or node.args.get("threshold") is not None:
            raise fail(node, "width_bucket() takes (x, bound1, bound2, n) or (x, bins)")
        return Raw(template=WIDTH_BUCKET, expressions=[node.this, *args])
    if isinstance(node.parent, exp.Window | exp.Filter):
        raise fail(node, f"{TYPED[type(node)]}() is not supported as a window function or with FILTER")
    template = SKEWNESS if isinstance(node, exp.Skewness) else KURTOSIS
    return Raw(template=template, expressions=[node.this])


def random_below(node: exp.Rand) -> exp.Expr:
    """random() as it is; random(n), which sqlglot reads as a seed, is a number in [0, n)."""
    if node.this is None:
        return node
    if node.args.get("lower") is not None or node.args.get("upper") is not None:
        raise fail(node, "random() takes no argument or one bound n")
    return Raw(template=RANDOM_BELOW, expressions=[node.this])
