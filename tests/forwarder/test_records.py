"""The legacy record format -> Timestream records (pure parsing)."""

from __future__ import annotations

import json

import pytest

from forwarder.records import InvalidRecord, Reading, multi_record, parse_record

SIMULATOR_RECORD = (
    b'{"city":"Shenzhen","location":"huaqiao city","MeasureName":"pm2.5","MeasureValue":"114",'
    b'"MeasureValueType":"BIGINT","Time":"1764295689000"}'
)


def test_the_simulator_record_becomes_the_timestream_record_the_legacy_connector_wrote():
    assert parse_record(SIMULATOR_RECORD).to_record() == {
        "Dimensions": [
            {"Name": "city", "Value": "Shenzhen", "DimensionValueType": "VARCHAR"},
            {"Name": "location", "Value": "huaqiao city", "DimensionValueType": "VARCHAR"},
        ],
        "MeasureName": "pm2.5",
        "MeasureValue": "114",
        "MeasureValueType": "BIGINT",
        "Time": "1764295689000",
        "TimeUnit": "MILLISECONDS",
    }


def test_keys_are_case_insensitive_and_json_numbers_and_booleans_are_read_as_text():
    reading = parse_record(
        json.dumps(
            {
                "TIME": 1764295689,
                "timeunit": "seconds",
                "measurename": "ok",
                "MEASUREVALUE": True,
                "measureValueType": "boolean",
                "floor": 3,
                "ratio": 0.5,
            }
        ).encode()
    )
    assert reading == Reading(
        dimensions=(("floor", "3"), ("ratio", "0.5")),
        measure_name="ok",
        measure_value="true",
        measure_value_type="BOOLEAN",
        time="1764295689",
        time_unit="SECONDS",
    )
    assert reading.time_ns == 1764295689 * 10**9


