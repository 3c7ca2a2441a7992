"""Timestream's interpolation functions as DuckDB templates: linear, last observation carried
forward, constant fill and the natural cubic spline.

As everywhere in the translator, each DuckDB text here is a registered constant template (see
functions.TEMPLATES); the series, the sequence and the fill value go in through the holes.

interpolate_spline_cubic fits the natural cubic spline through the series' points (second derivative
zero at both ends; the spline Apache Commons Math's SplineInterpolator builds, and the one a
"cubic spline" without further words means) and evaluates it at each sequence point inside the
series' time range; points outside the range are left out, as interpolate_linear leaves them out.
Its second derivatives come from the tridiagonal system of the spline's continuity conditions,
solved with the Thomas algorithm: one list_reduce forward, one backwards. With fewer than three
points the natural spline is the straight line through them (or the one point).
"""

from __future__ import annotations

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
    "list_transform(__tsl_a['ts'], lambda __tsl_e: {'t': __tsl_e['time'], 'k': 0}), "
    "list_transform(__tsl_a['s'], lambda __tsl_e: {'t': __tsl_e, 'k': 1})))), "
    "range(len(__tsl_a['ts']) + 1, len(__tsl_a['ts']) + len(__tsl_a['s']) + 1)), "
    "lambda __tsl_r, __tsl_j: __tsl_r - __tsl_j)], "
    "lambda __tsl_c: list_filter(list_transform(__tsl_a['s'], lambda __tsl_p, __tsl_j: CASE {body} END), "
    "lambda __tsl_x: __tsl_x IS NOT NULL))[1])[1]"
)

_N = "__tsl_c[__tsl_j]"
_L = f"__tsl_a['ts'][{_N}]"
_R = f"__tsl_a['ts'][{_N} + 1]"
_LINEAR_BODY = (
    f"WHEN {_N} = 0 THEN NULL "
    f"WHEN {_L}.time = __tsl_p THEN {{'time': __tsl_p, 'value': CAST({_L}.value AS DOUBLE)}} "
    f"WHEN {_N} = len(__tsl_a['ts']) THEN NULL "
    f"ELSE {{'time': __tsl_p, 'value': CAST({_L}.value AS DOUBLE) + "
    f"(CAST({_R}.value AS DOUBLE) - CAST({_L}.value AS DOUBLE)) * "
    f"CAST(epoch_ns(__tsl_p) - epoch_ns({_L}.time) AS DOUBLE) / "
    f"CAST(epoch_ns({_R}.time) - epoch_ns({_L}.time) AS DOUBLE)}}"
)
_LOCF_BODY = f"WHEN {_N} = 0 THEN NULL ELSE {{'time': __tsl_p, 'value': {_L}.value}}"
_FILL_BODY = (
    f"WHEN {_N} > 0 AND {_L}.time = __tsl_p THEN {{'time': __tsl_p, 'value': {_L}.value}} "
    "ELSE {'time': __tsl_p, 'value': __tsl_a['f']}"
)

INTERPOLATE = {
    "interpolate_linear": _INTERP_FRAME.replace("{body}", _LINEAR_BODY),
    "interpolate_locf": _INTERP_FRAME.replace("{body}", _LOCF_BODY),
    "interpolate_fill": _INTERP_FRAME.replace("{body}", _FILL_BODY),
}
# interpolate_xxx(timeseries, timestamp) -> double: the value at the one point ({1} is a one-point array)
INTERPOLATE_ONE = {name: f"({body})[1].value" for name, body in INTERPOLATE.items()}

