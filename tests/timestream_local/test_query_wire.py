"""Results in Timestream's wire format, checked against botocore's own model of the Query API, and
the engine's limits: the query timeout, cancellation, result size, and re-planning after the
table's columns change.
"""

from __future__ import annotations

import threading
import time

import botocore.session
import pytest
from botocore.validate import ParamValidator

from tests.timestream_local.test_query_semantics import NOW, make_db, run, ts, values
from timestream_local.exceptions import ResourceNotFoundException, ValidationException
from timestream_local.lru import LruCache
from timestream_local.models import format_ns
from timestream_local.query import QueryCancelledError, QueryTimeoutError, execute_query
from timestream_local.query.results import format_double
from timestream_local.watchdog import Watchdog


@pytest.fixture(scope="module")
def query_response_shape():
    model = botocore.session.get_session().get_service_model("timestream-query")
    return model.operation_model("Query").output_shape


def _assert_valid(shape, result) -> None:
    body = {"QueryId": "q", "Rows": result.rows, "ColumnInfo": result.column_info}
    report = ParamValidator().validate(body, shape)
    assert not report.has_errors(), report.generate_report()


def test_every_kind_of_value_matches_botocores_model(query_response_shape):
    con = make_db([{"location": "s", "time": ts(s), "bigint": v} for s, v in [(0, 1), (30, 2)]])
    result = execute_query(
        con.cursor(),
        "SELECT location, CREATE_TIME_SERIES(time, measure_value::bigint) AS series, "
        "INTERPOLATE_LINEAR(CREATE_TIME_SERIES(time, measure_value::bigint), "
        "SEQUENCE(min(time), max(time), 15s)) AS filled, ARRAY['a', NULL] AS arr, NULL AS nothing, "
        "max(time) AS latest, true AS yes, 1.5 AS d, count(*) AS n FROM iot.pm25 GROUP BY location",
        10,
        now_ns=NOW,
    )
    _assert_valid(query_response_shape, result)
    types = {c["Name"]: c["Type"] for c in result.column_info}
    assert types["series"] == {"TimeSeriesMeasureValueColumnInfo": {"Type": {"ScalarType": "BIGINT"}}}
    assert types["filled"] == {"TimeSeriesMeasureValueColumnInfo": {"Type": {"ScalarType": "DOUBLE"}}}
    assert types["arr"] == {"ArrayColumnInfo": {"Type": {"ScalarType": "VARCHAR"}}}
    assert types["latest"] == {"ScalarType": "TIMESTAMP"}
    assert types["yes"] == {"ScalarType": "BOOLEAN"}
    assert types["d"] == {"ScalarType": "DOUBLE"}
    assert types["n"] == {"ScalarType": "BIGINT"}
    data = result.rows[0]["Data"]
    assert data[2] == {
        "TimeSeriesValue": [
            {"Time": "2026-11-28 00:00:00.000000000", "Value": {"ScalarValue": "1.0"}},
            {"Time": "2026-11-28 00:00:15.000000000", "Value": {"ScalarValue": "1.5"}},
            {"Time": "2026-11-28 00:00:30.000000000", "Value": {"ScalarValue": "2.0"}},
        ]
    }
    assert data[3] == {"ArrayValue": [{"ScalarValue": "a"}, {"NullValue": True}]}
    assert data[4] == {"NullValue": True}
    assert data[5] == {"ScalarValue": "2026-11-28 00:00:30.000000000"}


def test_nanoseconds_survive_in_scalars_series_and_arrays():
    stamp = ts(1, 123_456_789)
    con = make_db([{"location": "s", "time": stamp, "bigint": 1}])
    rows = values(
        con,
        "SELECT time, CREATE_TIME_SERIES(time, measure_value::bigint), ARRAY[time] FROM iot.pm25 GROUP BY time",
    )
    text = "2026-11-28 00:00:01.123456789"
    assert rows == [(text, [(text, "1")], [text])]


