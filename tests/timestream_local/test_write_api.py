"""WriteRecords as AWS defines it, checked by reading rows back through the Query API."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.timestream_local.store_helpers import create_table, now_ms, query_rows, record


def _text(time_ns: int) -> str:
    """Timestream's timestamp text, computed independently of the server."""
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{nanos:09d}"


def _rejected(error) -> list[dict]:
    return error.value.response["RejectedRecords"]


@pytest.fixture
def table(timestream_write):
    return create_table(timestream_write)


def test_single_measure_types_round_trip(timestream_write, timestream_query, table):
    database, name = table
    t = now_ms()
    stamp_ms = t - 1234
    records = [
        record("a", 42, t, measure="count", kind="BIGINT"),
        record("a", "3.25", t, measure="ratio", kind="DOUBLE"),
        record("a", "hello world", t, measure="label", kind="VARCHAR"),
        record("a", "true", t, measure="flag", kind="BOOLEAN"),
        record("a", str(stamp_ms), t, measure="seen", kind="TIMESTAMP"),
        record("a", "-9223372036854775808", t, measure="low", kind="BIGINT"),
    ]
    result = timestream_write.write_records(DatabaseName=database, TableName=name, Records=records)
    assert result["RecordsIngested"] == {"Total": 6, "MemoryStore": 6, "MagneticStore": 0}

    rows = query_rows(
        timestream_query,
        f"SELECT measure_name, time, measure_value::bigint AS b, measure_value::double AS d, "
        f"measure_value::varchar AS v, measure_value::boolean AS f, measure_value::timestamp AS ts "
        f'FROM "{database}"."{name}" ORDER BY measure_name',
    )
    by_name = {r["measure_name"]: r for r in rows}
    assert set(by_name) == {"count", "ratio", "label", "flag", "seen", "low"}
    assert by_name["count"]["b"] == "42" and by_name["count"]["d"] is None
    assert float(by_name["ratio"]["d"]) == 3.25
    assert by_name["label"]["v"] == "hello world"
    assert by_name["flag"]["f"] == "true"
    assert by_name["seen"]["ts"] == _text(stamp_ms * 1_000_000)
    assert by_name["low"]["b"] == "-9223372036854775808"
    assert all(r["time"] == _text(t * 1_000_000) for r in rows)


def test_text_and_numbers_are_stored_exactly(timestream_write, timestream_query, table):
    """Strings that JSON escapes or encodes as several bytes, and doubles that need 17 digits, come
    back unchanged (the memory tier receives rows as one JSON document)."""
    database, name = table
    t = now_ms()
    texts = ['quote " backslash \\ slash /', "tab\tnew\nline\u0001", "Zürich 深圳 😀", "\u2028\u2029"]
    doubles = ["0.1", "123456.78901234567", "1e-300", "-2.5E+300", "5e-324"]
    records = [
        record(text, f"{i}", t + i, measure="label", kind="VARCHAR", MeasureValue=text)
        for i, text in enumerate(texts)
    ] + [record(f"d{i}", value, t + i, measure="ratio", kind="DOUBLE") for i, value in enumerate(doubles)]
    timestream_write.write_records(DatabaseName=database, TableName=name, Records=records)
    rows = query_rows(
        timestream_query,
        f"SELECT location, measure_value::varchar AS v, measure_value::double AS d "
        f'FROM "{database}"."{name}"',
    )
    labels = {r["location"]: r["v"] for r in rows if r["v"] is not None}
    assert labels == {text: text for text in texts}
    numbers = {r["location"]: float(r["d"]) for r in rows if r["d"] is not None}
    assert numbers == {f"d{i}": float(value) for i, value in enumerate(doubles)}


