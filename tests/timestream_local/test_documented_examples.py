"""The examples of AWS's Timestream for LiveAnalytics developer guide that publish a result, run over
HTTP against a real timestream_local: the expected values are the documented results (each case
names its page); where a page gives no result, the value is worked out here from the function's
definition, and the comment says so. Nothing is read from the store's own output.
"""

from __future__ import annotations

import datetime as dt

import pytest

GUIDE = "https://docs.aws.amazon.com/timestream/latest/developerguide"
AGGREGATE = f"{GUIDE}/aggregate-functions.html"
DATE_TIME = f"{GUIDE}/date-time-functions.html"
ARRAYS = f"{GUIDE}/array-functions.html"
OPERATORS = f"{GUIDE}/date-time-operators.html"
REGEX = f"{GUIDE}/regex-functions.html"

LETTERS = "(VALUES (('a', 1)), (('b', 2)), (('c', 3)), (('d', 4))) AS t(c1, c2)"


def _cell(datum: dict) -> object:
    if "ArrayValue" in datum:
        return [_cell(item) for item in datum["ArrayValue"]]
    return datum.get("ScalarValue")


def _type(column: dict) -> str:
    kind = column["Type"]
    if "ArrayColumnInfo" in kind:
        return f"ARRAY({kind['ArrayColumnInfo']['Type']['ScalarType']})"
    return kind["ScalarType"]


def _one(query, sql: str) -> tuple[str, object]:
    """(type, value) of a one-column, one-row answer."""
    page = query.query(QueryString=sql)
    assert len(page["Rows"]) == 1 and len(page["ColumnInfo"]) == 1, page
    return _type(page["ColumnInfo"][0]), _cell(page["Rows"][0]["Data"][0])


# (page, query, ScalarType, documented result)
EXAMPLES = [
    (
        AGGREGATE,
        "SELECT array_agg(t.c) FROM (VALUES 1, 2, 3, 4) AS t(c)",
        "ARRAY(INTEGER)",
        ["1", "2", "3", "4"],
    ),
    (AGGREGATE, "SELECT avg(t.c) FROM (VALUES 1, 2, 3, 4) AS t(c)", "DOUBLE", "2.5"),
    (AGGREGATE, "SELECT bool_and(t.c) FROM (VALUES true, true, false, true) AS t(c)", "BOOLEAN", "false"),
    (AGGREGATE, "SELECT every(t.c) FROM (VALUES true, true, false, true) AS t(c)", "BOOLEAN", "false"),
    (AGGREGATE, "SELECT bool_or(t.c) FROM (VALUES true, true, false, true) AS t(c)", "BOOLEAN", "true"),
    (AGGREGATE, "SELECT count(t.c) FROM (VALUES true, true, false, true) AS t(c)", "BIGINT", "4"),
    (AGGREGATE, "SELECT count_if(t.c) FROM (VALUES true, true, false, true) AS t(c)", "BIGINT", "3"),
    (AGGREGATE, "SELECT geometric_mean(t.c) FROM (VALUES 1, 2, 3, 4) AS t(c)", "DOUBLE", "2.213363839400643"),
    (AGGREGATE, f"SELECT max_by(t.c1, t.c2) FROM {LETTERS}", "VARCHAR", "d"),
    # the page gives no result for these: n values of x by y descending (max_by) or ascending (min_by)
    (AGGREGATE, f"SELECT max_by(t.c1, t.c2, 2) FROM {LETTERS}", "ARRAY(VARCHAR)", ["d", "c"]),
    (AGGREGATE, f"SELECT min_by(t.c1, t.c2, 2) FROM {LETTERS}", "ARRAY(VARCHAR)", ["a", "b"]),
    (AGGREGATE, "SELECT max(t.c, 2) FROM (VALUES 1, 2, 3, 4) AS t(c)", "ARRAY(INTEGER)", ["4", "3"]),
    (AGGREGATE, "SELECT min(t.c, 2) FROM (VALUES 1, 2, 3, 4) AS t(c)", "ARRAY(INTEGER)", ["1", "2"]),
    (ARRAYS, "SELECT array_distinct(ARRAY[1,2,2,3])", "ARRAY(INTEGER)", ["1", "2", "3"]),
    (ARRAYS, "SELECT array_intersect(ARRAY[1,2,3], ARRAY[3,4,5])", "ARRAY(INTEGER)", ["3"]),
    (ARRAYS, "SELECT array_union(ARRAY[1,2,3], ARRAY[3,4,5])", "ARRAY(INTEGER)", ["1", "2", "3", "4", "5"]),
    (ARRAYS, "SELECT array_except(ARRAY[1,2,3], ARRAY[3,4,5])", "ARRAY(INTEGER)", ["1", "2"]),
    (ARRAYS, "SELECT array_join(ARRAY[1,2,3], ';', '')", "VARCHAR", "1;2;3"),
    (ARRAYS, "SELECT array_max(ARRAY[1,2,3])", "INTEGER", "3"),
    (ARRAYS, "SELECT array_min(ARRAY[1,2,3])", "INTEGER", "1"),
    (ARRAYS, "SELECT array_position(ARRAY[3,4,5,9], 5)", "BIGINT", "3"),
    (ARRAYS, "SELECT array_remove(ARRAY[3,4,5,9], 4)", "ARRAY(INTEGER)", ["3", "5", "9"]),
    (ARRAYS, "SELECT array_sort(ARRAY[6,8,2,9,3])", "ARRAY(INTEGER)", ["2", "3", "6", "8", "9"]),
    (OPERATORS, "SELECT date '2022-05-21' + interval '2' day", "DATE", "2022-05-23"),
    (OPERATORS, "SELECT date '2022-05-21' + 2d", "DATE", "2022-05-23"),
    (OPERATORS, "SELECT date '2022-05-21' + 2day", "DATE", "2022-05-23"),
    (OPERATORS, "SELECT interval '4' year + interval '2' month", "INTERVAL_YEAR_TO_MONTH", "4-2"),
    (OPERATORS, "SELECT typeof(interval '4' year + interval '2' month)", "VARCHAR", "interval year to month"),
    (OPERATORS, "SELECT typeof(date '2022-05-21' + interval '2' day)", "VARCHAR", "date"),
    (OPERATORS, "SELECT interval '2' year + interval '4' month", "INTERVAL_YEAR_TO_MONTH", "2-4"),
    (OPERATORS, "SELECT typeof(interval '2' year + interval '4' month)", "VARCHAR", "interval year to month"),
    (
        OPERATORS,
        "SELECT timestamp '2022-06-17 01:00' - interval '7' hour",
        "TIMESTAMP",
        "2022-06-16 18:00:00.000000000",
    ),
    (OPERATORS, "SELECT typeof(timestamp '2022-06-17 01:00' - interval '7' hour)", "VARCHAR", "timestamp"),
    (
        OPERATORS,
        "SELECT interval '6' day - interval '4' hour",
        "INTERVAL_DAY_TO_SECOND",
        "5 20:00:00.000000000",
    ),
    (OPERATORS, "SELECT typeof(interval '6' day - interval '4' hour)", "VARCHAR", "interval day to second"),
    (REGEX, r"SELECT regexp_extract_all('example expect complex', 'ex\w')", "ARRAY(VARCHAR)", ["exa", "exp"]),
    (
        REGEX,
        r"SELECT regexp_extract_all('example expect complex', '(ex)(\w)', 2)",
        "ARRAY(VARCHAR)",
        ["a", "p"],
    ),
    (REGEX, r"SELECT regexp_extract('example expect', 'ex\w')", "VARCHAR", "exa"),
    (REGEX, r"SELECT regexp_extract('example expect', '(ex)(\w)', 2)", "VARCHAR", "a"),
    (REGEX, "SELECT regexp_like('example', 'ex')", "BOOLEAN", "true"),
    # the page shows "example": the text before the removed word, whose trailing space it does not show
    (REGEX, "SELECT regexp_replace('example expect', 'expect')", "VARCHAR", "example "),
    (DATE_TIME, "SELECT current_timezone()", "VARCHAR", "UTC"),
    (DATE_TIME, "SELECT date(TIMESTAMP '2022-07-07 17:44:43.771000000')", "DATE", "2022-07-07"),
    (DATE_TIME, "SELECT last_day_of_month(TIMESTAMP '2022-07-07 17:44:43.771000000')", "DATE", "2022-07-31"),
    (
        DATE_TIME,
        "SELECT from_iso8601_timestamp('2022-06-17T08:04:05.000000000+05:00')",
        "TIMESTAMP",
        "2022-06-17 03:04:05.000000000",
    ),
]