def test_the_series_ignores_the_order_of_dimensions():
    a = parse_record(
        b'{"a":"1","b":"2","Time":"5","MeasureName":"m","MeasureValue":"1","MeasureValueType":"DOUBLE"}'
    )
    b = parse_record(
        b'{"b":"2","a":"1","Time":"5","MeasureName":"m","MeasureValue":"1","MeasureValueType":"DOUBLE"}'
    )
    assert a.series == b.series == (("a", "1"), ("b", "2"))
    assert a.dimensions != b.dimensions  # the record keeps its own order


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not json", "not valid JSON: Expecting value: line 1 column 1 (char 0)"),
        (b"", "empty record"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b"[1, 2]", "not a JSON object (got an array)"),
        (b'"text"', "not a JSON object (got str)"),
        (
            b'{"city":"x","MeasureName":"pm2.5","MeasureValue":"1","MeasureValueType":"BIGINT"}',
            "missing field Time",
        ),
        (b'{"city":"x","Time":"1"}', "missing fields MeasureName, MeasureValue, MeasureValueType"),
        (
            b'{"city":"x","Time":"1","MeasureName":"pm2.5","MeasureValue":"","MeasureValueType":"BIGINT"}',
            "missing field MeasureValue",
        ),
        (
            b'{"city":"x","Time":"1","MeasureName":"pm2.5","MeasureValue":null,"MeasureValueType":"BIGINT"}',
            "missing field MeasureValue",
        ),
        (
            b'{"city":"x","Time":"soon","MeasureName":"pm2.5","MeasureValue":"1","MeasureValueType":"BIGINT"}',
            "Time 'soon' is not a non-negative integer",
        ),
        (
            b'{"city":"x","Time":"-5","MeasureName":"pm2.5","MeasureValue":"1","MeasureValueType":"BIGINT"}',
            "Time '-5' is not a non-negative integer",
        ),
        (
            b'{"city":"x","Time":"1","TimeUnit":"HOURS","MeasureName":"m","MeasureValue":"1","MeasureValueType":"BIGINT"}',
            "TimeUnit 'HOURS' is not one of MILLISECONDS, SECONDS, MICROSECONDS, NANOSECONDS",
        ),
        (
            b'{"city":"x","Time":"1","MeasureName":"pm2.5","MeasureValue":"1","MeasureValueType":"INT"}',
            "MeasureValueType 'INT' is not one of BIGINT, BOOLEAN, DOUBLE, TIMESTAMP, VARCHAR",
        ),
        (
            b'{"city":"x","Time":"1","MeasureName":"pm2.5","MeasureValue":"11.4","MeasureValueType":"BIGINT"}',
            "MeasureValue '11.4' is not a BIGINT",
        ),
        (
            b'{"city":"x","Time":"1","MeasureName":"pm2.5","MeasureValue":"9223372036854775808",'
            b'"MeasureValueType":"BIGINT"}',
            "MeasureValue '9223372036854775808' is not a BIGINT",
        ),
        (
            b'{"city":"x","Time":"1","MeasureName":"m","MeasureValue":"1_0","MeasureValueType":"DOUBLE"}',
            "MeasureValue '1_0' is not a DOUBLE",
        ),
        (
            b'{"city":"x","Time":"1","MeasureName":"m","MeasureValue":"yes","MeasureValueType":"BOOLEAN"}',
            "MeasureValue 'yes' is not a BOOLEAN (true or false)",
        ),
        (
            b'{"city":{"name":"x"},"Time":"1","MeasureName":"m","MeasureValue":"1","MeasureValueType":"BIGINT"}',
            "dimension 'city' is an object; the record must be flat JSON",
        ),
        (
            b'{"city":["x"],"Time":"1","MeasureName":"m","MeasureValue":"1","MeasureValueType":"BIGINT"}',
            "dimension 'city' is an array; the record must be flat JSON",
        ),
        (
            b'{"city":"","Time":"1","MeasureName":"m","MeasureValue":"1","MeasureValueType":"BIGINT"}',
            "dimension 'city' has no value",
        ),
        (
            b'{"city":"x","Time":"1","time":"2","MeasureName":"m","MeasureValue":"1","MeasureValueType":"BIGINT"}',
            "key 'time' appears more than once (keys are case-insensitive)",
        ),
        (b"\xf3\x89\x9a\xc2\x00\x01", "KPL-aggregated record: the forwarder reads plain JSON records only"),
    ],
)
def test_unusable_records_are_refused_with_the_reason(data, reason):
    with pytest.raises(InvalidRecord) as caught:
        parse_record(data)
    assert str(caught.value) == reason


def test_values_are_checked_for_their_declared_type_only():
    for value_type, value in [
        ("DOUBLE", "-1.5e3"),
        ("DOUBLE", ".5"),
        ("VARCHAR", "any text"),
        ("TIMESTAMP", "17"),
    ]:
        record = {
            "d": "x",
            "Time": "1",
            "MeasureName": "m",
            "MeasureValue": value,
            "MeasureValueType": value_type,
        }
        assert parse_record(json.dumps(record).encode()).measure_value == value


def test_readings_of_one_series_merge_into_a_multi_record():
    base = {"city": "Shenzhen", "location": "huaqiao city", "Time": "1764295689000"}
    pm25 = parse_record(
        json.dumps(
            {**base, "MeasureName": "pm2.5", "MeasureValue": "114", "MeasureValueType": "BIGINT"}
        ).encode()
    )
    pm10 = parse_record(
        json.dumps(
            {**base, "MeasureName": "pm10", "MeasureValue": "150.5", "MeasureValueType": "DOUBLE"}
        ).encode()
    )
    assert multi_record([pm25, pm10], "readings") == {
        "Dimensions": [
            {"Name": "city", "Value": "Shenzhen", "DimensionValueType": "VARCHAR"},
            {"Name": "location", "Value": "huaqiao city", "DimensionValueType": "VARCHAR"},
        ],
        "MeasureName": "readings",
        "MeasureValueType": "MULTI",
        "MeasureValues": [
            {"Name": "pm2.5", "Value": "114", "Type": "BIGINT"},
            {"Name": "pm10", "Value": "150.5", "Type": "DOUBLE"},
        ],
        "Time": "1764295689000",
        "TimeUnit": "MILLISECONDS",
    }