def test_common_attributes_and_time_units(timestream_write, timestream_query, table):
    database, name = table
    base_s = now_ms() // 1000 - 60
    common = {
        "Dimensions": [{"Name": "city", "Value": "Shenzhen"}],
        "MeasureName": "pm2.5",
        "MeasureValueType": "BIGINT",
        "TimeUnit": "SECONDS",
    }
    records = [
        {"Dimensions": [{"Name": "location", "Value": "s"}], "MeasureValue": "1", "Time": str(base_s)},
        {
            "Dimensions": [{"Name": "location", "Value": "ms"}],
            "MeasureValue": "2",
            "Time": str(base_s * 1000 + 7),
            "TimeUnit": "MILLISECONDS",
        },
        {
            "Dimensions": [{"Name": "location", "Value": "us"}],
            "MeasureValue": "3",
            "Time": str(base_s * 1_000_000 + 7),
            "TimeUnit": "MICROSECONDS",
        },
        {
            "Dimensions": [{"Name": "location", "Value": "ns"}],
            "MeasureValue": "4",
            "Time": str(base_s * 1_000_000_000 + 7),
            "TimeUnit": "NANOSECONDS",
        },
        # a record's own dimension with the common name overrides the common value
        {
            "Dimensions": [{"Name": "location", "Value": "x"}, {"Name": "city", "Value": "Sanya"}],
            "MeasureValue": "5",
            "Time": str(base_s),
        },
    ]
    timestream_write.write_records(
        DatabaseName=database, TableName=name, CommonAttributes=common, Records=records
    )
    rows = query_rows(
        timestream_query,
        f'SELECT city, location, measure_name, time, measure_value::bigint AS v FROM "{database}"."{name}"',
    )
    got = {r["location"]: (r["city"], r["measure_name"], r["time"], r["v"]) for r in rows}
    second = base_s * 1_000_000_000
    assert got == {
        "s": ("Shenzhen", "pm2.5", _text(second), "1"),
        "ms": ("Shenzhen", "pm2.5", _text(second + 7_000_000), "2"),
        "us": ("Shenzhen", "pm2.5", _text(second + 7_000), "3"),
        "ns": ("Shenzhen", "pm2.5", _text(second + 7), "4"),
        "x": ("Sanya", "pm2.5", _text(second), "5"),
    }


def test_multi_measure_records(timestream_write, timestream_query, table):
    database, name = table
    t = now_ms()
    records = [
        {
            "Dimensions": [{"Name": "location", "Value": f"st{i}"}],
            "MeasureName": "air",
            "MeasureValueType": "MULTI",
            "MeasureValues": [
                {"Name": "pm25", "Value": str(10 + i), "Type": "BIGINT"},
                {"Name": "temperature", "Value": f"{20.5 + i}", "Type": "DOUBLE"},
                {"Name": "status", "Value": "ok", "Type": "VARCHAR"},
            ],
            "Time": str(t - i),
        }
        for i in range(3)
    ]
    timestream_write.write_records(DatabaseName=database, TableName=name, Records=records)
    rows = query_rows(
        timestream_query,
        f'SELECT location, pm25, temperature, status FROM "{database}"."{name}" ORDER BY location',
    )
    assert [(r["location"], r["pm25"], float(r["temperature"]), r["status"]) for r in rows] == [
        ("st0", "10", 20.5, "ok"),
        ("st1", "11", 21.5, "ok"),
        ("st2", "12", 22.5, "ok"),
    ]


def test_version_rules(timestream_write, timestream_query, table):
    database, name = table
    t = now_ms()
    write = timestream_write.write_records

    def values():
        return query_rows(
            timestream_query, f'SELECT location, measure_value::bigint AS v FROM "{database}"."{name}"'
        )

    write(DatabaseName=database, TableName=name, Records=[record("a", 1, t)])
    # the identical record again: accepted silently, still one row
    assert (
        write(DatabaseName=database, TableName=name, Records=[record("a", 1, t)])["RecordsIngested"]["Total"]
        == 1
    )
    assert values() == [{"location": "a", "v": "1"}]

    # a different value without a higher version is rejected, naming the stored version
    with pytest.raises(timestream_write.exceptions.RejectedRecordsException) as error:
        write(DatabaseName=database, TableName=name, Records=[record("a", 2, t)])
    assert [(r["RecordIndex"], r.get("ExistingVersion")) for r in _rejected(error)] == [(0, 1)]
    assert "higher Version" in _rejected(error)[0]["Reason"]
    assert values() == [{"location": "a", "v": "1"}]

    # a higher version overwrites
    write(DatabaseName=database, TableName=name, Records=[record("a", 3, t, Version=5)])
    assert values() == [{"location": "a", "v": "3"}]
    # an equal version with another value is rejected; a lower one too
    for version in (5, 4):
        with pytest.raises(timestream_write.exceptions.RejectedRecordsException) as error:
            write(DatabaseName=database, TableName=name, Records=[record("a", 9, t, Version=version)])
        assert _rejected(error)[0]["ExistingVersion"] == 5
    # a different dimension value or time is another record, not an update
    write(DatabaseName=database, TableName=name, Records=[record("b", 7, t), record("a", 8, t - 1)])
    assert sorted((r["location"], r["v"]) for r in values()) == [("a", "3"), ("a", "8"), ("b", "7")]