def test_intervals_print_as_day_to_second(empty_con=None):
    con = make_db([])
    info, rows = run(con, "SELECT 1h, 90s + 1d, 250ms")
    assert [c["Type"] for c in info] == [{"ScalarType": "INTERVAL_DAY_TO_SECOND"}] * 3
    assert rows == [("0 01:00:00.000000000", "1 00:01:30.000000000", "0 00:00:00.250000000")]


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0, "0.0"), (-0.0, "-0.0"), (1.0, "1.0"), (123.456, "123.456"), (9999999.0, "9999999.0"),
     (1e7, "1.0E7"), (0.001, "0.001"), (0.000999, "9.99E-4"), (float("nan"), "NaN"),
     (float("inf"), "Infinity"), (float("-inf"), "-Infinity"), (-1234567890.5, "-1.2345678905E9")],
)  # fmt: skip
def test_double_formatting(value, text):
    assert format_double(value) == text


def test_timestamp_formatting():
    assert format_ns(0) == "1970-01-01 00:00:00.000000000"
    assert format_ns(-1) == "1969-12-31 23:59:59.999999999"
    assert format_ns(NOW + 5) == "2026-11-28 02:08:09.000000005"
    # the ends of the range: 719,162 days before 1970 is 0001-01-01; the year always has four digits
    assert format_ns(-719_162 * 86_400 * 10**9) == "0001-01-01 00:00:00.000000000"
    assert format_ns(-719_162 * 86_400 * 10**9 + 86_399_999_999_999) == "0001-01-01 23:59:59.999999999"
    assert format_ns(253_402_300_799 * 10**9 + 999_999_999) == "9999-12-31 23:59:59.999999999"


# ------------------------------------------------------------------------------------- limits


def _slow_db():
    con = make_db([])
    con.execute(
        'INSERT INTO iot.pm25 (location, measure_name, time, "measure_value::bigint") '
        "SELECT 'x', 'pm2.5', make_timestamp_ns(i * 1000000000), i FROM range(3000) r(i)"
    )
    return con


SLOW = "SELECT count(*) FROM iot.pm25 a CROSS JOIN iot.pm25 b CROSS JOIN iot.pm25 c WHERE a.time < b.time"


@pytest.mark.parametrize("watchdog", [None, Watchdog()], ids=["timer thread", "watchdog"])
def test_a_long_query_stops_at_the_timeout(watchdog):
    con = _slow_db()
    began = time.monotonic()
    with pytest.raises(QueryTimeoutError, match=r"exceeded the query timeout of 0\.5 s"):
        execute_query(con.cursor(), SLOW, timeout_s=0.5, watchdog=watchdog)
    assert time.monotonic() - began < 10
    assert values(con, "SELECT count(*) FROM iot.pm25") == [("3000",)]  # the store still answers


def test_a_query_interrupted_from_outside_reports_cancellation():
    con = _slow_db()
    cursor = con.cursor()
    threading.Timer(0.3, cursor.interrupt).start()
    with pytest.raises(QueryCancelledError, match="cancelled"):
        execute_query(cursor, SLOW, timeout_s=60)


def test_timeout_and_cancel_are_validation_exceptions():
    assert issubclass(QueryTimeoutError, ValidationException)
    assert issubclass(QueryCancelledError, ValidationException)


def test_result_size_is_bounded():
    con = _slow_db()
    with pytest.raises(ValidationException, match="more than 100 rows"):
        execute_query(con.cursor(), "SELECT * FROM iot.pm25", 10, max_result_rows=100)
    assert (
        len(execute_query(con.cursor(), "SELECT * FROM iot.pm25 LIMIT 100", 10, max_result_rows=100).rows)
        == 100
    )


def test_new_columns_show_up_in_a_repeated_query():
    """The second run of a query text reuses its cached column layout; it must notice a schema change."""
    con = make_db([{"location": "a", "time": ts(1), "bigint": 5}])
    first, _ = run(con, "SELECT * FROM iot.pm25")
    con.execute("ALTER TABLE iot.pm25 ADD COLUMN station_group VARCHAR")
    con.execute("UPDATE iot.pm25 SET station_group = 'g1'")
    second, rows = run(con, "SELECT * FROM iot.pm25")
    assert [c["Name"] for c in second] == [c["Name"] for c in first] + ["station_group"]
    assert rows[0][-1] == "g1"
    con.execute("ALTER TABLE iot.pm25 DROP COLUMN station_group")
    con.execute("ALTER TABLE iot.pm25 DROP COLUMN location")
    with pytest.raises(ValidationException, match="location"):
        run(con, "SELECT location FROM iot.pm25")


