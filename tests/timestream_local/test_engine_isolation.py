"""A client with valid credentials cannot reach DuckDB, the files or the settings through a query.

Three fences, each tested on its own: the translator never pastes client text into SQL (every
supported function's string arguments are sent with quotes, semicolons, comment markers and nested
SELECTs over HTTP); the guard (query/guard.py) refuses any DuckDB SQL that is not one SELECT over
the store's own placeholders and allowed functions, whatever produced it; and the store's DuckDB
instance itself (lockdown.py) cannot read or write files outside its data, load extensions or
change its configuration, whatever statement it is given.
"""

from __future__ import annotations

import boto3
import duckdb
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.services import start_timestream_local
from timestream_local.exceptions import ValidationException
from timestream_local.query import functions as fn
from timestream_local.query import guard
from timestream_local.store import Store

SECRET = "s3cret-in-the-environment-4711"
CANARY = "canary-text-never-to-be-read-0815"


@pytest.fixture(scope="module")
def isolated(tmp_path_factory):
    """A server whose environment holds its secret key (as on the bastion), a canary file beside its
    data, and a client that signs with that key."""
    root = tmp_path_factory.mktemp("isolated")
    (root / "canary.txt").write_text(CANARY)
    service = start_timestream_local(
        root / "data",
        extra_args=["--access-key", "AKIDISOLATED"],
        env={"TIMESTREAM_LOCAL_SECRET_KEY": SECRET},
    )
    clients = {
        name: boto3.client(
            name,
            endpoint_url=service.url,
            region_name="us-east-1",
            aws_access_key_id="AKIDISOLATED",
            aws_secret_access_key=SECRET,
            config=Config(retries={"max_attempts": 1}),
        )
        for name in ("timestream-write", "timestream-query")
    }
    clients["timestream-write"].create_database(DatabaseName="isolation")
    clients["timestream-write"].create_table(DatabaseName="isolation", TableName="readings")
    yield service, root, clients["timestream-query"]
    service.stop()


def _payloads(root) -> list[str]:
    """String contents that break out of a literal pasted into SQL, each trying to read the canary or
    the process environment, list a folder, write a file or change a setting. The first stays valid
    SQL when pasted into date_diff's unit (the reported exploit) and would put the canary's text
    into the answer."""
    canary, pwned = root / "canary.txt", root / "pwned.csv"
    return [
        f"day', now(), now()) || (SELECT content FROM read_text('{canary}')) || date_sub('day",
        "day', 1, now()) , (SELECT content FROM read_text('/proc/self/environ')) --",
        f"x'); COPY (SELECT 1) TO '{pwned}'; --",
        f"*/ (SELECT content FROM read_text('{canary}')) /*",
        f"'||(SELECT content FROM read_text('{canary}'))||'",
        "day' || (SELECT string_agg(file, ',') FROM glob('/etc/*')) || '",
        "hour\"; SET memory_limit='100GB'; --",
        f"\\'; ATTACH '{root / 'other.duckdb'}'; --",
    ]


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _function_names() -> list[str]:
    names = {part for name in fn.FUNCTIONS.values() for part in name.split("/")}
    names |= set(fn.TIMESTREAM_FUNCTIONS) - {"__tsl_duration"}
    # written with their own syntax, tested in the statement forms below
    return sorted(names - {"extract", "now", "current_date", "count"})


def _answer_text(call) -> tuple[str, str]:
    """(outcome, everything the client got back as text): "ok" or the error code."""
    try:
        return "ok", repr(call())
    except ClientError as error:
        return error.response["Error"]["Code"], repr(error.response)


def _check_nothing_escaped(outcomes, root) -> None:
    for sql, (outcome, text) in outcomes:
        assert outcome in ("ok", "ValidationException", "ResourceNotFoundException"), (sql, outcome, text)
        assert CANARY not in text and SECRET not in text, sql
    assert not (root / "pwned.csv").exists()
    assert not (root / "other.duckdb").exists()


