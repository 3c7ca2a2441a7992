"""What each supported construct returns, checked against values worked out by hand.

The queries run through execute_query on an in-memory DuckDB laid out as the storage contract
says (schema "iot", relation "pm25" with the dimension, measure_name, time and measure_value::*
columns), with "now" fixed so ago()/now() are exact. Each also runs through prepared statements
(see ``run``), as the server runs it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pytest

from timestream_local.exceptions import TimestreamError, ValidationException
from timestream_local.query import execute_query
from timestream_local.query.prepared import PreparedStatements

NS = 1_000_000_000
# 2026-11-28 02:08:09 UTC, the "now" of every query here
NOW = int(dt.datetime(2026, 11, 28, 2, 8, 9, tzinfo=dt.UTC).timestamp()) * NS
COLUMNS = (
    'city VARCHAR, location VARCHAR, measure_name VARCHAR, time TIMESTAMP_NS, "measure_value::bigint" BIGINT, '
    '"measure_value::double" DOUBLE, "measure_value::varchar" VARCHAR, "measure_value::boolean" BOOLEAN, '
    '"measure_value::timestamp" TIMESTAMP_NS'
)


def make_db(rows: list[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    """An in-memory database with iot.pm25 holding `rows` (time in ns since the epoch)."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA iot")
    con.execute(f"CREATE TABLE iot.pm25 ({COLUMNS})")
    for row in rows:
        con.execute(
            'INSERT INTO iot.pm25 (city, location, measure_name, time, "measure_value::bigint", '
            '"measure_value::double", "measure_value::varchar", "measure_value::boolean") '
            "VALUES (?, ?, ?, make_timestamp_ns(?), ?, ?, ?, ?)",
            [
                row.get("city"),
                row.get("location"),
                row.get("measure_name", "pm2.5"),
                row["time"],
                row.get("bigint"),
                row.get("double"),
                row.get("varchar"),
                row.get("boolean"),
            ],
        )
    return con


def plain(datum: dict[str, Any]) -> Any:
    """A Datum as a plain Python value (strings stay strings, as Timestream sends them)."""
    if datum.get("NullValue"):
        return None
    if "ScalarValue" in datum:
        return datum["ScalarValue"]
    if "TimeSeriesValue" in datum:
        return [(point["Time"], plain(point["Value"])) for point in datum["TimeSeriesValue"]]
    if "ArrayValue" in datum:
        return [plain(d) for d in datum["ArrayValue"]]
    if "RowValue" in datum:
        return tuple(plain(d) for d in datum["RowValue"]["Data"])
    raise AssertionError(f"not a Datum: {datum}")


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        result = call()
    except TimestreamError as error:
        return "error", (type(error), error.message)
    return "result", (result.column_info, result.rows)


def run(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[dict[str, Any]], list[tuple]]:
    """The query's columns and rows. Every query also runs as the server runs it, through a
    connection's prepared statements (sent as text the first time, prepared the second, reused
    the third), and must give the same answer, or the same error, as when sent as text."""
    cursor = con.cursor()
    prepared = PreparedStatements(cursor)
    expected = _outcome(lambda: execute_query(con.cursor(), sql, 10, now_ns=NOW))
    for attempt in ("first", "second", "third"):
        outcome = _outcome(lambda: execute_query(cursor, sql, 10, now_ns=NOW, prepared=prepared))
        assert outcome == expected, f"{attempt} prepared run differs from the text run"
    result = execute_query(con.cursor(), sql, 10, now_ns=NOW)
    return result.column_info, [tuple(plain(d) for d in row["Data"]) for row in result.rows]


