"""A call with a number of arguments its function does not take is refused, in Trino's words, never
run with some arguments dropped (ceil(x, 2) answering x, array_agg(a, b) running as array_agg(a)).

The marker test calls every supported function with 0 to 5 distinct marker arguments: either the
call is refused with "Unexpected parameters (...) for function <name>", or every marker reaches the
DuckDB text. Then refusals over HTTP with their exact messages, and valid calls still answering.
"""

from __future__ import annotations

import pytest

from tests.timestream_local.test_engine_isolation import _function_names
from timestream_local.exceptions import ValidationException
from timestream_local.query import translate as translation
from timestream_local.query.arity import SIGNATURES
from timestream_local.query.lexer import parse

KINDS = ("int", "str", "dbl")
_TS = 'FROM (SELECT create_time_series(time, measure_value::double) AS ts FROM "iot"."pm25")'

# Accepted counts whose markers cannot be plain literals: arguments that do reach the translation,
# each with the text it becomes there.
VALID = {
    ("ago", 1): ("SELECT ago(7001s)", ["7001000000000"]),
    # e, the standard error, is checked (0.0040625..0.26) but has no DuckDB counterpart: one fixed accuracy
    ("approx_distinct", 2): ("SELECT approx_distinct(7001, 0.0123)", ["7001"]),
    ("bin", 2): ("SELECT bin(from_milliseconds(7001), 7002s)", ["7001", "7002000000000"]),
    ("date_add", 3): ("SELECT date_add('day', 7001, from_milliseconds(7002))", ["DAY", "7001", "7002"]),
    ("date_diff", 3): ("SELECT date_diff('hour', from_milliseconds(7001), from_milliseconds(7002))",
                       ["'hour'", "7001", "7002"]),
    ("date_trunc", 2): ("SELECT date_trunc('hour', from_milliseconds(7001))", ["'hour'", "7001"]),
    ("format_datetime", 2): ("SELECT format_datetime(from_milliseconds(7001), 'yyyy')", ["7001", "'%Y'"]),
    ("derivative_linear", 2): (f"SELECT derivative_linear(ts, 7001s) {_TS}", ['"ts"', "7001000000000"]),
    ("non_negative_derivative_linear", 2): (f"SELECT non_negative_derivative_linear(ts, 7001s) {_TS}",
                                            ['"ts"', "7001000000000"]),
    ("integral_trapezoidal", 2): (f"SELECT integral_trapezoidal(ts, 7001s) {_TS}", ['"ts"', "7001000000000"]),
    **{
        (name, 2): (f"SELECT {name}(ts, ARRAY[from_milliseconds(7001)]) {_TS}", ['"ts"', "7001"])
        for name in ("interpolate_linear", "interpolate_locf", "interpolate_spline_cubic")
    },
    ("interpolate_fill", 3): (f"SELECT interpolate_fill(ts, ARRAY[from_milliseconds(7001)], 7002.5) {_TS}",
                              ['"ts"', "7001", "7002.5"]),
    ("reduce", 4): ("SELECT reduce(ARRAY[7001], 7002, (s, x) -> s + x + 7003, s -> s + 7004)",
                    ["7001", "7002", "7003", "7004"]),
    ("zip_with", 3): ("SELECT zip_with(ARRAY[7001], ARRAY[7002], (x, y) -> x + y + 7003)", ["7001", "7002", "7003"]),
}  # fmt: skip
# Forms refused as a whole, by name, for a reason their message gives (nothing silently dropped).
REFUSED_FORMS = {
    ("approx_percentile", 3): "approx_percentile(x, w, percentage) with weights is not supported",
    ("array_sort", 2): "LIST_SORT does not support a comparator",
    ("rand", 2): "random() takes no argument or one bound n",
    ("random", 2): "random() takes no argument or one bound n",
}


def _markers(kind: str, count: int) -> list[str]:
    if kind == "int":
        return [str(7001 + i) for i in range(count)]
    if kind == "str":
        return [f"'m700{i}'" for i in range(count)]
    return [f"{7001 + i}.5" for i in range(count)]


def _outcome(sql: str) -> tuple[str, str]:
    try:
        return "ok", translation.translate(parse(sql)).sql
    except ValidationException as error:
        return "refused", str(error)


def _count_refusal(name: str, count: int) -> str:
    given = "" if count == 0 else f"{count} argument{'s' if count > 1 else ''}"
    return f"line 1:8: Unexpected parameters ({given}) for function {name}. Expected: {name}("


def _is_count_refusal(name: str, count: int, message: str) -> bool:
    return (
        message.startswith(_count_refusal(name, count))
        or message == "line 1:8: The 'coalesce' function must have at least two arguments"
        or message.startswith(f"line 1:8: {name}(p) with a precision is not supported by timestream_local")
    )