def test_string_arguments_of_every_function_stay_strings(isolated):
    service, root, query = isolated
    outcomes = []
    for name in _function_names():
        for payload in _payloads(root):
            literal = _quoted(payload)
            for arity in (1, 2, 3):
                for position in range(arity):  # the payload in one place, now() in the others
                    args = [literal if i == position else "now()" for i in range(arity)]
                    sql = f"SELECT {name}({', '.join(args)})"
                    outcomes.append((sql, _answer_text(lambda sql=sql: query.query(QueryString=sql))))
    _check_nothing_escaped(outcomes, root)
    assert service.process.poll() is None
    assert "Traceback" not in service.log()


def test_row_field_names_carrying_sql_come_back_as_names(isolated):
    """A ROW's field names are the one piece of client text in the SQL that fixes result values
    (query/results.py names each field of the rewritten row): quoted, they stay names, whatever
    they hold, and the values (a TIMESTAMP, which the fix-up rewrites) stay whole."""
    _service, root, query = isolated
    names = [*_payloads(root), 'x" := 1) END, struct_pack(y', "t's"]
    for name in names:
        field = '"' + name.replace('"', '""') + '"'
        sql = f"SELECT CAST(ROW(7, TIMESTAMP '2026-01-02 03:04:05.123456789') AS ROW({field} INTEGER, b TIMESTAMP)) AS r"
        answer = query.query(QueryString=sql)
        fields = answer["ColumnInfo"][0]["Type"]["RowColumnInfo"]
        assert [f["Name"] for f in fields] == [name, "b"], sql
        values = [d["ScalarValue"] for d in answer["Rows"][0]["Data"][0]["RowValue"]["Data"]]
        assert values == ["7", "2026-01-02 03:04:05.123456789"], sql
    _check_nothing_escaped([], root)


def test_units_keywords_and_nested_selects_cannot_carry_sql(isolated):
    _service, root, query = isolated
    canary = root / "canary.txt"
    statements = [
        # the reported exploit: a date_diff / date_add unit with quotes in it
        "SELECT date_diff('day'' , 1) --', now(), now())",
        f"SELECT date_add('day'' , 1, now()) , (SELECT content FROM read_text(''{canary}'')) --', 1, now())",
        f"SELECT date_trunc('hour'' , now()) , (SELECT content FROM read_text(''{canary}'')) --', now())",
        f"SELECT extract(hour FROM now()), (SELECT content FROM read_text('{canary}'))",
        f"SELECT * FROM read_text('{canary}')",
        "SELECT 1; SELECT content FROM read_text('/proc/self/environ')",
        "SELECT * FROM (SELECT current_setting('memory_limit'))",
        'SELECT * FROM "__tsl".meta_tables',
        "SELECT * FROM information_schema.tables",
        "WITH duckdb_settings AS (SELECT * FROM duckdb_settings) SELECT * FROM duckdb_settings",
        "SELECT now() /* */ , 1 */ , (SELECT content FROM read_text('/proc/self/environ')) /* */",
        "SELECT 'a\x00' , (SELECT content FROM read_text('/proc/self/environ'))",
        f"COPY (SELECT 1) TO '{root / 'pwned.csv'}'",
        "SET memory_limit = '100GB'",
        f"ATTACH '{root / 'other.duckdb'}'",
    ]
    outcomes = [(sql, _answer_text(lambda sql=sql: query.query(QueryString=sql))) for sql in statements]
    _check_nothing_escaped(outcomes, root)
    # the unit is checked as Trino checks it, naming the units it knows
    assert "does not know the unit" in outcomes[0][1][1]
    # none of these is answered with data
    assert [sql for sql, (outcome, _text) in outcomes if outcome == "ok"] == []
    # comments end where the client's text ends, and a quoted name stays a name
    rows = query.query(
        QueryString="SELECT count(*) FROM isolation.readings -- ; SELECT * FROM duckdb_settings()"
    )
    assert rows["Rows"] == [{"Data": [{"ScalarValue": "0"}]}]
    answer = query.query(QueryString='SELECT 1 "day\'; SELECT 1; --"')
    assert answer["ColumnInfo"][0]["Name"] == "day'; SELECT 1; --"