def values(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return run(con, sql)[1]


def ts(seconds_after_midnight: float, nanos: int = 0) -> int:
    """ns of 2026-11-28 00:00:00 UTC + seconds (+ nanos)."""
    midnight = NOW - (2 * 3600 + 8 * 60 + 9) * NS
    return midnight + int(seconds_after_midnight * NS) + nanos


@pytest.fixture
def empty():
    return make_db([])


# ------------------------------------------------------------------------------ time functions


def test_ago_is_relative_to_now_and_inclusive_at_the_boundary():
    con = make_db([
        {"location": "a", "time": NOW - 30 * NS, "bigint": 1},  # exactly 30 s ago
        {"location": "b", "time": NOW - 30 * NS - 1, "bigint": 2},  # one ns earlier
        {"location": "c", "time": NOW, "bigint": 3},
    ])  # fmt: skip
    assert values(con, "SELECT location FROM iot.pm25 WHERE time >= ago(30s) ORDER BY location") == [
        ("a",),
        ("c",),
    ]
    assert values(con, "SELECT location FROM iot.pm25 WHERE time > ago(30s) ORDER BY location") == [("c",)]
    assert values(con, "SELECT count(*) FROM iot.pm25 WHERE time >= ago(30000ms)") == [("2",)]
    assert values(con, "SELECT count(*) FROM iot.pm25 WHERE time >= ago(30000000001ns)") == [("3",)]


def test_now_and_ago_print_with_nine_fraction_digits(empty):
    info, rows = run(empty, "SELECT now() AS n, ago(1d) AS d, ago(90m), ago(2h), ago(10us)")
    assert rows == [(
        "2026-11-28 02:08:09.000000000",
        "2026-11-27 02:08:09.000000000",
        "2026-11-28 00:38:09.000000000",
        "2026-11-28 00:08:09.000000000",
        "2026-11-28 02:08:08.999990000",
    )]  # fmt: skip
    assert [c["Name"] for c in info] == ["n", "d", "_col2", "_col3", "_col4"]
    assert all(c["Type"] == {"ScalarType": "TIMESTAMP"} for c in info)


def test_bin_rounds_down_to_multiples_since_the_epoch():
    con = make_db([
        {"location": "a", "time": ts(29, 999_999_999)},
        {"location": "b", "time": ts(30)},
        {"location": "c", "time": ts(89, 5)},
        {"location": "d", "time": -1},  # 1969-12-31 23:59:59.999999999
    ])  # fmt: skip
    rows = values(
        con, "SELECT location, bin(time, 30s), bin(time, 1h), bin(time, 100ns) FROM iot.pm25 ORDER BY 1"
    )
    assert rows == [
        (
            "a",
            "2026-11-28 00:00:00.000000000",
            "2026-11-28 00:00:00.000000000",
            "2026-11-28 00:00:29.999999900",
        ),
        (
            "b",
            "2026-11-28 00:00:30.000000000",
            "2026-11-28 00:00:00.000000000",
            "2026-11-28 00:00:30.000000000",
        ),
        (
            "c",
            "2026-11-28 00:01:00.000000000",
            "2026-11-28 00:00:00.000000000",
            "2026-11-28 00:01:29.000000000",
        ),
        (
            "d",
            "1969-12-31 23:59:30.000000000",
            "1969-12-31 23:00:00.000000000",
            "1969-12-31 23:59:59.999999900",
        ),
    ]


def test_group_by_bin_averages_each_bin():
    con = make_db(
        [{"location": "a", "time": ts(s), "bigint": v} for s, v in [(1, 10), (20, 11), (31, 40), (59, 50)]]
    )
    rows = values(
        con,
        "SELECT bin(time, 30s) AS b, avg(measure_value::bigint) AS a, count(*) AS n "
        "FROM iot.pm25 GROUP BY bin(time, 30s) ORDER BY b",
    )
    assert rows == [
        ("2026-11-28 00:00:00.000000000", "10.5", "2"),
        ("2026-11-28 00:00:30.000000000", "45.0", "2"),
    ]


def test_date_trunc_and_milliseconds_conversions():
    con = make_db([{"location": "a", "time": ts(3723, 456_789_123)}])  # 01:02:03.456789123
    rows = values(
        con,
        "SELECT date_trunc('minute', time), date_trunc('hour', time), to_milliseconds(time), "
        "to_nanoseconds(time), from_milliseconds(to_milliseconds(time)), from_nanoseconds(to_nanoseconds(time)) "
        "FROM iot.pm25",
    )
    ms = (ts(3723) + 456_000_000) // 1_000_000
    assert rows == [(
        "2026-11-28 01:02:00.000000000",
        "2026-11-28 01:00:00.000000000",
        str(ms),
        str(ts(3723, 456_789_123)),
        "2026-11-28 01:02:03.456000000",
        "2026-11-28 01:02:03.456789123",
    )]  # fmt: skip


def test_durations_convert_to_milliseconds_and_nanoseconds(empty):
    assert values(empty, "SELECT to_milliseconds(1h), to_nanoseconds(5us), to_milliseconds(1d)") == [
        ("3600000", "5000", "86400000")
    ]


def test_from_milliseconds_of_a_literal(empty):
    assert values(empty, "SELECT from_milliseconds(1795831689123)") == [("2026-11-28 02:08:09.123000000",)]


def test_timestamp_arithmetic_with_durations_and_intervals():
    con = make_db([{"location": "a", "time": ts(60)}])
    rows = values(con, "SELECT time - 1h, time + 30s, time - INTERVAL '1' DAY FROM iot.pm25")
    assert rows == [(
        "2026-11-27 23:01:00.000000000",
        "2026-11-28 00:01:30.000000000",
        "2026-11-27 00:01:00.000000000",
    )]  # fmt: skip


def test_timestamp_literals_compare_with_time():
    con = make_db([{"location": "a", "time": ts(60)}, {"location": "b", "time": ts(120)}])
    assert values(con, "SELECT location FROM iot.pm25 WHERE time > TIMESTAMP '2026-11-28 00:01:30'") == [
        ("b",)
    ]
    assert values(con, "SELECT location FROM iot.pm25 WHERE time BETWEEN '2026-11-28 00:00:00' AND "
                       "'2026-11-28 00:01:00' ORDER BY 1") == [("a",)]  # fmt: skip


# ---------------------------------------------------------------------------- numbers and text


def test_round_is_half_away_from_zero_and_avg_of_bigint_is_double():
    con = make_db([{"location": "a", "time": ts(i), "bigint": v} for i, v in enumerate([1, 2, 4])])
    info, rows = run(
        con,
        "SELECT round(2.5), round(-2.5), round(0.125, 2), round(-0.125, 2), round(avg(measure_value::bigint), 0), "
        "round(avg(measure_value::bigint), 2), avg(measure_value::bigint) FROM iot.pm25",
    )
    # avg(1, 2, 4) = 2.3333...
    assert rows == [("3.0", "-3.0", "0.13", "-0.13", "2.0", "2.33", "2.3333333333333335")]
    assert info[4]["Type"] == {"ScalarType": "DOUBLE"}
    assert info[6]["Type"] == {"ScalarType": "DOUBLE"}


def test_round_follows_trino_where_the_scaled_double_is_a_half(empty):
    # 119.16499999999999 * 100 is exactly 11916.5 as a double: Trino's Math.round gives 119.17
    # (an interpolated value: 127.67 + (116.33 - 127.67) * 3 / 4)
    info, rows = run(
        empty,
        "SELECT round(CAST(127.67 AS DOUBLE) + (CAST(116.33 AS DOUBLE) - CAST(127.67 AS DOUBLE)) * 3 / 4, 2), "
        "round(CAST(-119.16499999999999 AS DOUBLE), 2), round(CAST(5 AS BIGINT), 2), round(CAST(0.49999999999999994 AS DOUBLE))",
    )
    assert rows == [("119.17", "-119.17", "5", "0.0")]
    assert info[2]["Type"] == {"ScalarType": "BIGINT"}


def test_round_of_a_bin_average_ending_in_five():
    con = make_db(
        [{"location": "a", "time": ts(1), "bigint": 72}, {"location": "a", "time": ts(2), "bigint": 73}]
    )
    assert values(con, "SELECT round(avg(measure_value::bigint), 0) FROM iot.pm25") == [("73.0",)]


def test_integer_division_truncates_like_presto(empty):
    info, rows = run(empty, "SELECT 7 / 2, -7 / 2, 7.0 / 2, 7 / 2.0, 7 % 3, -7 % 3")
    assert rows == [("3", "-3", "3.5", "3.5", "1", "-1")]
    assert info[0]["Type"] == {"ScalarType": "INTEGER"}
    assert info[2]["Type"] == {"ScalarType": "DOUBLE"}


def test_translated_functions_keep_operator_precedence(empty):
    rows = values(
        empty, "SELECT (1 + 5) / 2, 10 - 6 / 3, round(1 + 0.125, 2) * 2, SEQUENCE(1 + 1, 5 - 1), 2 * 3 / 4"
    )
    assert rows == [("3", "8", "2.26", ["2", "3", "4"], "1")]


def test_bigint_column_division_stays_integer():
    con = make_db([{"location": "a", "time": ts(1), "bigint": 7}])
    info, rows = run(con, "SELECT measure_value::bigint / 2, measure_value::bigint / 2.0 FROM iot.pm25")
    assert rows == [("3", "3.5")]
    assert info[0]["Type"] == {"ScalarType": "BIGINT"}


def test_division_by_zero_is_a_validation_error(empty):
    with pytest.raises(ValidationException, match=r"(?i)division by zero"):
        run(empty, "SELECT 1 / 0")


def test_case_coalesce_if_and_string_functions():
    con = make_db(
        [{"location": "Huaqiao City", "time": ts(1), "bigint": 120}, {"location": "x", "time": ts(2)}]
    )
    rows = values(
        con,
        "SELECT CASE WHEN measure_value::bigint > 100 THEN 'high' WHEN measure_value::bigint IS NULL THEN 'none' "
        "ELSE 'low' END, coalesce(measure_value::bigint, -1), if(location = 'x', 1, 0), lower(location), "
        "length(location), substr(location, 1, 3), location || '!' FROM iot.pm25 ORDER BY time",
    )
    assert rows == [
        ("high", "120", "0", "huaqiao city", "12", "Hua", "Huaqiao City!"),
        ("none", "-1", "1", "x", "1", "x", "x!"),
    ]


def test_measure_value_columns_of_every_type():
    con = make_db([
        {"location": "a", "time": ts(1), "measure_name": "d", "double": 1.5},
        {"location": "a", "time": ts(2), "measure_name": "v", "varchar": "on"},
        {"location": "a", "time": ts(3), "measure_name": "b", "boolean": True},
    ])  # fmt: skip
    info, rows = run(
        con,
        "SELECT measure_name, measure_value::double, measure_value::varchar, measure_value::boolean "
        "FROM iot.pm25 ORDER BY time",
    )
    assert [c["Name"] for c in info] == [
        "measure_name", "measure_value::double", "measure_value::varchar", "measure_value::boolean",
    ]  # fmt: skip
    assert [c["Type"]["ScalarType"] for c in info] == ["VARCHAR", "DOUBLE", "VARCHAR", "BOOLEAN"]
    assert rows == [("d", "1.5", None, None), ("v", None, "on", None), ("b", None, None, "true")]


@pytest.mark.parametrize(
    "source", ['"iot"."pm25"', "iot.pm25", '"iot".pm25', 'iot."pm25"', "iot.pm25 AS p", "iot.pm25 p"]
)
def test_quoted_and_unquoted_table_references(source):
    con = make_db([{"location": "a", "time": ts(1), "bigint": 5}])
    assert values(con, f"SELECT count(*) FROM {source}") == [("1",)]


def test_with_subquery_group_order_limit():
    rows = [{"city": c, "location": f"{c}{i}", "time": ts(i), "bigint": v} for c, i, v in
            [("A", 1, 10), ("A", 2, 30), ("B", 3, 5), ("B", 4, 7), ("C", 5, 100)]]  # fmt: skip
    con = make_db(rows)
    result = values(
        con,
        "WITH per_city AS (SELECT city, avg(measure_value::bigint) AS a FROM iot.pm25 GROUP BY city) "
        "SELECT city, a FROM (SELECT * FROM per_city WHERE a > 5.5) ORDER BY a DESC LIMIT 2",
    )
    assert result == [("C", "100.0"), ("A", "20.0")]


def test_unnamed_columns_are_named_like_trino(empty):
    info, _ = run(empty, "SELECT 1, 2 AS two, 'x'")
    assert [c["Name"] for c in info] == ["_col0", "two", "_col2"]


def test_doubles_print_as_timestream_prints_them(empty):
    rows = values(
        empty,
        "SELECT 58.0, 0.001, 1e7, 12345678.9, 0.00015, -2.5e-10, 1e300 * 10, CAST(0.1 AS DOUBLE) + CAST(0.2 AS DOUBLE)",
    )
    assert rows == [
        ("58.0", "0.001", "1.0E7", "1.23456789E7", "1.5E-4", "-2.5E-10", "1.0E301", "0.30000000000000004")
    ]


def test_nulls_are_null_values(empty):
    info, rows = run(empty, "SELECT NULL, CAST(NULL AS BIGINT)")
    assert rows == [(None, None)]
    assert info[1]["Type"] == {"ScalarType": "BIGINT"}


# ------------------------------------------------------------------------ time series functions


def _series(points: list[tuple[float, int | None]], location: str = "s") -> list[dict[str, Any]]:
    return [{"location": location, "time": ts(sec), "bigint": value} for sec, value in points]


def test_create_time_series_sorts_by_time_and_skips_nulls():
    con = make_db(_series([(60, 3), (0, 1), (30, None), (90, 4)]) + _series([(5, 9)], "t"))
    info, rows = run(
        con,
        "SELECT location, CREATE_TIME_SERIES(time, measure_value::bigint) AS pm25 FROM iot.pm25 "
        "GROUP BY location ORDER BY location",
    )
    assert info[1] == {
        "Name": "pm25",
        "Type": {"TimeSeriesMeasureValueColumnInfo": {"Type": {"ScalarType": "BIGINT"}}},
    }
    assert rows == [
        ("s", [("2026-11-28 00:00:00.000000000", "1"), ("2026-11-28 00:01:00.000000000", "3"),
               ("2026-11-28 00:01:30.000000000", "4")]),
        ("t", [("2026-11-28 00:00:05.000000000", "9")]),
    ]  # fmt: skip


def test_create_time_series_orders_repeated_times_by_value():
    """Two readings at one time (here from two stations pooled into one series): ordered by value,
    the same on every run whatever order the rows were written in."""
    con = make_db(_series([(30, 7), (0, 5)]) + _series([(30, 2), (0, 8)], "t"))
    for _ in range(3):
        _, rows = run(con, "SELECT CREATE_TIME_SERIES(time, measure_value::bigint) AS pm25 FROM iot.pm25")
        assert rows == [
            ([("2026-11-28 00:00:00.000000000", "5"), ("2026-11-28 00:00:00.000000000", "8"),
              ("2026-11-28 00:00:30.000000000", "2"), ("2026-11-28 00:00:30.000000000", "7")],),
        ]  # fmt: skip


INTERP_DATA = [(0, 10), (60, 40), (90, 40)]  # 00:00:00 -> 10, 00:01:00 -> 40, 00:01:30 -> 40
SEQ = "SEQUENCE(TIMESTAMP '2026-11-27 23:59:30', TIMESTAMP '2026-11-28 00:02:00', 30s)"


def _interp(function: str, extra: str = "") -> list[tuple]:
    con = make_db(_series(INTERP_DATA))
    return values(
        con,
        f"WITH s AS (SELECT {function}(CREATE_TIME_SERIES(time, measure_value::bigint), {SEQ}{extra}) AS ts "
        "FROM iot.pm25) SELECT time, value FROM s CROSS JOIN UNNEST(ts) ORDER BY time",
    )


def test_interpolate_linear_fills_between_points_and_drops_outside():
    assert _interp("INTERPOLATE_LINEAR") == [
        ("2026-11-28 00:00:00.000000000", "10.0"),
        ("2026-11-28 00:00:30.000000000", "25.0"),  # halfway between 10 and 40
        ("2026-11-28 00:01:00.000000000", "40.0"),
        ("2026-11-28 00:01:30.000000000", "40.0"),
    ]  # 23:59:30 (before the first point) and 00:02:00 (after the last) are dropped


def test_interpolate_locf_carries_the_last_value_forward():
    assert _interp("INTERPOLATE_LOCF") == [
        ("2026-11-28 00:00:00.000000000", "10"),
        ("2026-11-28 00:00:30.000000000", "10"),
        ("2026-11-28 00:01:00.000000000", "40"),
        ("2026-11-28 00:01:30.000000000", "40"),
        ("2026-11-28 00:02:00.000000000", "40"),
    ]


def test_interpolate_fill_uses_the_constant_where_there_is_no_point():
    assert _interp("INTERPOLATE_FILL", ", -1") == [
        ("2026-11-27 23:59:30.000000000", "-1"),
        ("2026-11-28 00:00:00.000000000", "10"),
        ("2026-11-28 00:00:30.000000000", "-1"),
        ("2026-11-28 00:01:00.000000000", "40"),
        ("2026-11-28 00:01:30.000000000", "40"),
        ("2026-11-28 00:02:00.000000000", "-1"),
    ]


def test_interpolate_linear_at_uneven_times_and_one_timestamp():
    con = make_db(_series([(0, 0), (40, 100)]))
    rows = values(
        con,
        "SELECT INTERPOLATE_LINEAR(CREATE_TIME_SERIES(time, measure_value::bigint), TIMESTAMP '2026-11-28 00:00:10'), "
        "INTERPOLATE_LINEAR(CREATE_TIME_SERIES(time, measure_value::bigint), TIMESTAMP '2026-11-28 00:01:00') "
        "FROM iot.pm25",
    )
    assert rows == [("25.0", None)]


def test_interpolation_panel_shape_with_a_missing_bin():
    """Panel 6's pattern: 30 s bin averages, a missing bin filled linearly, rounded to 2 places."""
    points = [(0, 10), (10, 11), (35, 20), (95, 31), (100, 32)]  # bins 00:00 (10.5), 00:30 (20), 01:30 (31.5)
    con = make_db(_series(points, "huaqiao city"))
    rows = values(
        con,
        "WITH binned_timeseries AS (SELECT location, BIN(time, 30s) AS binned_timestamp, "
        'ROUND(AVG(measure_value::bigint), 2) AS avg_pm25 FROM "iot"."pm25" WHERE measure_name = \'pm2.5\' '
        "AND location = 'huaqiao city' AND time > ago(1d) GROUP BY location, BIN(time, 30s)), "
        "interpolated_timeseries AS (SELECT location, INTERPOLATE_LINEAR(CREATE_TIME_SERIES(binned_timestamp, "
        "avg_pm25), SEQUENCE(MIN(binned_timestamp), MAX(binned_timestamp), 30s)) AS interpolated_avg_pm25 "
        "FROM binned_timeseries GROUP BY location) SELECT time, ROUND(value, 2) AS interpolated_avg_pm25 "
        "FROM interpolated_timeseries CROSS JOIN UNNEST(interpolated_avg_pm25) ORDER BY time",
    )
    # 00:01:00 lies between 20 (00:00:30) and 31.5 (00:01:30): 20 + 11.5 / 2 = 25.75
    assert rows == [
        ("2026-11-28 00:00:00.000000000", "10.5"),
        ("2026-11-28 00:00:30.000000000", "20.0"),
        ("2026-11-28 00:01:00.000000000", "25.75"),
        ("2026-11-28 00:01:30.000000000", "31.5"),
    ]


def test_sequence_of_timestamps_and_integers(empty):
    info, rows = run(
        empty,
        "SELECT SEQUENCE(TIMESTAMP '2026-11-28 00:00:00', TIMESTAMP '2026-11-28 00:01:00', 30s) AS s, "
        "SEQUENCE(1, 5), SEQUENCE(1, 10, 3), SEQUENCE(TIMESTAMP '2026-11-28 00:00:00', "
        "TIMESTAMP '2026-11-28 00:00:00.000000250', 100ns)",
    )
    assert info[0] == {"Name": "s", "Type": {"ArrayColumnInfo": {"Type": {"ScalarType": "TIMESTAMP"}}}}
    assert rows == [(
        ["2026-11-28 00:00:00.000000000", "2026-11-28 00:00:30.000000000", "2026-11-28 00:01:00.000000000"],
        ["1", "2", "3", "4", "5"],
        ["1", "4", "7", "10"],
        ["2026-11-28 00:00:00.000000000", "2026-11-28 00:00:00.000000100", "2026-11-28 00:00:00.000000200"],
    )]  # fmt: skip


def test_sequence_that_would_be_huge_is_refused(empty):
    """Trino's limit: a sequence has at most 10,000 entries, whatever form its step takes."""
    with pytest.raises(ValidationException, match="more than 10,000 entries"):
        run(empty, "SELECT SEQUENCE(ago(1d), now(), 1ms)")
    assert values(empty, "SELECT cardinality(SEQUENCE(1, 10000)), cardinality(SEQUENCE(10000, 1))") == [
        ("10000", "10000")
    ]
    assert values(empty, "SELECT cardinality(SEQUENCE(ago(9999s), now(), 1s))") == [("10000",)]
    for one_past in (
        "SEQUENCE(1, 10001)",
        "SEQUENCE(10001, 1)",
        "SEQUENCE(1, 20001, 2)",
        "SEQUENCE(1, 10001, CAST(1 AS BIGINT))",  # a step that is not a literal
        "SEQUENCE(ago(10000s), now(), 1s)",
        "SEQUENCE(TIMESTAMP '2000-01-01 00:00:00', TIMESTAMP '2000-01-07 22:40:00', INTERVAL '1' MINUTE)",
    ):
        with pytest.raises(ValidationException, match="more than 10,000 entries"):
            run(empty, f"SELECT {one_past}")


def test_sequence_steps_follow_trino(empty):
    """Trino: without a step the sequence counts down when stop < start; a zero step, or one that
    leads away from stop, is an error."""
    assert values(empty, "SELECT SEQUENCE(5, 1), SEQUENCE(1, 5, 2), SEQUENCE(5, 1, -2), SEQUENCE(3, 3)") == [
        (["5", "4", "3", "2", "1"], ["1", "3", "5"], ["5", "3", "1"], ["3"])
    ]
    with pytest.raises(ValidationException, match="must not be zero"):
        run(empty, "SELECT SEQUENCE(1, 5, 0)")
    for away in ("SEQUENCE(1, 5, -1)", "SEQUENCE(5, 1, 1)", "SEQUENCE(now(), ago(1h), 1m)"):
        with pytest.raises(ValidationException, match="stop value should be greater than or equal"):
            run(empty, f"SELECT {away}")


def test_unnest_with_column_aliases_and_of_arrays():
    con = make_db(_series([(0, 1), (30, 2)]))
    rows = values(
        con,
        "WITH s AS (SELECT location, CREATE_TIME_SERIES(time, measure_value::bigint) AS ts FROM iot.pm25 "
        "GROUP BY location) SELECT location, t, v FROM s CROSS JOIN UNNEST(ts) AS u(t, v) ORDER BY t",
    )
    assert rows == [("s", "2026-11-28 00:00:00.000000000", "1"), ("s", "2026-11-28 00:00:30.000000000", "2")]
    assert values(con, "SELECT x FROM UNNEST(ARRAY[3, 1, 2]) AS t(x) ORDER BY x") == [("1",), ("2",), ("3",)]
    assert values(con, "SELECT x, n FROM UNNEST(ARRAY[7, 8]) WITH ORDINALITY AS t(x, n) ORDER BY n") == [
        ("7", "1"),
        ("8", "2"),
    ]


def test_unnest_of_series_from_a_subquery_with_select_star():
    con = make_db(_series([(0, 1), (30, 2)]))
    rows = values(
        con,
        "SELECT time, value FROM (SELECT * FROM (SELECT CREATE_TIME_SERIES(time, measure_value::bigint) AS ts "
        "FROM iot.pm25)) CROSS JOIN UNNEST(ts) ORDER BY time",
    )
    assert rows == [("2026-11-28 00:00:00.000000000", "1"), ("2026-11-28 00:00:30.000000000", "2")]


def test_array_functions(empty):
    info, rows = run(empty, "SELECT ARRAY[1, 2, 3], cardinality(ARRAY[1, 2]), element_at(ARRAY[4, 5], 2)")
    assert rows == [(["1", "2", "3"], "2", "5")]
    assert info[0]["Type"] == {"ArrayColumnInfo": {"Type": {"ScalarType": "INTEGER"}}}


def test_date_diff_counts_whole_units_like_trino():
    con = make_db([{"location": "a", "time": ts(119)}])  # 00:01:59
    rows = values(con, "SELECT date_diff('minute', TIMESTAMP '2026-11-28 00:00:30', time), "
                       "date_diff('second', TIMESTAMP '2026-11-28 00:00:30', time) FROM iot.pm25")  # fmt: skip
    assert rows == [("1", "89")]  # 89 s is one whole minute, not two boundaries crossed


def test_window_functions():
    con = make_db(_series([(0, 5), (1, 7), (2, 6)]))
    rows = values(
        con,
        "SELECT measure_value::bigint, row_number() OVER (ORDER BY measure_value::bigint DESC), "
        "lag(measure_value::bigint) OVER (ORDER BY time) FROM iot.pm25 ORDER BY time",
    )
    assert rows == [("5", "3", None), ("7", "1", "5"), ("6", "2", "7")]


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("MILLISECOND", "2026-01-31 00:00:00.002000000"), ("SECOND", "2026-01-31 00:00:02.000000000"),
        ("MINUTE", "2026-01-31 00:02:00.000000000"), ("HOUR", "2026-01-31 02:00:00.000000000"),
        ("DAY", "2026-02-02 00:00:00.000000000"), ("WEEK", "2026-02-14 00:00:00.000000000"),
        ("MONTH", "2026-03-31 00:00:00.000000000"), ("QUARTER", "2026-07-31 00:00:00.000000000"),
        ("YEAR", "2028-01-31 00:00:00.000000000"),
    ],
)  # fmt: skip
def test_interval_literals_and_date_add_of_every_unit(empty, unit, expected):
    """TIMESTAMP + INTERVAL '2' <unit> and date_add('<unit>', 2, ...) agree, for every unit Trino has
    (values worked out by hand from 2026-01-31 00:00)."""
    start = "TIMESTAMP '2026-01-31 00:00:00'"
    assert values(empty, f"SELECT {start} + INTERVAL '2' {unit}, date_add('{unit.lower()}', 2, {start})") == [
        (expected, expected)
    ]
