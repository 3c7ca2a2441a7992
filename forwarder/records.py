"""The legacy connector's record format, parsed into Timestream records (pure functions, no I/O).

A record is one flat JSON object. The keys ``Time``, ``TimeUnit`` (default MILLISECONDS),
``MeasureName``, ``MeasureValue`` and ``MeasureValueType`` are matched without regard to case; every
other key becomes a dimension, for example::

    {"city": "Shenzhen", "location": "huaqiao city", "MeasureName": "pm2.5",
     "MeasureValue": "114", "MeasureValueType": "BIGINT", "Time": "1764295689000"}

Values may be JSON strings, numbers or booleans (the legacy connector read every value as text).
Anything else is refused with :class:`InvalidRecord`, whose message says what is wrong.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

TIME_UNITS: dict[str, int] = {  # unit -> nanoseconds per unit
    "MILLISECONDS": 1_000_000,
    "SECONDS": 1_000_000_000,
    "MICROSECONDS": 1_000,
    "NANOSECONDS": 1,
}
MEASURE_VALUE_TYPES = ("BIGINT", "BOOLEAN", "DOUBLE", "TIMESTAMP", "VARCHAR")
REQUIRED_FIELDS = ("Time", "MeasureName", "MeasureValue", "MeasureValueType")
_FIELDS = {name.lower(): name for name in (*REQUIRED_FIELDS, "TimeUnit")}
_FIELD_NAMES = tuple(_FIELDS.values())

_DECIMAL = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_KPL_MAGIC = b"\xf3\x89\x9a\xc2"
_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1


class InvalidRecord(ValueError):
    """The record cannot become a Timestream record; the message is the reason."""


Series = tuple[tuple[str, str], ...]


class Reading:
    """One measurement from one legacy record.

    ``series_id`` is the dimensions in a canonical order as one string (with the time and the
    measure name it identifies a point, and it hashes fast); ``time_ns`` is the time in nanoseconds.
    """

    __slots__ = (
        "dimensions",
        "measure_name",
        "measure_value",
        "measure_value_type",
        "series_id",
        "time",
        "time_ns",
        "time_unit",
    )

    def __init__(
        self,
        dimensions: tuple[tuple[str, str], ...],
        measure_name: str,
        measure_value: str,
        measure_value_type: str,
        time: str,
        time_unit: str,
        time_ns: int | None = None,
    ) -> None:
        self.dimensions = dimensions  # in the record's order
        self.measure_name = measure_name
        self.measure_value = measure_value
        self.measure_value_type = measure_value_type
        self.time = time  # an unsigned integer, in time_unit
        self.time_unit = time_unit
        self.time_ns = int(time) * TIME_UNITS[time_unit] if time_ns is None else time_ns
        self.series_id = "\x1f".join(sorted([f"{k}\x1e{v}" for k, v in dimensions]))

    def _fields(self) -> tuple:
        return (
            self.dimensions,
            self.measure_name,
            self.measure_value,
            self.measure_value_type,
            self.time,
            self.time_unit,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reading) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return "Reading({})".format(", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__))

    @property
    def series(self) -> Series:
        """The dimensions in a canonical order: with the time, what identifies a point."""
        return tuple(sorted(self.dimensions))

    def dimension_list(self) -> list[dict[str, str]]:
        """The WriteRecords ``Dimensions`` of this reading (a new list; callers may share it)."""
        return [
            {"Name": name, "Value": value, "DimensionValueType": "VARCHAR"} for name, value in self.dimensions
        ]

    def to_record(self, dimensions: list[dict[str, str]] | None = None) -> dict[str, Any]:
        """The single-measure Timestream record (WriteRecords ``Records`` entry).

        ``dimensions``, when given, is this reading's ``dimension_list()`` made earlier: a station's
        readings can share one (it is only serialised, never changed).
        """
        return {
            "Dimensions": self.dimension_list() if dimensions is None else dimensions,
            "MeasureName": self.measure_name,
            "MeasureValue": self.measure_value,
            "MeasureValueType": self.measure_value_type,
            "Time": self.time,
            "TimeUnit": self.time_unit,
        }


def multi_record(readings: Iterable[Reading], measure_name: str) -> dict[str, Any]:
    """One MULTI record holding several readings of the same series at the same time."""
    readings = list(readings)
    if not readings:
        raise ValueError("a MULTI record needs at least one reading")
    first = readings[0]
    return {
        "Dimensions": first.dimension_list(),
        "MeasureName": measure_name,
        "MeasureValueType": "MULTI",
        "MeasureValues": [
            {"Name": r.measure_name, "Value": r.measure_value, "Type": r.measure_value_type} for r in readings
        ],
        "Time": first.time,
        "TimeUnit": first.time_unit,
    }


def _text(key: str, value: Any) -> str | None:
    """A JSON value as the legacy connector saw it: text. None stays None (an absent value)."""
    if isinstance(value, str):
        return value
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidRecord(f"{key} is not a finite number")
        return repr(value)
    kind = "an object" if isinstance(value, dict) else "an array"
    raise InvalidRecord(f"{key} is {kind}; the record must be flat JSON")


def _is_unsigned(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _check_value(value: str, value_type: str) -> None:
    if value_type == "BIGINT":
        digits = value[1:] if value[:1] == "-" else value
        if not _is_unsigned(digits) or (len(digits) > 18 and not _BIGINT_MIN <= int(value) <= _BIGINT_MAX):
            raise InvalidRecord(f"MeasureValue {value!r} is not a BIGINT")
    elif value_type == "DOUBLE":
        if not _DECIMAL.fullmatch(value) or not math.isfinite(float(value)):
            raise InvalidRecord(f"MeasureValue {value!r} is not a DOUBLE")
    elif value_type == "BOOLEAN":
        if value.lower() not in ("true", "false"):
            raise InvalidRecord(f"MeasureValue {value!r} is not a BOOLEAN (true or false)")
    elif value_type == "TIMESTAMP" and not _is_unsigned(value):
        raise InvalidRecord(f"MeasureValue {value!r} is not a TIMESTAMP (an integer)")


def _load(data: bytes) -> dict[str, Any]:
    if data.startswith(_KPL_MAGIC):
        raise InvalidRecord("KPL-aggregated record: the forwarder reads plain JSON records only")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRecord("not UTF-8 text") from None
    try:
        document = json.loads(text)
    except ValueError as error:
        if not text.strip():
            raise InvalidRecord("empty record") from None
        raise InvalidRecord(f"not valid JSON: {error}") from None
    if type(document) is not dict:
        kind = "an array" if isinstance(document, list) else type(document).__name__
        raise InvalidRecord(f"not a JSON object (got {kind})")
    return document


def parse_record(data: bytes) -> Reading:
    """Parse one Kinesis record's data; raise InvalidRecord with the reason when it is unusable."""
    document = _load(data)
    # The usual spelling first (cheap dict pops), then any other spelling of the same keys.
    fields: dict[str, str | None] = {}
    for name in _FIELD_NAMES:
        if name in document:
            raw = document.pop(name)
            fields[name] = raw if type(raw) is str else _text(name, raw)
    dimensions: list[tuple[str, str]] = []
    for key, raw in document.items():
        value = raw if type(raw) is str else _text(f"dimension {key!r}", raw)
        name = _FIELDS.get(key.lower())
        if name is not None:
            if name in fields:
                raise InvalidRecord(f"key {key!r} appears more than once (keys are case-insensitive)")
            fields[name] = value
        elif not key:
            raise InvalidRecord("a dimension has an empty name")
        elif not value:
            raise InvalidRecord(f"dimension {key!r} has no value")
        else:
            dimensions.append((key, value))

    time = fields.get("Time")
    value = fields.get("MeasureValue")
    value_type = fields.get("MeasureValueType")
    measure_name = fields.get("MeasureName")
    if not (time and value and value_type and measure_name):
        missing = [name for name in REQUIRED_FIELDS if not fields.get(name)]
        raise InvalidRecord(f"missing field{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if not _is_unsigned(time):
        raise InvalidRecord(f"Time {time!r} is not a non-negative integer")
    unit_text = fields.get("TimeUnit")
    unit = unit_text.upper() if unit_text else "MILLISECONDS"
    if unit not in TIME_UNITS:
        raise InvalidRecord(f"TimeUnit {unit_text!r} is not one of {', '.join(TIME_UNITS)}")
    upper_type = value_type.upper()
    if upper_type not in MEASURE_VALUE_TYPES:
        raise InvalidRecord(f"MeasureValueType {value_type!r} is not one of {', '.join(MEASURE_VALUE_TYPES)}")
    _check_value(value, upper_type)
    number = int(time)
    return Reading(
        dimensions=tuple(dimensions),
        measure_name=measure_name,
        measure_value=value,
        measure_value_type=upper_type,
        time=time if time[0] != "0" or time == "0" else str(number),
        time_unit=unit,
        time_ns=number * TIME_UNITS[unit],
    )