def test_a_quote_inside_a_unit_is_refused_not_run(isolated):
    _service, _root, query = isolated
    with pytest.raises(ClientError) as error:
        query.query(QueryString="SELECT date_diff('da''y', now(), now())")
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "date_diff() does not know the unit 'da'y'" in error.value.response["Error"]["Message"]
    # the real units still work
    rows = query.query(
        QueryString="SELECT date_diff('hour', TIMESTAMP '2026-01-01 00:00:00', TIMESTAMP '2026-01-02 06:00:00')"
    )["Rows"]
    assert rows == [{"Data": [{"ScalarValue": "30"}]}]


# ---------------------------------------------------------------------------- the guard on its own


@pytest.fixture
def parser():
    connection = duckdb.connect()
    yield connection
    connection.close()


@pytest.mark.parametrize(
    ("sql", "refused"),
    [
        ("SELECT 1; SELECT 2", "exactly one SQL statement"),
        ("INSERT INTO t VALUES (1)", "Only SELECT statements"),
        ("COPY (SELECT 1) TO '/tmp/x.csv'", "Only SELECT statements"),
        ("CREATE TABLE t (a INT)", "Only SELECT statements"),
        ("SELECT * FROM read_text('/proc/self/environ')", "table reference TABLE_FUNCTION"),
        ("SELECT * FROM query('SELECT 42')", "table reference TABLE_FUNCTION"),
        ("SELECT * FROM duckdb_settings()", "table reference TABLE_FUNCTION"),
        ("SELECT * FROM duckdb_settings", "the table duckdb_settings"),
        ("SELECT * FROM information_schema.tables", "named with its schema"),
        ('SELECT * FROM "__tsl".meta_tables', "named with its schema"),
        ('SELECT * FROM "__TSL_TABLE_0__" JOIN meta_tables ON true', "the table meta_tables"),
        ("SELECT current_setting('memory_limit')", "the function current_setting"),
        ("SELECT nextval('s')", "the function nextval"),
        ("SELECT main.lower('a')", "the qualified function main.lower"),
        ("SELECT CAST(1 AS main.mytype)", "the type main.mytype"),
        # a CTE does not see itself: the inner name is DuckDB's catalogue view
        (
            "WITH duckdb_settings AS (SELECT * FROM duckdb_settings) SELECT * FROM duckdb_settings",
            "duckdb_settings",
        ),
        # a CTE is visible in its own query only, not beside it
        ("SELECT * FROM (WITH t AS (SELECT 1) SELECT * FROM t) a, t", "the table t"),
        ("SELECT 1 x PIVOT (sum(x) FOR x IN (1))", "refused"),
    ],
)
def test_the_guard_refuses_what_is_not_a_plain_select_over_the_store(parser, sql, refused):
    with pytest.raises(ValidationException, match=r"refused|exactly one") as error:
        guard.check(parser, sql)
    assert refused in error.value.message


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT "pm25"."time" FROM "__TSL_TABLE_0__" AS "pm25" WHERE "time" > CAST(\'x\' AS TIMESTAMP_NS)',
        "WITH a AS (SELECT 1 AS x), b AS (SELECT x FROM a) SELECT * FROM b UNION ALL SELECT x FROM a",
        "SELECT list_transform([1, 2], lambda v: v + 1), divide(7, 2), #1 FROM (SELECT 1)",
        'SELECT * FROM "__TSL_TABLE_0__" AS a JOIN "__TSL_TABLE_1__" AS b ON a.x = b.x',
        "SELECT (SELECT max(x) FROM (VALUES (1), (2)) v(x))",
    ],
)
def test_the_guard_lets_the_translations_shapes_through(parser, sql):
    guard.check(parser, sql)


