"""The wire format: the reference deployment's flat JSON record."""

from __future__ import annotations

import json

from catalogue import Station
from simulator.records import Reading, RecordEncoder, partition_key, record_dict, record_json

EXPECTED_KEYS = ["city", "location", "MeasureName", "MeasureValue", "MeasureValueType", "Time"]


def test_record_has_exactly_the_reference_fields_all_strings():
    reading = Reading(Station("Shanghai", "no 15 factory", 53), 1764300000000, 61)
    expected = {
        "city": "Shanghai",
        "location": "no 15 factory",
        "MeasureName": "pm2.5",
        "MeasureValue": "61",
        "MeasureValueType": "BIGINT",
        "Time": "1764300000000",
    }
    assert record_dict(reading) == expected
    assert list(record_dict(reading)) == EXPECTED_KEYS
    assert json.loads(record_json(reading)) == expected


def test_fast_encoder_matches_json_and_escapes_names():
    encoder = RecordEncoder()
    awkward = Station('Quote"ville', "back\\slash \u00e9t\u00e9", 10)
    for reading in (
        Reading(awkward, 1, 0),
        Reading(awkward, 1764300000123, 999),
        Reading(Station("Beijing", "dongsi", 38), 1764300000000, 41),
    ):
        text = encoder.encode(reading)
        assert "\n" not in text
        parsed = json.loads(text)
        assert list(parsed) == EXPECTED_KEYS
        assert parsed == {
            "city": reading.station.city,
            "location": reading.station.name,
            "MeasureName": "pm2.5",
            "MeasureValue": str(reading.value),
            "MeasureValueType": "BIGINT",
            "Time": str(reading.time_ms),
        }


def test_partition_key_is_per_station_not_per_city():
    a, b = Station("Beijing", "dongsi", 38), Station("Beijing", "tiantan", 110)
    assert partition_key(a) == "Beijing/dongsi"
    assert partition_key(a) != partition_key(b)