@pytest.mark.parametrize("name", sorted(set(_function_names()) | set(SIGNATURES)))
def test_every_argument_is_used_or_the_call_is_refused(name):
    for count in range(6):
        outcomes = {kind: _outcome(f"SELECT {name}({', '.join(_markers(kind, count))})") for kind in KINDS}
        if all(_is_count_refusal(name, count, text) for _, text in outcomes.values()):
            continue
        if (name, count) in REFUSED_FORMS:
            assert all(REFUSED_FORMS[name, count] in text for _, text in outcomes.values()), outcomes
            continue
        if (name, count) in VALID:
            sql, evidence = VALID[name, count]
            outcome, text = _outcome(sql)
            assert outcome == "ok", (sql, text)
            assert [e for e in evidence if e not in text] == [], (sql, text)
            continue
        translated = 0
        for kind, (outcome, text) in outcomes.items():
            assert not _is_count_refusal(name, count, text), (name, count, text)
            if outcome != "ok":
                continue
            translated += 1
            markers = [m.strip("'") for m in _markers(kind, count)]
            lost = [m for m in markers if m not in text]
            assert lost == [], (name, kind, count, text)
        assert translated, (name, count, outcomes)  # some kind of argument translates


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT concat('a,b' /* , */, 'c', -- ,\n 'd')",
        "SELECT array_agg(x ORDER BY y, z) FROM (VALUES (1, 2, 3)) AS t(x, y, z)",
        "SELECT count(*), count(DISTINCT x), max(x) FILTER (WHERE x IN (1, 2)) FROM (VALUES 1) AS t(x)",
        "SELECT lag(x, 1) OVER (PARTITION BY x, x ORDER BY x, x) FROM (VALUES 1) AS t(x)",
        "SELECT substring('abc' FROM 1 FOR 2), position('b' IN 'abc'), trim(BOTH 'x' FROM 'xax')",
        "SELECT transform(ARRAY[1, 2], x -> x + 1), reduce(ARRAY[1], 0, (s, x) -> s + x, s -> s)",
        "SELECT CAST(ROW(1, 2) AS ROW(a INTEGER, b INTEGER)), extract(year FROM now()), abs(greatest(1, 2, 3))",
        "SELECT e() FROM (VALUES 1) AS e(x)",
        "SELECT coalesce(NULL, (SELECT max(x) FROM (VALUES 1, 2) AS t(x)), abs(-1)), current_timestamp, now()",
    ],
)
def test_calls_written_in_every_shape_are_counted_right(sql):
    assert _outcome(sql)[0] == "ok", _outcome(sql)


def _refused(query, sql: str) -> str:
    with pytest.raises(query.exceptions.ValidationException) as error:
        query.query(QueryString=sql)
    return error.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT ceil(2.5, 2)", "line 1:8: Unexpected parameters (2 arguments) for function ceil. Expected: ceil(x)"),
        ("SELECT array_agg(1, 2)",
         "line 1:8: Unexpected parameters (2 arguments) for function array_agg. Expected: array_agg(x)"),
        ("SELECT 1,\n  bitwise_and(1, 2, 3)",
         "line 2:3: Unexpected parameters (3 arguments) for function bitwise_and. Expected: bitwise_and(x, y)"),
        ("SELECT chr(65, 66)", "line 1:8: Unexpected parameters (2 arguments) for function chr. Expected: chr(x)"),
        ("SELECT bitwise_not(1, 2)",
         "line 1:8: Unexpected parameters (2 arguments) for function bitwise_not. Expected: bitwise_not(x)"),
        ("SELECT array_position(ARRAY[1], 1, 1)", "line 1:8: Unexpected parameters (3 arguments) for function "
         "array_position. Expected: array_position(x, element)"),
        ("SELECT array_join(ARRAY['a'], ',', 'n', 'extra')", "line 1:8: Unexpected parameters (4 arguments) for "
         "function array_join. Expected: array_join(x, delimiter), array_join(x, delimiter, null_replacement)"),
        ("SELECT ceiling(1, 2, 3)",
         "line 1:8: Unexpected parameters (3 arguments) for function ceiling. Expected: ceiling(x)"),
        ("SELECT abs()", "line 1:8: Unexpected parameters () for function abs. Expected: abs(x)"),
        ("SELECT round(1.5, 1, 1)",
         "line 1:8: Unexpected parameters (3 arguments) for function round. Expected: round(x), round(x, d)"),
        ("SELECT concat('a')",
         "line 1:8: Unexpected parameters (1 argument) for function concat. Expected: concat(x1, x2, ...)"),
        ("SELECT coalesce(1)", "line 1:8: The 'coalesce' function must have at least two arguments"),
        ("SELECT from_unixtime(0, 'UTC')", "line 1:8: Unexpected parameters (2 arguments) for function "
         "from_unixtime. Expected: from_unixtime(unixtime)"),
        ("SELECT current_timestamp(3)", "line 1:8: current_timestamp(p) with a precision is not supported by "
         "timestream_local (its clock answers in nanoseconds); write current_timestamp without parentheses"),
        ("SELECT abs(1), abs(1, 2), ceil(1, 2)",
         "line 1:16: Unexpected parameters (2 arguments) for function abs. Expected: abs(x)"),
    ],
)  # fmt: skip
def test_wrong_argument_counts_are_refused_over_http(query, sql, message):
    assert _refused(query, sql) == message


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT ceil(2.5), round(2.45, 1), bitwise_and(12, 10), chr(65)", ["3.0", "2.5", "8", "A"]),
        ("SELECT array_position(ARRAY[5, 6, 7], 7), array_join(ARRAY['a', NULL], ',', 'n')", ["3", "a,n"]),
        ("SELECT concat('a', 'b', 'c'), coalesce(NULL, NULL, 3), greatest(1, 5, 2)", ["abc", "3", "5"]),
        ("SELECT substring('abcdef' FROM 2 FOR 3), position('c' IN 'abc')", ["bcd", "3"]),
    ],
)
def test_valid_calls_still_answer(query, sql, expected):
    page = query.query(QueryString=sql)
    assert [datum.get("ScalarValue") for datum in page["Rows"][0]["Data"]] == expected
