"""What the query language refuses, and how: bad SQL, unsupported constructs, unknown tables,
pathological input. Every refusal is a ValidationException (or ResourceNotFoundException) whose
message names the problem, and nothing crashes or runs outside what Timestream allows.
"""

from __future__ import annotations

import contextlib
import random

import pytest

from tests.timestream_local.test_query_semantics import make_db, run, ts, values
from timestream_local.exceptions import ResourceNotFoundException, ValidationException
from timestream_local.query.lexer import parse


@pytest.fixture
def con():
    return make_db([{"location": "a", "time": ts(1), "bigint": 5}])


# ---------------------------------------------------------------------------------- the lexer


@pytest.mark.parametrize(
    ("literal", "nanoseconds"),
    [("30s", 30 * 10**9), ("5m", 300 * 10**9), ("2h", 7200 * 10**9), ("1d", 86400 * 10**9),
     ("10ms", 10**7), ("5us", 5000), ("100ns", 100)],
)  # fmt: skip
def test_duration_literals_become_nanoseconds(literal, nanoseconds):
    tree = parse(f"SELECT ago({literal})")
    assert f"__TSL_DURATION({nanoseconds})" in tree.sql().upper()


def test_durations_inside_strings_names_and_comments_stay_text(con):
    rows = values(con, "SELECT '30s' AS \"5m\" -- 2h\n FROM iot.pm25")
    assert rows == [("30s",)]


def test_measure_value_types_map_to_their_columns():
    sql = parse("SELECT measure_value::bigint, p.measure_value::double FROM iot.pm25 p").sql()
    assert '"measure_value::bigint"' in sql
    assert 'p."measure_value::double"' in sql


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT measure_value::int FROM iot.pm25", "measure_value::int is not a column"),
        ("SELECT location::varchar FROM iot.pm25", "only supported as measure_value::<type>"),
        ("SELECT 1.5h", "invalid duration literal '1.5h'"),
        ("SELECT __tsl_duration(5)", "reserved"),
        ("SELECT '__TSL_NOW__5'", "reserved"),
        ("""SELECT '"__TSL_TABLE_0__"'""", "reserved"),
        ("SELECT '__tsl_table_0__'", "reserved"),
        ("", "must not be empty"),
        ("SELECT 'unterminated", "could not be read"),
    ],
)
def test_lexer_refusals(sql, message):
    with pytest.raises(ValidationException, match=message):
        parse(sql)


def test_syntax_errors_give_the_position():
    with pytest.raises(ValidationException, match=r"^line 2:7: .*'WHERE'"):
        parse("SELECT location\nFROM  WHERE x = 1")


def test_more_than_one_statement_is_refused():
    with pytest.raises(ValidationException, match="exactly one SQL statement"):
        parse("SELECT 1; DROP TABLE iot.pm25")


# ------------------------------------------------------------------------------ what is refused


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO iot.pm25 (location) VALUES ('x')",
        "DELETE FROM iot.pm25",
        "UPDATE iot.pm25 SET location = 'x'",
        "DROP TABLE iot.pm25",
        "CREATE TABLE iot.x AS SELECT 1",
        "COPY iot.pm25 TO '/tmp/x.csv'",
        "ATTACH '/tmp/x.duckdb' AS x",
        "PRAGMA database_list",
        "SET threads = 1",
        "CALL pragma_version()",
    ],
)
def test_only_select_statements_run(con, sql):
    with pytest.raises(ValidationException):
        run(con, sql)
    assert values(con, "SELECT count(*) FROM iot.pm25") == [("1",)]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT read_csv('/etc/passwd')", r"function read_csv\(\) is not supported"),
        ("SELECT * FROM read_csv('/etc/passwd')", "is not supported in FROM"),
        ("SELECT * FROM '/etc/passwd'", "line 1:15"),
        ("SELECT getenv('HOME')", r"getenv\(\) is not supported"),
        (
            "SELECT INTERPOLATE_SPLINE_CUBIC(1, 2)",
            r"first argument of interpolate_spline_cubic\(\) must be a timeseries",
        ),
        ("SELECT ago(1)", r"ago\(\) takes a duration"),
        ("SELECT bin(now(), 0s)", "positive duration"),
        (
            "SELECT bin(now())",
            r"Unexpected parameters \(1 argument\) for function bin\. Expected: bin\(timestamp, interval\)",
        ),
        ("WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r", "RECURSIVE"),
        ("SELECT CAST(location AS JSON) FROM iot.pm25", "CAST to JSON"),
        ("SELECT * FROM pm25", "must be qualified with its database"),
        ("SELECT * FROM x.iot.pm25", "two parts"),
        ("SELECT unnest(ARRAY[1])", "UNNEST is only supported in FROM"),
        ("SELECT * FROM iot.pm25 TABLESAMPLE BERNOULLI (10)", "SAMPLE on a table is not supported"),
        (
            "SELECT * FROM iot.pm25 PIVOT (count(*) FOR location IN ('a'))",
            "PIVOTS on a table is not supported",
        ),
    ],
)
def test_unsupported_constructs_are_named(con, sql, message):
    with pytest.raises(ValidationException, match=message):
        run(con, sql)