def test_a_reused_column_layout_follows_a_changed_column_type():
    """A server plans a query text's result columns once and reuses them (the layouts cache); when a
    column's type changes under it, the next run answers with the new type, not the cached one."""
    con = make_db([{"location": "a", "time": ts(1), "bigint": 5}])
    layouts = LruCache(8)
    sql = "SELECT location, max(measure_value::bigint) AS top FROM iot.pm25 GROUP BY location"
    first = execute_query(con.cursor(), sql, 10, now_ns=NOW, layouts=layouts)
    assert first.column_info[1] == {"Name": "top", "Type": {"ScalarType": "BIGINT"}}
    assert execute_query(con.cursor(), sql, 10, now_ns=NOW, layouts=layouts).rows == first.rows
    con.execute('ALTER TABLE iot.pm25 ALTER COLUMN "measure_value::bigint" TYPE DOUBLE')
    again = execute_query(con.cursor(), sql, 10, now_ns=NOW, layouts=layouts)
    assert again.column_info[1] == {"Name": "top", "Type": {"ScalarType": "DOUBLE"}}
    assert again.rows == [{"Data": [{"ScalarValue": "a"}, {"ScalarValue": "5.0"}]}]
    con.execute('ALTER TABLE iot.pm25 DROP COLUMN "measure_value::bigint"')
    with pytest.raises(ValidationException, match="measure_value::bigint"):
        execute_query(con.cursor(), sql, 10, now_ns=NOW, layouts=layouts)


def test_repeated_runs_use_the_new_now():
    con = make_db([{"location": "a", "time": NOW - 20 * 10**9, "bigint": 5}])
    sql = "SELECT count(*) FROM iot.pm25 WHERE time >= ago(30s)"
    assert execute_query(con.cursor(), sql, 10, now_ns=NOW).rows == [{"Data": [{"ScalarValue": "1"}]}]
    later = NOW + 15 * 10**9
    assert execute_query(con.cursor(), sql, 10, now_ns=later).rows == [{"Data": [{"ScalarValue": "0"}]}]


# -------------------------------------------------------------------------------- SHOW statements


def test_show_databases_and_tables():
    con = make_db([])
    con.execute('CREATE SCHEMA "sensors"')
    con.execute("CREATE VIEW sensors.readings AS SELECT 1 AS x")
    con.execute('CREATE SCHEMA "__tsl"')  # the store's own schema is never a database
    assert run(con, "SHOW DATABASES") == ([{"Name": "Database", "Type": {"ScalarType": "VARCHAR"}}],
                                          [("iot",), ("sensors",)])  # fmt: skip
    assert run(con, "show databases like 'sen%'")[1] == [("sensors",)]
    assert run(con, "SHOW TABLES FROM iot") == (
        [{"Name": "Table", "Type": {"ScalarType": "VARCHAR"}}],
        [("pm25",)],
    )
    assert run(con, "SHOW TABLES FROM \"sensors\" LIKE 'read_ngs'")[1] == [("readings",)]
    with pytest.raises(ResourceNotFoundException, match="The database nope does not exist"):
        run(con, "SHOW TABLES FROM nope")
    # AWS: SHOW TABLES without FROM lists every database's tables
    assert run(con, "SHOW TABLES")[1] == [("pm25",), ("readings",)]
    with pytest.raises(ValidationException, match="this SHOW/DESCRIBE statement is not supported"):
        run(con, "SHOW COLUMNS FROM iot.pm25")


def test_grafana_health_check_and_macro_expansions():
    """What the Grafana plugin sends: SELECT 1 to test the data source, and its macros expanded."""
    con = make_db(
        [{"location": "a", "time": ts(s), "bigint": v} for s, v in [(0, 1), (0.5, 3), (1, 10), (7, 0)]]
    )
    assert run(con, "SELECT 1") == ([{"Name": "_col0", "Type": {"ScalarType": "INTEGER"}}], [("1",)])
    start_ms, end_ms = ts(0) // 10**6, ts(5) // 10**6
    rows = values(
        con,
        "SELECT bin(time, 1000ms) AS t, avg(measure_value::bigint) AS v FROM iot.pm25 "
        f"WHERE time BETWEEN from_milliseconds({start_ms}) AND from_milliseconds({end_ms}) GROUP BY 1 ORDER BY 1",
    )
    assert rows == [("2026-11-28 00:00:00.000000000", "2.0"), ("2026-11-28 00:00:01.000000000", "10.0")]
