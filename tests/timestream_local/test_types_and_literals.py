"""Types and literals of Timestream's query language, over HTTP against a real timestream_local.

Trino has two interval types: INTERVAL YEAR TO MONTH (whole months, printed ``years-months``) and
INTERVAL DAY TO SECOND (printed ``days hh:mm:ss.fffffffff``); adding one to the other is an error.
The expected values are computed here from those rules (Trino's SqlIntervalYearMonth and
SqlIntervalDayTime print them this way; AWS's reference shows ``interval '3' year - interval '5'
month`` as INTERVAL_YEAR_TO_MONTH ``2-7``), never read from the store.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest


def _one(query, sql: str) -> tuple[str, str | None]:
    """(ScalarType, ScalarValue) of a one-column, one-row answer."""
    page = query.query(QueryString=sql)
    datum = page["Rows"][0]["Data"][0]
    return page["ColumnInfo"][0]["Type"]["ScalarType"], datum.get("ScalarValue")


def year_month(months: int) -> str:
    sign = "-" if months < 0 else ""
    return f"{sign}{abs(months) // 12}-{abs(months) % 12}"


def day_second(microseconds: int) -> str:
    sign = "-" if microseconds < 0 else ""
    days, rest = divmod(abs(microseconds), 86_400_000_000)
    clock = dt.timedelta(microseconds=rest)
    hours, seconds = divmod(clock.seconds, 3600)
    return f"{sign}{days} {hours:02d}:{seconds // 60:02d}:{seconds % 60:02d}.{clock.microseconds:06d}000"


@pytest.mark.parametrize(
    ("sql", "months"),
    [
        ("SELECT interval '3' year - interval '5' month", 3 * 12 - 5),
        ("SELECT INTERVAL '2-7' YEAR TO MONTH", 2 * 12 + 7),
        ("SELECT INTERVAL '-1-2' YEAR TO MONTH", -(12 + 2)),
        ("SELECT INTERVAL '1-11' YEAR TO MONTH", 12 + 11),  # the largest month field; 12 is refused
        ("SELECT -interval '14' month", -14),
        ("SELECT interval '2' year * 3", 2 * 12 * 3),
        ("SELECT 3 * interval '5' month", 15),
        ("SELECT interval '5' month / 2", int(5 / 2)),
        ("SELECT interval '1' year / 2.5", int(12 / 2.5)),
        ("SELECT x FROM (SELECT interval '1' year + interval '11' month AS x)", 23),
        # a VALUES column has its first row's type
        ("SELECT max(x) FROM (VALUES interval '1' year, interval '2' month) AS t(x)", 12),
        ("SELECT x FROM (VALUES (interval '3' month, 1)) AS t(x, y)", 3),
    ],
)
def test_year_to_month_intervals(query, sql, months):
    assert _one(query, sql) == ("INTERVAL_YEAR_TO_MONTH", year_month(months))


@pytest.mark.parametrize(
    ("sql", "microseconds"),
    [
        ("SELECT INTERVAL '1 02:03:04.5' DAY TO SECOND", ((26 * 60 + 3) * 60 + 4) * 1_000_000 + 500_000),
        ("SELECT INTERVAL '02:30' HOUR TO MINUTE", (2 * 60 + 30) * 60_000_000),
        # each field after the first at its largest (24 hours is refused)
        ("SELECT INTERVAL '0 23:59:59.999' DAY TO SECOND", ((23 * 60 + 59) * 60 + 59) * 1_000_000 + 999_000),
        ("SELECT interval '3' day - 1h", (3 * 24 - 1) * 3_600_000_000),
        ("SELECT INTERVAL '2' DAY + INTERVAL '3' HOUR", (2 * 24 + 3) * 3_600_000_000),
    ],
)
def test_day_to_second_intervals(query, sql, microseconds):
    assert _one(query, sql) == ("INTERVAL_DAY_TO_SECOND", day_second(microseconds))


def test_intervals_move_timestamps_and_dates_by_calendar_months(query):
    # 2020-01-31 + 13 months: 2021-02-31 does not exist, the month's last day is used (Trino's plusMonths)
    assert _one(query, "SELECT TIMESTAMP '2020-01-31 00:00:00' + INTERVAL '1-1' YEAR TO MONTH") == (
        "TIMESTAMP",
        "2021-02-28 00:00:00.000000000",
    )
    assert _one(query, "SELECT DATE '2020-01-31' + INTERVAL '1-1' YEAR TO MONTH") == ("DATE", "2021-02-28")
    assert _one(query, "SELECT DATE '2020-01-31' + INTERVAL '2 00:00:00' DAY TO SECOND") == (
        "DATE",
        "2020-02-02",
    )


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "SELECT interval '1' year + interval '1' day",
            "Cannot apply operator: interval year to month \\+ interval day to second",
        ),
        (
            "SELECT interval '1' month - 1h",
            "Cannot apply operator: interval year to month - interval day to second",
        ),
        ("SELECT INTERVAL '1-12' YEAR TO MONTH", "invalid INTERVAL YEAR TO MONTH literal '1-12'"),
        ("SELECT INTERVAL '1 24:00:00' DAY TO SECOND", "hour 24 is out of range"),
        ("SELECT INTERVAL '1:2' DAY TO SECOND", "invalid INTERVAL DAY TO SECOND literal"),
        (
            "SELECT DATE '2020-01-31' + INTERVAL '2 01:00:00' DAY TO SECOND",
            "Cannot add hour, minutes or seconds",
        ),
    ],
)
def test_interval_mistakes_are_refused(query, sql, message):
    with pytest.raises(query.exceptions.ValidationException, match=message):
        query.query(QueryString=sql)


def test_time_literals(query):
    assert _one(query, "SELECT time '01:00'") == ("TIME", "01:00:00.000000000")
    assert _one(query, "SELECT TIME '13:45:30.25'") == ("TIME", "13:45:30.250000000")


def test_bin_of_a_timestamp_written_as_text(query):
    assert _one(query, "SELECT bin('2023-09-20 17:12:22.958000000', 1m)") == (
        "TIMESTAMP",
        "2023-09-20 17:12:00.000000000",
    )
    assert _one(query, "SELECT bin('2023-09-20 17:12:22', 1h)") == (
        "TIMESTAMP",
        "2023-09-20 17:00:00.000000000",
    )
    with pytest.raises(query.exceptions.ValidationException, match="'yesterday' is not a timestamp"):
        query.query(QueryString="SELECT bin('yesterday', 1h)")


def test_from_unixtime_of_todays_seconds(query):
    """Grafana's ${__from:date:seconds} is today's epoch seconds (beyond INT32 milliseconds)."""
    seconds = int(time.time())
    expected = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.000000000")
    assert _one(query, f"SELECT from_unixtime({seconds})") == ("TIMESTAMP", expected)
    assert _one(query, f"SELECT from_unixtime({seconds}.5)") == ("TIMESTAMP", expected[:-9] + "500000000")


def test_row_values_and_their_named_fields(query):
    """ROW(...) builds a row; CAST(... AS ROW(name type, ...)) names its fields, read with a dot."""
    page = query.query(QueryString="SELECT CAST(ROW(1, 'a') AS ROW(n BIGINT, s VARCHAR)) AS r")
    assert page["ColumnInfo"] == [{
        "Name": "r",
        "Type": {"RowColumnInfo": [
            {"Name": "n", "Type": {"ScalarType": "BIGINT"}}, {"Name": "s", "Type": {"ScalarType": "VARCHAR"}},
        ]},
    }]  # fmt: skip
    assert page["Rows"][0]["Data"][0]["RowValue"]["Data"] == [{"ScalarValue": "1"}, {"ScalarValue": "a"}]
    page = query.query(QueryString="SELECT CAST(ROW(2, 'b') AS ROW(n BIGINT, s VARCHAR)).s")
    assert page["ColumnInfo"][0]["Name"] == "s"
    assert page["Rows"][0]["Data"][0]["ScalarValue"] == "b"
    with pytest.raises(
        query.exceptions.ValidationException, match="a ROW type's fields take a name and a type"
    ):
        query.query(QueryString="SELECT CAST(1 AS ROW(n BIGINT NOT NULL))")


def test_a_parenthesised_list_is_a_row(query):
    """(1, 'a') is a row as ROW(1, 'a') is (Trino's row constructor), its fields read positionally,
    a timestamp field printed as a timestamp; it came back as the text '(1, a)'."""
    page = query.query(QueryString="SELECT (1, TIMESTAMP '2020-01-02 03:04:05', 'a')")
    fields = page["ColumnInfo"][0]["Type"]["RowColumnInfo"]
    assert [f["Type"]["ScalarType"] for f in fields] == ["INTEGER", "TIMESTAMP", "VARCHAR"]
    assert page["Rows"][0]["Data"][0]["RowValue"]["Data"] == [
        {"ScalarValue": "1"}, {"ScalarValue": "2020-01-02 03:04:05.000000000"}, {"ScalarValue": "a"},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("sql", "path"),
    [
        ("SELECT CAST(ROW(TIMESTAMP '{t}') AS ROW(b TIMESTAMP)) AS r", ["RowValue", 0]),
        ("SELECT CAST(ARRAY[TIMESTAMP '{t}'] AS ARRAY(TIMESTAMP)) AS r", ["ArrayValue", 0]),
        ("SELECT CAST(ARRAY['{t}'] AS ARRAY(TIMESTAMP)) AS r", ["ArrayValue", 0]),
        ("SELECT CAST(ROW(ARRAY[TIMESTAMP '{t}'], 1) AS ROW(a ARRAY(TIMESTAMP), n BIGINT)) AS r",
         ["RowValue", 0, "ArrayValue", 0]),
    ],
)  # fmt: skip
def test_a_timestamp_inside_a_cast_row_or_array_keeps_its_nanoseconds(query, sql, path):
    """Timestream's TIMESTAMP has nanoseconds wherever it is: a ROW field or ARRAY element cast to
    TIMESTAMP kept only microseconds (…05.123457000)."""
    moment = "2026-01-02 03:04:05.123456789"
    datum = query.query(QueryString=sql.format(t=moment))["Rows"][0]["Data"][0]
    for step in path:
        datum = (
            datum[step]
            if isinstance(step, str)
            else (datum["Data"] if isinstance(datum, dict) else datum)[step]
        )
    assert datum == {"ScalarValue": moment}