def test_unknown_columns_are_validation_errors(con):
    with pytest.raises(ValidationException, match="nosuchcolumn"):
        run(con, "SELECT nosuchcolumn FROM iot.pm25")


def test_unknown_table_and_database_use_aws_wording(con):
    with pytest.raises(
        ResourceNotFoundException, match=r"^The table nope does not exist in database iot at line 1:15\."
    ):
        run(con, "SELECT * FROM iot.nope")
    with pytest.raises(ResourceNotFoundException, match=r"^The database nodb does not exist"):
        run(con, "SELECT * FROM nodb.pm25")


@pytest.mark.parametrize("source", ["information_schema.tables", "main.x", "pg_catalog.pg_class"])
def test_duckdbs_own_schemas_are_not_databases(con, source):
    con.execute("CREATE TABLE main.x (x INTEGER)")
    with pytest.raises(ResourceNotFoundException, match="does not exist"):
        run(con, f"SELECT * FROM {source}")


def test_the_store_schema_is_not_a_database(con):
    con.execute('CREATE SCHEMA "__tsl"')
    con.execute('CREATE TABLE "__tsl".meta_tables (x INTEGER)')
    with pytest.raises(ResourceNotFoundException, match="The database __tsl does not exist"):
        run(con, 'SELECT * FROM "__tsl".meta_tables')


def test_cte_names_need_no_database(con):
    assert values(con, "WITH x AS (SELECT location FROM iot.pm25) SELECT * FROM x") == [("a",)]


# ------------------------------------------------------------------------------- pathological


def test_deeply_nested_expressions_are_refused_cleanly(con):
    sql = "SELECT " + "(" * 5000 + "1" + ")" * 5000
    with pytest.raises(ValidationException, match="nested too deeply"):
        run(con, sql)


def test_deeply_nested_subqueries_are_refused_cleanly(con):
    sql = "SELECT * FROM iot.pm25"
    for _ in range(300):
        sql = f"SELECT * FROM ({sql})"
    with pytest.raises(ValidationException, match="nested too deeply"):
        run(con, sql)


def test_moderate_nesting_still_works(con):
    sql = "SELECT location FROM iot.pm25"
    for _ in range(20):
        sql = f"SELECT * FROM ({sql})"
    assert values(con, sql) == [("a",)]


def test_huge_in_list_is_answered(con):
    items = ", ".join(str(i) for i in range(20_000))
    assert values(con, f"SELECT count(*) FROM iot.pm25 WHERE measure_value::bigint IN ({items})") == [("1",)]


def test_too_long_query_is_refused(con):
    items = ", ".join(str(i) for i in range(60_000))
    with pytest.raises(ValidationException, match="limit is 262144"):
        run(con, f"SELECT count(*) FROM iot.pm25 WHERE measure_value::bigint IN ({items})")


def test_random_garbage_is_a_validation_error(con):
    rng = random.Random(7)
    alphabet = "SELECT FROM WHERE ( ) , ' \" ; :: * 30s iot.pm25 ago bin CASE END 1 a ="
    words = alphabet.split(" ")
    for _ in range(200):
        sql = " ".join(rng.choice(words) for _ in range(rng.randint(1, 12)))
        with contextlib.suppress(ValidationException, ResourceNotFoundException):
            run(con, sql)
