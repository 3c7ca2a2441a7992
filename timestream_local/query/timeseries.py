"""Timestream's functions over a time series (a list of {time, value} points sorted by time, as
create_time_series builds it): derivatives, the trapezoidal integral and Pearson's correlation.

As in functions.py, every DuckDB text here is a registered constant template; the series and the
interval's nanoseconds go in through the holes, never into the text. A series is bound once to a
lambda parameter (a one-element list, transformed), so that each point is read by index without the
series being computed again; struct fields are read as ``p['f']`` (``p.f`` would resolve to a
query column of that name).

Semantics, from AWS's developer guide (time series functions):
- derivative_linear(timeseries, interval): at each point after the first, the change from the
  point before divided by the time between them, scaled to the interval (a rate per interval);
- non_negative_derivative_linear: the same, keeping only the points whose derivative is not negative;
- integral_trapezoidal(timeseries[, interval]): the area under the series by the trapezoidal rule,
  per interval (default 1 s); 0.0 for a series of one point;
- correlate_pearson(timeseries, timeseries): Pearson's coefficient of the two series' values, which
  must have the same timestamps; correlate_spearman: Spearman's, Pearson's coefficient of the values'
  ranks (tied values share the mean of their ranks).
"""

from __future__ import annotations

from sqlglot import exp

from timestream_local.query.syntax import Raw, duration_ns, fail

_POINT = "__tsl_a['ts'][__tsl_i]"
_BEFORE = "__tsl_a['ts'][__tsl_i - 1]"
_SLOPE = (
    f"(CAST({_POINT}['value'] AS DOUBLE) - CAST({_BEFORE}['value'] AS DOUBLE)) * __tsl_a['d'] / "
    f"CAST(epoch_ns({_POINT}['time']) - epoch_ns({_BEFORE}['time']) AS DOUBLE)"
)
# {0} the series, {1} the interval in nanoseconds
DERIVATIVE = (
    "list_transform([{'ts': {0}, 'd': {1}}], lambda __tsl_a: list_transform(range(2, len(__tsl_a['ts']) + 1), "
    f"lambda __tsl_i: {{'time': {_POINT}['time'], 'value': {_SLOPE}}}))[1]"
)
NON_NEGATIVE_DERIVATIVE = "list_filter(" + DERIVATIVE + ", lambda __tsl_p: __tsl_p['value'] >= 0)"
INTEGRAL = (
    "list_transform([{'ts': {0}, 'd': {1}}], lambda __tsl_a: CASE WHEN __tsl_a['ts'] IS NULL THEN NULL ELSE "
    "coalesce(list_sum(list_transform(range(2, len(__tsl_a['ts']) + 1), lambda __tsl_i: "
    f"(CAST({_POINT}['value'] AS DOUBLE) + CAST({_BEFORE}['value'] AS DOUBLE)) / 2 * "
    f"CAST(epoch_ns({_POINT}['time']) - epoch_ns({_BEFORE}['time']) AS DOUBLE) / __tsl_a['d'])), 0.0) END)[1]"
)
# {0}, {1} the two series: values as doubles, their times compared, then the means bound once more
_VALUES = "list_transform({%d}, lambda __tsl_p: CAST(__tsl_p['value'] AS DOUBLE))"
_TIMES = "list_transform({%d}, lambda __tsl_p: __tsl_p['time'])"
_DX = "(__tsl_b['x'][__tsl_i] - __tsl_b['mx'])"
_DY = "(__tsl_b['y'][__tsl_i] - __tsl_b['my'])"
# a list of doubles bound to __tsl_r, as average ranks (ties share the mean of their positions)
_RANKS = (
    "list_transform([{0}], lambda __tsl_r: list_transform(__tsl_r, lambda __tsl_v: "
    "len(list_filter(__tsl_r, lambda __tsl_u: __tsl_u < __tsl_v)) "
    "+ (len(list_filter(__tsl_r, lambda __tsl_u: __tsl_u = __tsl_v)) + 1) / 2.0))[1]"
)


def _correlation(name: str, values: str) -> str:
    """Pearson's coefficient of ``values`` (a text in which {0} is a series' values) of two series
    with the same timestamps."""
    return (
        "list_transform([{'x': "
        + values.replace("{0}", _VALUES % 0)
        + ", 'y': "
        + values.replace("{0}", _VALUES % 1)
        + ", 'same': "
        + _TIMES % 0
        + " = "
        + _TIMES % 1
        + "}], lambda __tsl_a: CASE WHEN NOT __tsl_a['same'] THEN "
        f"error('{name}() needs two time series with the same timestamps') ELSE "
        "list_transform([{'x': __tsl_a['x'], 'y': __tsl_a['y'], 'mx': list_avg(__tsl_a['x']), "
        "'my': list_avg(__tsl_a['y'])}], lambda __tsl_b: "
        f"list_sum(list_transform(range(1, len(__tsl_b['x']) + 1), lambda __tsl_i: {_DX} * {_DY})) / "
        f"sqrt(list_sum(list_transform(range(1, len(__tsl_b['x']) + 1), lambda __tsl_i: {_DX} * {_DX})) * "
        f"list_sum(list_transform(range(1, len(__tsl_b['x']) + 1), lambda __tsl_i: {_DY} * {_DY}))))[1] END)[1]"
    )


CORRELATE_PEARSON = _correlation("correlate_pearson", "{0}")
# Spearman's coefficient: Pearson's of the values' average ranks (as Apache Commons Math's
# SpearmansCorrelation ranks them by default)
CORRELATE_SPEARMAN = _correlation("correlate_spearman", _RANKS)

TEMPLATES = frozenset({DERIVATIVE, NON_NEGATIVE_DERIVATIVE, INTEGRAL, CORRELATE_PEARSON, CORRELATE_SPEARMAN})
# name -> allowed arities (validate.py) for the functions of this module
ARITIES = {
    "derivative_linear": (2,),
    "non_negative_derivative_linear": (2,),
    "integral_trapezoidal": (1, 2),
    "correlate_pearson": (2,),
    "correlate_spearman": (2,),
}
RETURN_SERIES = frozenset({"derivative_linear", "non_negative_derivative_linear"})
NS_PER_SECOND = 1_000_000_000


def _interval(node: exp.Expr, argument: exp.Expr, name: str) -> exp.Expr:
    ns = duration_ns(argument)
    if ns is None or ns <= 0:
        raise fail(node, f"{name}() takes a positive duration (such as 1s or 5m) as its interval")
    return exp.Literal.number(ns)


def rewrite(node: exp.Anonymous, name: str, args: list[exp.Expr]) -> exp.Expr:
    """The DuckDB expression of one of this module's functions (ARITIES) applied to ``args``."""
    if name in ("correlate_pearson", "correlate_spearman"):
        template = CORRELATE_PEARSON if name == "correlate_pearson" else CORRELATE_SPEARMAN
        return Raw(template=template, expressions=list(args))
    if name == "integral_trapezoidal":
        per = _interval(node, args[1], name) if len(args) > 1 else exp.Literal.number(NS_PER_SECOND)
        return Raw(template=INTEGRAL, expressions=[args[0], per])
    template = DERIVATIVE if name == "derivative_linear" else NON_NEGATIVE_DERIVATIVE
    return Raw(template=template, expressions=[args[0], _interval(node, args[1], name)])
