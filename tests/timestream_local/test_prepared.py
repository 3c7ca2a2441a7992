"""Prepared statements: a connection prepares a query text the second time it comes, and from then
on runs it with each run's "now" without parsing it again.

That every query of the language gives the same answer (or error) prepared as sent as text is
checked by ``run`` in test_query_semantics, for all the queries there and in test_query_language.
"""

from __future__ import annotations

import pytest

from tests.timestream_local.test_query_semantics import NOW, make_db, ts
from timestream_local.exceptions import ValidationException
from timestream_local.lru import LruCache
from timestream_local.query import QueryTimeoutError, execute_query
from timestream_local.query.prepared import PreparedStatements
from timestream_local.query.translate import now_parameters, now_values

NS = 1_000_000_000


def _first_value(cursor, prepared, sql: str, now_ns: int = NOW, layouts: LruCache | None = None) -> str:
    result = execute_query(cursor, sql, 10, now_ns=now_ns, prepared=prepared, layouts=layouts)
    return result.rows[0]["Data"][0]["ScalarValue"]


def _prepared_names(cursor) -> list[str]:
    return [row[0] for row in cursor.execute("SELECT name FROM duckdb_prepared_statements()").fetchall()]


def test_each_distinct_time_offset_is_one_parameter_in_order_of_first_use():
    sql = (
        "SELECT 1 WHERE t >= CAST('__TSL_NOW__30000000000' AS TIMESTAMP_NS) "
        "AND t < CAST('__TSL_NOW__0' AS TIMESTAMP_NS) OR t = CAST('__TSL_NOW__30000000000' AS TIMESTAMP_NS)"
    )
    text, offsets = now_parameters(sql)
    assert text == (
        "SELECT 1 WHERE t >= CAST($1 AS TIMESTAMP_NS) AND t < CAST($2 AS TIMESTAMP_NS) OR t = CAST($1 AS TIMESTAMP_NS)"
    )
    assert offsets == (30 * NS, 0)
    assert now_values(offsets, NOW) == ["'2026-11-28 02:07:39.000000000'", "'2026-11-28 02:08:09.000000000'"]


def test_a_text_is_prepared_when_it_comes_again_and_runs_with_each_runs_now():
    con = make_db([{"location": "a", "time": NOW - 20 * NS, "bigint": 5}])
    cursor = con.cursor()
    prepared = PreparedStatements(cursor)
    sql = "SELECT count(*) FROM iot.pm25 WHERE time >= ago(30s) AND time < ago(10s)"
    assert _first_value(cursor, prepared, sql) == "1"  # 20 s old: inside [now - 30 s, now - 10 s)
    assert _prepared_names(cursor) == []  # sent as text the first time
    assert _first_value(cursor, prepared, sql, NOW + 15 * NS) == "0"  # then 35 s old
    assert len(_prepared_names(cursor)) == 1  # prepared the second time
    assert _first_value(cursor, prepared, sql, NOW - 15 * NS) == "0"  # then 5 s old
    assert _first_value(cursor, prepared, sql, NOW + 5 * NS) == "1"  # then 25 s old
    assert len(prepared) == 1
    assert len(_prepared_names(cursor)) == 1


def test_texts_that_come_once_are_never_prepared():
    """Grafana's $__timeFilter puts new literals in the text on every refresh: no statement for those."""
    con = make_db([{"location": "a", "time": ts(1), "bigint": 5}])
    cursor = con.cursor()
    prepared = PreparedStatements(cursor, capacity=2)
    for n in range(5):
        assert _first_value(cursor, prepared, f"SELECT count(*) + {n} FROM iot.pm25") == str(1 + n)
    assert _prepared_names(cursor) == []


def test_the_least_recently_used_statement_is_deallocated():
    con = make_db([{"location": "a", "time": ts(1), "bigint": 5}])
    cursor = con.cursor()
    prepared = PreparedStatements(cursor, capacity=2)
    texts = [f"SELECT count(*) + {n} FROM iot.pm25" for n in range(3)]

    def twice(sql: str) -> list[str]:
        return [_first_value(cursor, prepared, sql) for _ in range(2)]

    assert twice(texts[0]) + twice(texts[1]) == ["1", "1", "2", "2"]
    assert len(_prepared_names(cursor)) == 2
    assert _first_value(cursor, prepared, texts[0]) == "1"  # texts[1] is now the least recently used
    assert twice(texts[2]) == ["3", "3"]
    assert len(prepared) == 2
    names = _prepared_names(cursor)
    assert len(names) == 2
    assert twice(texts[1]) == ["2", "2"]  # prepared again, in place of texts[0]
    assert len(_prepared_names(cursor)) == 2
    assert set(_prepared_names(cursor)) != set(names)


def test_a_prepared_text_follows_the_table_when_its_columns_change():
    """As the server runs it: the column layout cached too, so the prepared statement runs first."""
    con = make_db([{"location": "a", "time": ts(1), "bigint": 5}])
    cursor = con.cursor()
    prepared, layouts = PreparedStatements(cursor), LruCache(8)
    sql = "SELECT max(measure_value::bigint) FROM iot.pm25"
    assert _first_value(cursor, prepared, sql, layouts=layouts) == "5"
    assert _first_value(cursor, prepared, sql, layouts=layouts) == "5"  # prepared now
    assert len(prepared) == 1
    con.execute('ALTER TABLE iot.pm25 ALTER COLUMN "measure_value::bigint" TYPE DOUBLE')
    assert _first_value(cursor, prepared, sql, layouts=layouts) == "5.0"
    con.execute('ALTER TABLE iot.pm25 DROP COLUMN "measure_value::bigint"')
    with pytest.raises(ValidationException, match="measure_value::bigint"):
        _first_value(cursor, prepared, sql, layouts=layouts)
    assert len(prepared) == 0  # the statement that no longer binds was deallocated
    assert _prepared_names(cursor) == []
    con.execute('ALTER TABLE iot.pm25 ADD COLUMN "measure_value::bigint" BIGINT DEFAULT 7')
    assert _first_value(cursor, prepared, sql, layouts=layouts) == "7"


def test_a_prepared_query_stops_at_the_timeout_and_the_connection_still_answers():
    con = make_db([])
    con.execute(
        'INSERT INTO iot.pm25 (location, measure_name, time, "measure_value::bigint") '
        "SELECT 'x', 'pm2.5', make_timestamp_ns(i * 1000000000), i FROM range(3000) r(i)"
    )
    cursor = con.cursor()
    prepared = PreparedStatements(cursor)
    slow = "SELECT count(*) FROM iot.pm25 a CROSS JOIN iot.pm25 b CROSS JOIN iot.pm25 c WHERE a.time < b.time"
    for _ in range(2):  # the second run is prepared
        with pytest.raises(QueryTimeoutError):
            execute_query(cursor, slow, timeout_s=0.5, prepared=prepared)
    assert _first_value(cursor, prepared, "SELECT count(*) FROM iot.pm25") == "3000"


def test_prepared_statements_belong_to_one_cursor():
    con = make_db([])
    prepared = PreparedStatements(con.cursor())
    with pytest.raises(ValueError, match="cursor"):
        execute_query(con.cursor(), "SELECT 1", 10, now_ns=NOW, prepared=prepared)
    with pytest.raises(ValueError, match="capacity"):
        PreparedStatements(con.cursor(), capacity=0)