def test_duplicates_inside_one_batch(timestream_write, timestream_query, table):
    database, name = table
    t = now_ms()
    with pytest.raises(timestream_write.exceptions.RejectedRecordsException) as error:
        timestream_write.write_records(
            DatabaseName=database,
            TableName=name,
            Records=[record("a", 1, t), record("a", 1, t), record("a", 2, t), record("a", 4, t, Version=2)],
        )
    assert [(r["RecordIndex"], r.get("ExistingVersion")) for r in _rejected(error)] == [(2, 1)]
    rows = query_rows(timestream_query, f'SELECT measure_value::bigint AS v FROM "{database}"."{name}"')
    assert rows == [{"v": "4"}]


def test_bad_records_do_not_sink_the_batch(timestream_write, timestream_query, table):
    database, name = table
    t = now_ms()
    records = [
        record("good0", 1, t),
        record("bad-bigint", "12.5", t),
        record("good1", 2, t),
        record("future", 3, t + 16 * 60 * 1000),
        record("old", 4, t - 7 * 3600 * 1000),  # memory store keeps 6 h, magnetic writes are off
        record("bad-time", 5, t, Time="yesterday"),
        record("bad-type", 6, t, MeasureValueType="INTEGER"),
        record("good2", "4.5", t, measure="other", kind="DOUBLE"),
        record("conflict", "4.5", t, kind="DOUBLE"),  # pm2.5 is BIGINT in this table
        {
            "Dimensions": [{"Name": "time", "Value": "x"}],
            "MeasureName": "m",
            "MeasureValue": "1",
            "Time": str(t),
        },
    ]
    with pytest.raises(timestream_write.exceptions.RejectedRecordsException) as error:
        timestream_write.write_records(DatabaseName=database, TableName=name, Records=records)
    assert error.value.response["Error"]["Message"] == (
        "One or more records have been rejected. See RejectedRecords for details."
    )
    reasons = {r["RecordIndex"]: r["Reason"] for r in _rejected(error)}
    assert sorted(reasons) == [1, 3, 4, 5, 6, 8, 9]
    assert "not a valid BIGINT" in reasons[1]
    assert "15 minutes in the future" in reasons[3]
    assert "magnetic store writes are not enabled" in reasons[4]
    assert "yesterday" in reasons[5]
    assert "INTEGER" in reasons[6]
    assert "data type conflict" in reasons[8]
    assert "reserved" in reasons[9]
    rows = query_rows(timestream_query, f'SELECT location FROM "{database}"."{name}" ORDER BY location')
    assert [r["location"] for r in rows] == ["good0", "good1", "good2"]


def test_magnetic_writes_and_retention_window(timestream_write, timestream_query):
    database, name = create_table(
        timestream_write,
        RetentionProperties={"MemoryStoreRetentionPeriodInHours": 1, "MagneticStoreRetentionPeriodInDays": 2},
        MagneticStoreWriteProperties={"EnableMagneticStoreWrites": True},
    )
    t = now_ms()
    hour = 3600 * 1000
    with pytest.raises(timestream_write.exceptions.RejectedRecordsException) as error:
        timestream_write.write_records(
            DatabaseName=database,
            TableName=name,
            Records=[
                record("new", 1, t),
                record("old", 2, t - 5 * hour),
                record("ancient", 3, t - 49 * hour),
            ],
        )
    assert [r["RecordIndex"] for r in _rejected(error)] == [2]
    assert "magnetic store retention" in _rejected(error)[0]["Reason"]
    result = timestream_write.write_records(
        DatabaseName=database, TableName=name, Records=[record("old2", 2, t - 30 * hour)]
    )
    assert result["RecordsIngested"] == {"Total": 1, "MemoryStore": 0, "MagneticStore": 1}
    rows = query_rows(timestream_query, f'SELECT location FROM "{database}"."{name}" ORDER BY location')
    assert [r["location"] for r in rows] == ["new", "old", "old2"]