@pytest.mark.parametrize(("page", "sql", "scalar_type", "expected"), EXAMPLES, ids=[e[1] for e in EXAMPLES])
def test_documented_example(query, page, sql, scalar_type, expected):
    assert _one(query, sql) == (scalar_type, expected), page


def test_arbitrary_answers_one_of_the_values(query):
    # AGGREGATE shows 1: any non-null input value is a correct answer
    scalar_type, value = _one(query, "SELECT arbitrary(t.c) FROM (VALUES 1, 2, 3, 4) AS t(c)")
    assert scalar_type == "INTEGER" and value in {"1", "2", "3", "4"}


def test_current_date_and_timestamp_are_today_in_utc(query):
    # DATE_TIME: current_date is a DATE, current_timestamp a TIMESTAMP with nine fractional digits, in UTC
    before = dt.datetime.now(dt.UTC)
    page = query.query(QueryString="SELECT current_date, current_timestamp, now()")
    after = dt.datetime.now(dt.UTC)
    assert [_type(c) for c in page["ColumnInfo"]] == ["DATE", "TIMESTAMP", "TIMESTAMP"]
    day, stamp, now = (_cell(d) for d in page["Rows"][0]["Data"])
    assert day in {before.date().isoformat(), after.date().isoformat()}
    assert stamp == now and len(stamp) == len("2022-07-07 17:42:32.939000000")
    moment = dt.datetime.strptime(stamp[:26], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=dt.UTC)
    assert before - dt.timedelta(seconds=1) <= moment <= after


def test_a_duration_written_with_a_word_is_a_duration(query):
    # OPERATORS: "interval literals such as 1day and 3s can be used"; the unnamed column is _col0,
    # not an alias taken from the unit (2day read as 2 AS day)
    page = query.query(QueryString="SELECT date '2022-05-21' + 2day, TIMESTAMP '2022-05-21 00:00:00' + 3hour")
    assert [c["Name"] for c in page["ColumnInfo"]] == ["_col0", "_col1"]
    assert [_cell(d) for d in page["Rows"][0]["Data"]] == ["2022-05-23", "2022-05-21 03:00:00.000000000"]
    assert _one(query, "SELECT 1week + 2minute + 5second") == (
        "INTERVAL_DAY_TO_SECOND",
        "7 00:02:05.000000000",
    )
    with pytest.raises(query.exceptions.ValidationException, match="'2days' is not a duration"):
        query.query(QueryString="SELECT date '2022-05-21' + 2days")