# -- the natural cubic spline. Times are nanoseconds after the series' first point, as doubles.
_X = "__tsl_v['x']"
_Y = "__tsl_v['y']"
_LAST = "__tsl_f[len(__tsl_f)]"
_A = f"({_X}[__tsl_k] - {_X}[__tsl_k - 1])"  # h(k - 1)
_H = f"({_X}[__tsl_k + 1] - {_X}[__tsl_k])"  # h(k)
_RHS = f"(6 * (({_Y}[__tsl_k + 1] - {_Y}[__tsl_k]) / {_H} - ({_Y}[__tsl_k] - {_Y}[__tsl_k - 1]) / {_A}))"
_DEN = f"(2 * ({_X}[__tsl_k + 1] - {_X}[__tsl_k - 1]) - {_A} * {_LAST}['c'])"
# the forward sweep: for k = 2 .. n - 1, c'(k) and d'(k) (entry k of the list; entry 1 is the boundary)
_FORWARD = (
    f"list_reduce(range(2, len({_X})), lambda __tsl_f, __tsl_k: list_append(__tsl_f, "
    f"{{'c': {_H} / {_DEN}, 'd': ({_RHS} - {_A} * {_LAST}['d']) / {_DEN}}}), "
    "[{'c': CAST(0 AS DOUBLE), 'd': CAST(0 AS DOUBLE)}])"
)
# back substitution: M(n) = 0, M(k) = d'(k) - c'(k) * M(k + 1) down to k = 2, and M(1) = 0
_BACK = (
    f"list_prepend(CAST(0 AS DOUBLE), list_reduce(range(len({_X}) - 1, 1, -1), lambda __tsl_b, __tsl_k: "
    "list_prepend(__tsl_w[__tsl_k]['d'] - __tsl_w[__tsl_k]['c'] * __tsl_b[1], __tsl_b), [CAST(0 AS DOUBLE)]))"
)
# {'x', 'y', 'm'} of a series bound to __tsl_z['ts']: times, values, second derivatives
_MOMENTS = (
    "list_transform([{'x': list_transform(__tsl_z['ts'], lambda __tsl_e: CAST(epoch_ns(__tsl_e['time']) "
    "- epoch_ns(__tsl_z['ts'][1]['time']) AS DOUBLE)), 'y': list_transform(__tsl_z['ts'], lambda __tsl_e: "
    "CAST(__tsl_e['value'] AS DOUBLE))}], lambda __tsl_v: CASE WHEN len(list_distinct("
    + _X
    + ")) < len("
    + _X
    + ") "
    "THEN error('interpolate_spline_cubic() needs a time series whose points have distinct times') ELSE "
    "list_transform(["
    + _FORWARD
    + "], lambda __tsl_w: {'x': "
    + _X
    + ", 'y': "
    + _Y
    + ", 'm': "
    + _BACK
    + "})[1] "
    "END)[1]"
)
_OPEN = "list_transform([{'ts': {0}, 's': list_sort(list_distinct(CAST({1} AS TIMESTAMP_NS[]))), 'f': {2}}], "
_SPLINE_FRAME = (
    "list_transform([{'ts': {0}, 's': list_sort(list_distinct(CAST({1} AS TIMESTAMP_NS[])))}], lambda __tsl_z: "
    + _INTERP_FRAME.replace(
        _OPEN, "list_transform([{'ts': __tsl_z['ts'], 's': __tsl_z['s'], 'f': " + _MOMENTS + "}], "
    )
    + ")[1]"
)
_F = "__tsl_a['f']"
_T = "CAST(epoch_ns(__tsl_p) - epoch_ns(__tsl_a['ts'][1]['time']) AS DOUBLE)"
_XI, _XJ = f"{_F}['x'][{_N}]", f"{_F}['x'][{_N} + 1]"
_YI, _YJ = f"{_F}['y'][{_N}]", f"{_F}['y'][{_N} + 1]"
_MI, _MJ = f"{_F}['m'][{_N}]", f"{_F}['m'][{_N} + 1]"
_STEP = f"({_XJ} - {_XI})"
_BEFORE, _AFTER = f"({_XJ} - {_T})", f"({_T} - {_XI})"
_SPLINE_BODY = (
    f"WHEN {_N} = 0 THEN NULL "
    f"WHEN {_L}.time = __tsl_p THEN {{'time': __tsl_p, 'value': CAST({_L}.value AS DOUBLE)}} "
    f"WHEN {_N} = len(__tsl_a['ts']) THEN NULL "
    f"ELSE {{'time': __tsl_p, 'value': {_MI} * {_BEFORE} * {_BEFORE} * {_BEFORE} / (6 * {_STEP}) "
    f"+ {_MJ} * {_AFTER} * {_AFTER} * {_AFTER} / (6 * {_STEP}) "
    f"+ ({_YI} - {_MI} * {_STEP} * {_STEP} / 6) * {_BEFORE} / {_STEP} "
    f"+ ({_YJ} - {_MJ} * {_STEP} * {_STEP} / 6) * {_AFTER} / {_STEP}}}"
)
INTERPOLATE["interpolate_spline_cubic"] = _SPLINE_FRAME.replace("{body}", _SPLINE_BODY)
INTERPOLATE_ONE["interpolate_spline_cubic"] = f"({INTERPOLATE['interpolate_spline_cubic']})[1].value"
TEMPLATES = frozenset({*INTERPOLATE.values(), *INTERPOLATE_ONE.values()})
