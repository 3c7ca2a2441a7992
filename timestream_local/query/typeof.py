"""typeof(x): the name of x's type as Timestream writes it (AWS's date/time operators page shows
'date', 'timestamp', 'interval year to month', 'interval day to second').

DuckDB's own typeof is read at run time and renamed (TIMESTAMP_NS is 'timestamp', INTERVAL 'interval
day to second', INTEGER[] 'array(integer)', STRUCT(...) 'row(...)'); a year-month interval, which
DuckDB cannot tell from a day-to-second one, is named from the query text. The DuckDB text is a
registered constant template (see functions.TEMPLATES).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from timestream_local.query.kinds import YEAR_TO_MONTH
from timestream_local.query.syntax import Raw

TYPEOF = (
    "list_transform([lower(typeof({0}))], lambda __tsl_t: list_transform([regexp_replace(__tsl_t, '(\\[\\])+$', '')], "
    "lambda __tsl_b: repeat('array(', (length(__tsl_t) - length(__tsl_b)) // 2) || CASE __tsl_b "
    "WHEN 'timestamp_ns' THEN 'timestamp' WHEN 'interval' THEN 'interval day to second' WHEN '\"null\"' THEN 'unknown' "
    "ELSE replace(replace(__tsl_b, 'struct(', 'row('), 'timestamp_ns', 'timestamp') END "
    "|| repeat(')', (length(__tsl_t) - length(__tsl_b)) // 2))[1])[1]"
)
TEMPLATES = frozenset({TYPEOF})


def rewrite(node: exp.Typeof, scalar_type: Callable[[exp.Expr], str]) -> exp.Expr:
    """typeof(x); ``scalar_type`` is the type the query text settles for x (read before the rewrite)."""
    if scalar_type(node.this) == YEAR_TO_MONTH:
        return exp.Literal.string("interval year to month")
    return Raw(template=TYPEOF, expressions=[node.this])