# ------------------------------------------------------------------------- the engine on its own


@pytest.fixture
def store(tmp_path):
    (tmp_path / "canary.txt").write_text(CANARY)
    opened = Store(tmp_path / "data")
    yield opened, tmp_path
    opened.close()


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        ("SELECT content FROM read_text('/proc/self/environ')", duckdb.PermissionException),
        ("SELECT content FROM read_text('{root}/canary.txt')", duckdb.PermissionException),
        (
            "SELECT content FROM read_text('{root}/data/magnetic/../../canary.txt')",
            duckdb.PermissionException,
        ),
        ("SELECT * FROM glob('/etc/*')", duckdb.PermissionException),
        ("COPY (SELECT 1) TO '{root}/pwned.csv'", duckdb.PermissionException),
        ("ATTACH '{root}/other.duckdb'", duckdb.PermissionException),
        ("EXPORT DATABASE '{root}/export'", duckdb.PermissionException),
        ("INSTALL httpfs", duckdb.PermissionException),
        ("LOAD httpfs", duckdb.PermissionException),
        ("SET enable_external_access = true", duckdb.InvalidInputException),
        ("SET memory_limit = '100GB'", duckdb.InvalidInputException),
        ("RESET lock_configuration", duckdb.InvalidInputException),
        ("PRAGMA memory_limit = '100GB'", duckdb.InvalidInputException),
        ("SET allowed_directories = ['/']", duckdb.InvalidInputException),
    ],
)
def test_the_store_engine_cannot_reach_files_extensions_or_settings(store, statement, error):
    opened, root = store
    cursor = opened.reader.cursor()
    with pytest.raises(error):
        cursor.execute(statement.format(root=root))
    assert not (root / "pwned.csv").exists()
    assert not (root / "other.duckdb").exists()
    assert not (root / "export").exists()


def test_the_store_engine_is_configured_as_documented(store):
    opened, _root = store
    cursor = opened.reader.cursor()
    settings = dict(
        cursor.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', "
            "'lock_configuration', 'autoload_known_extensions', 'autoinstall_known_extensions', "
            "'allow_community_extensions')"
        ).fetchall()
    )
    assert settings == {
        "enable_external_access": "false",
        "lock_configuration": "true",
        "autoload_known_extensions": "false",
        "autoinstall_known_extensions": "false",
        "allow_community_extensions": "false",
    }
    # a function of an extension that is not compiled in is not loaded on demand
    with pytest.raises(duckdb.CatalogException, match="not in the catalog"):
        cursor.execute("SELECT st_point(1, 2)")


def test_the_guard_remembers_shapes_not_texts(parser):
    """A verdict is reused for texts that differ only in numbers (Grafana's $__timeFilter), never for
    one that differs in a name."""
    calls = []

    class Counting:
        def execute(self, sql, params):
            calls.append(params[0])
            return parser.execute(sql, params)

    fence = guard.Guard()
    fence.check(Counting(), 'SELECT * FROM "__TSL_TABLE_0__" WHERE x > make_timestamp_ns(1700000000000)')
    fence.check(Counting(), 'SELECT * FROM "__TSL_TABLE_0__" WHERE x > make_timestamp_ns(1700000005000)')
    assert len(calls) == 1
    with pytest.raises(ValidationException, match="the function current_setting"):
        fence.check(Counting(), 'SELECT * FROM "__TSL_TABLE_0__" WHERE x > current_setting(1700000005000)')
    with pytest.raises(ValidationException, match="the table __tsl_table_1x"):
        fence.check(Counting(), 'SELECT * FROM "__tsl_table_1x" WHERE x > make_timestamp_ns(1700000000000)')
    assert len(calls) == 3
