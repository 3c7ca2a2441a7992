"""The record format on the wire: the reference deployment's flat JSON object.

One reading becomes::

    {"city": "Beijing", "location": "dongsi", "MeasureName": "pm2.5", "MeasureValue": "41",
     "MeasureValueType": "BIGINT", "Time": "1764300000000"}

Every value is a string, as the legacy Flink connector and the project's forwarder expect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from catalogue import Station

MEASURE_NAME = "pm2.5"
MEASURE_VALUE_TYPE = "BIGINT"


@dataclass(frozen=True)
class Reading:
    """One sensor reading: a station's whole-number PM2.5 value at an epoch-millisecond time."""

    station: Station
    time_ms: int
    value: int


def record_dict(reading: Reading) -> dict[str, str]:
    """The record as a dict (key order is the wire order)."""
    return {
        "city": reading.station.city,
        "location": reading.station.name,
        "MeasureName": MEASURE_NAME,
        "MeasureValue": str(reading.value),
        "MeasureValueType": MEASURE_VALUE_TYPE,
        "Time": str(reading.time_ms),
    }


def partition_key(station: Station) -> str:
    """Kinesis partition key: one per station, so load spreads across shards and a station stays ordered."""
    return f"{station.city}/{station.name}"


class RecordEncoder:
    """Fast JSON encoding of readings: the per-station prefix is escaped once and reused."""

    def __init__(self) -> None:
        self._prefixes: dict[Station, str] = {}

    def encode(self, reading: Reading) -> str:
        prefix = self._prefixes.get(reading.station)
        if prefix is None:
            prefix = (
                f'{{"city":{json.dumps(reading.station.city)},"location":{json.dumps(reading.station.name)},'
                f'"MeasureName":"{MEASURE_NAME}","MeasureValue":"'
            )
            self._prefixes[reading.station] = prefix
        return (
            f'{prefix}{reading.value}","MeasureValueType":"{MEASURE_VALUE_TYPE}","Time":"{reading.time_ms}"}}'
        )


def record_json(reading: Reading) -> str:
    """One reading as compact JSON text (no newline)."""
    return json.dumps(record_dict(reading), separators=(",", ":"))