def test_request_level_validation(timestream_write, table):
    database, name = table
    t = now_ms()
    with pytest.raises(timestream_write.exceptions.ValidationException) as error:
        timestream_write.write_records(
            DatabaseName=database, TableName=name, Records=[record(f"s{i}", i, t) for i in range(101)]
        )
    assert "between 1 and 100" in error.value.response["Error"]["Message"]
    with pytest.raises(timestream_write.exceptions.ResourceNotFoundException) as error:
        timestream_write.write_records(
            DatabaseName=database, TableName="missing", Records=[record("a", 1, t)]
        )
    assert error.value.response["Error"]["Message"] == "The table missing does not exist."


def test_new_dimensions_extend_the_table(timestream_write, timestream_query, table):
    database, name = table
    t = now_ms()
    timestream_write.write_records(DatabaseName=database, TableName=name, Records=[record("a", 1, t)])
    extra = record("b", 2, t)
    extra["Dimensions"].append({"Name": "district", "Value": "north"})
    timestream_write.write_records(DatabaseName=database, TableName=name, Records=[extra])
    rows = query_rows(
        timestream_query, f'SELECT location, district FROM "{database}"."{name}" ORDER BY location'
    )
    assert rows == [{"location": "a", "district": None}, {"location": "b", "district": "north"}]
    # a different dimension set is a different series: same location/time but with district is new
    timestream_write.write_records(DatabaseName=database, TableName=name, Records=[record("b", 3, t)])
    rows = query_rows(timestream_query, f'SELECT count(*) AS n FROM "{database}"."{name}"')
    assert rows == [{"n": "3"}]


def test_history_written_after_live_data_keeps_the_version_rules(timestream_write, timestream_query, table):
    """Live readings first, then older history for the same series (how the demo backfills): the older
    records are stored, and a later conflicting or identical write inside the stored span is still checked."""
    database, name = table
    t = now_ms() - 600_000
    live = [record("a", 100 + i, t + i * 1000) for i in range(10)]
    history = [record("a", i, t - (20 - i) * 1000) for i in range(20)]  # 20 s before the first live reading
    for batch in (live, history):
        result = timestream_write.write_records(DatabaseName=database, TableName=name, Records=batch)
        assert result["RecordsIngested"]["Total"] == len(batch)

    identical = record("a", 5, t - 15_000)  # history[5], written again
    timestream_write.write_records(DatabaseName=database, TableName=name, Records=[identical])
    with pytest.raises(timestream_write.exceptions.RejectedRecordsException) as caught:
        timestream_write.write_records(
            DatabaseName=database, TableName=name, Records=[record("a", 999, t - 15_000)]
        )
    assert _rejected(caught)[0]["ExistingVersion"] == 1

    rows = query_rows(
        timestream_query,
        f'SELECT measure_value::bigint AS v FROM "{database}"."{name}" ORDER BY time',
    )
    assert [int(r["v"]) for r in rows] == list(range(20)) + [100 + i for i in range(10)]


def test_late_records_of_concurrent_writers_keep_the_version_rules(timestream_write, timestream_query, table):
    """Two writers of one stream deliver a series slightly out of order: every late record is stored,
    and rewriting a late one, or one of its newer neighbours, still meets the version rules."""
    database, name = table
    t = now_ms() - 60_000
    seconds = [0, 2, 1, 4, 3, 6, 5, 7]  # batch by batch, as two writers finishing in turn deliver them
    for s in seconds:
        result = timestream_write.write_records(
            DatabaseName=database, TableName=name, Records=[record("a", 10 + s, t + s * 1000)]
        )
        assert result["RecordsIngested"]["Total"] == 1

    for s in (1, 2, 5):  # late ones and a newer neighbour, with another value and no higher version
        with pytest.raises(timestream_write.exceptions.RejectedRecordsException) as caught:
            timestream_write.write_records(
                DatabaseName=database, TableName=name, Records=[record("a", 99, t + s * 1000)]
            )
        assert _rejected(caught)[0]["ExistingVersion"] == 1
    timestream_write.write_records(  # identical again: accepted silently
        DatabaseName=database, TableName=name, Records=[record("a", 13, t + 3000)]
    )
    rows = query_rows(
        timestream_query, f'SELECT measure_value::bigint AS v FROM "{database}"."{name}" ORDER BY time'
    )
    assert [int(r["v"]) for r in rows] == [10 + s for s in range(8)]
