"""WriteRecords' record rules: the request's shape, then each record with CommonAttributes merged
in and every field checked (names, time, version, measure values of each type).

Pure logic, no I/O: a request-level problem raises ValidationException (the whole call fails), a
record-level one RecordError with the reason (that record is rejected, the others go on). The
streaming fast path (fastpath.py) applies the same rules to whole columns at once.
"""

from __future__ import annotations

import math
import re
from typing import Any

from timestream_local.domain.resources import validate_resource_name
from timestream_local.exceptions import ValidationException
from timestream_local.models import (
    INT64_MAX,
    INT64_MIN,
    MAX_MEASURE_VALUE_BYTES,
    MAX_MEASURES_PER_RECORD,
    MAX_RECORDS_PER_WRITE,
    MAX_TIME_NS,
    MEASURE_VALUE_TYPES,
    SCALAR_TYPES,
    TIME_UNITS,
    VALUE_COLUMNS,
    ParsedRecord,
    RecordError,
    WriteRequest,
)

# A decimal number. Each character has one place in the pattern (no two neighbouring parts can both
# take a digit), so a match fails or succeeds in linear time; values are also at most 2048 long.
_DOUBLE = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def parse_write_request(params: dict[str, Any], raw: bytes | None = None) -> WriteRequest:
    """Request-level validation: anything wrong here fails the whole call with a ValidationException."""
    database = validate_resource_name(params.get("DatabaseName"), "DatabaseName")
    table = validate_resource_name(params.get("TableName"), "TableName")
    records = params.get("Records")
    if not isinstance(records, list):
        raise ValidationException("Records is required and must be a list of records.")
    if not 1 <= len(records) <= MAX_RECORDS_PER_WRITE:
        raise ValidationException(
            f"1 validation error detected: Value at 'records' failed to satisfy constraint: "
            f"Member must have length between 1 and {MAX_RECORDS_PER_WRITE} (got {len(records)})"
        )
    common = params.get("CommonAttributes") or {}
    if not isinstance(common, dict):
        raise ValidationException("CommonAttributes must be an object.")
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            raise ValidationException(f"Records[{position}] must be an object.")
    return WriteRequest(database, table, common, records, raw)


def _too_long(text: str, limit: int) -> bool:
    """True when the UTF-8 encoding of text exceeds limit bytes (cheap for short strings)."""
    return len(text) * 4 > limit and len(text.encode("utf-8")) > limit


def _check_utf8(text: str, what: str) -> None:
    """Strings must be valid Unicode (JSON allows lone surrogates such as "\\ud800"; DuckDB does not)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise RecordError(f"{what} is not valid UTF-8 text.") from error


def _check_name(name: Any, what: str, limit: int) -> str:
    if type(name) is not str or not name:
        raise RecordError(f"{what} must be a non-empty string.")
    if not name.isascii():
        _check_utf8(name, what)
    if _too_long(name, limit):
        raise RecordError(f"{what} '{name[:64]}' exceeds the maximum length of {limit} bytes.")
    lowered = name.lower()
    if lowered in ("time", "measure_name") or lowered.startswith(("measure_value", "ts_")) or ":" in name:
        raise RecordError(
            f"{what} '{name[:64]}' is not allowed: names cannot be measure_name, measure_value or time "
            "(these names are reserved), cannot start with ts_ or measure_value, and cannot contain "
            "the colon (:) character."
        )
    return name


def parse_time(raw: Any, multiplier: int, unit: str) -> int:
    """A Time (or TIMESTAMP value) in nanoseconds: ASCII digits only, at most 20 of them, in range."""
    if type(raw) is not str or not (raw.isascii() and raw.isdigit() and len(raw) <= 20):
        raise RecordError(f"Invalid time '{raw}': Time must be a non-negative integer string in {unit}.")
    value = int(raw) * multiplier
    if value > MAX_TIME_NS:
        raise RecordError(f"Invalid time '{raw}': the timestamp is beyond the supported range.")
    return value


def parse_bigint(raw: str, label: str) -> int:
    """A BIGINT value: an optional '-', then 1 to 19 ASCII digits, inside the 64-bit range."""
    digits = raw[1:] if raw[:1] == "-" else raw
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 19):
        raise RecordError(f"{label} '{raw[:64]}' is not a valid BIGINT.")
    number = int(raw)
    if not INT64_MIN <= number <= INT64_MAX:
        raise RecordError(f"{label} '{raw}' is out of range for BIGINT.")
    return number


def parse_value(raw: Any, kind: str, unit: str, label: str) -> Any:
    """A measure value of a scalar type as the Python value stored (TIMESTAMP as nanoseconds)."""
    if type(raw) is not str:
        raise RecordError(f"{label} must be a string.")
    if len(raw) > MAX_MEASURE_VALUE_BYTES // 4 and _too_long(raw, MAX_MEASURE_VALUE_BYTES):
        raise RecordError(f"{label} exceeds the maximum length of {MAX_MEASURE_VALUE_BYTES} bytes.")
    if kind == "BIGINT":
        return parse_bigint(raw, label)
    if kind == "DOUBLE":
        if not _DOUBLE.fullmatch(raw):
            raise RecordError(f"{label} '{raw[:64]}' is not a valid DOUBLE.")
        number = float(raw)
        if not math.isfinite(number):
            raise RecordError(f"{label} '{raw[:64]}' is out of range for DOUBLE.")
        return number
    if kind == "BOOLEAN":
        lowered = raw.lower()
        if lowered not in ("true", "false"):
            raise RecordError(f"{label} '{raw[:64]}' is not a valid BOOLEAN (use true or false).")
        return lowered == "true"
    if kind == "TIMESTAMP":
        return parse_time(raw, TIME_UNITS[unit], unit)
    if not raw.isascii():
        _check_utf8(raw, label)
    return raw


# Whole columns at once, for WriteRecords' streaming path (fastpath.py). Each applies exactly the rule
# of its single-value parser above, with checks that run in C over the whole column; instead of a
# reason it answers None when any value would be refused, and the caller then takes the full path.
def parse_times(raws: list[Any], unit: str) -> list[int] | None:
    """parse_time over a column: the times in nanoseconds, or None when any one would be refused."""
    try:
        joined = "".join(raws)  # TypeError unless every value is a string
    except TypeError:
        return None
    lengths = list(map(len, raws))
    if not (joined.isascii() and joined.isdigit()) or min(lengths) < 1 or max(lengths) > 20:
        return None
    multiplier = TIME_UNITS[unit]
    times = [int(raw) * multiplier for raw in raws]
    return times if max(times) <= MAX_TIME_NS else None


def parse_values(raws: list[Any], kind: str, unit: str) -> list[Any] | None:
    """parse_value over a column of one scalar type, or None when any value would be refused."""
    if kind == "BIGINT":
        return _parse_bigints(raws)
    if kind == "DOUBLE":
        return _parse_doubles(raws)
    try:
        return [parse_value(raw, kind, unit, "MeasureValue") for raw in raws]
    except RecordError:
        return None


def _parse_bigints(raws: list[Any]) -> list[int] | None:
    """parse_bigint's rule: only ASCII digits and '-' (so int() sees no '+', '_' or spaces), at most
    19 characters (a 19-digit negative number is left to the single-value parser), a '-' only in
    front of digits (int() refuses it anywhere else and a lone '-'), and the 64-bit range."""
    try:
        joined = "".join(raws)
    except TypeError:
        return None
    if not (joined.isascii() and joined.replace("-", "").isdigit()) or max(map(len, raws)) > 19:
        return None
    try:
        numbers = list(map(int, raws))
    except ValueError:
        return None
    return numbers if min(numbers) >= INT64_MIN and max(numbers) <= INT64_MAX else None


def _parse_doubles(raws: list[Any]) -> list[float] | None:
    """parse_value's DOUBLE rule: at most 2048 characters, the decimal pattern, then a finite float."""
    try:
        if max(map(len, raws)) > MAX_MEASURE_VALUE_BYTES // 4 or not all(map(_DOUBLE.fullmatch, raws)):
            return None
    except TypeError:
        return None
    numbers = list(map(float, raws))
    return numbers if all(map(math.isfinite, numbers)) else None


class RecordParser:
    """Parses the records of one WriteRecords call: CommonAttributes merged in, every field checked.

    `known_names` is a cache of dimension/measure names already found valid (shared across calls
    by the store) so the common case costs a set look-up per name.
    """

    def __init__(self, common: dict[str, Any], known_names: set[str] | None = None) -> None:
        self.common = common
        self.known_names = known_names if known_names is not None else set()
        self.common_dims: dict[str, str] = {}
        self.common_error: str | None = None
        self._common_defaults: tuple[Any, ...] | None = None
        try:
            dims = common.get("Dimensions")
            if dims is not None:
                self._add_dims(self.common_dims, dims)
        except RecordError as error:
            self.common_error = f"CommonAttributes: {error}"

    def _name(self, name: Any, what: str, limit: int) -> str:
        if type(name) is str and name in self.known_names:
            return name
        _check_name(name, what, limit)
        if len(self.known_names) < 100_000:
            self.known_names.add(name)
        return name

    def _add_dims(self, into: dict[str, str], dims: Any) -> None:
        if type(dims) is not list:
            raise RecordError("Dimensions must be a list.")
        known = self.known_names
        for dim in dims:
            if type(dim) is not dict:
                raise RecordError("Each dimension must be an object with Name and Value.")
            name = dim.get("Name")
            if type(name) is not str or name not in known:
                self._name(name, "Dimension name", 60)
            value = dim.get("Value")
            if type(value) is not str:
                raise RecordError(f"Dimension '{name}' must have a string Value.")
            if len(value) > 512 and _too_long(value, 2048):
                raise RecordError(
                    f"The value of dimension '{name}' exceeds the maximum length of 2048 bytes."
                )
            if not value.isascii():
                _check_utf8(value, f"The value of dimension '{name}'")
            if len(dim) > 2:
                dim_type = dim.get("DimensionValueType")
                if dim_type is not None and dim_type != "VARCHAR":
                    raise RecordError(
                        f"Dimension '{name}' has DimensionValueType '{dim_type}'; only VARCHAR exists."
                    )
            into[name] = value

    def _defaults(self) -> tuple[Any, Any, Any, Any, Any, Any, Any]:
        """CommonAttributes fields each record falls back to (looked up once per call)."""
        common = self.common
        return (
            common.get("MeasureName"),
            common.get("TimeUnit"),
            common.get("Time"),
            common.get("Version"),
            common.get("MeasureValueType"),
            common.get("MeasureValue"),
            common.get("MeasureValues"),
        )

    def parse(self, index: int, record: dict[str, Any]) -> ParsedRecord:  # noqa: PLR0912, PLR0915 - hot path
        """Raise RecordError with the reason when the record is not acceptable."""
        if self.common_error:
            raise RecordError(self.common_error)
        if self._common_defaults is None:
            self._common_defaults = self._defaults()
        c_name, c_unit, c_time, c_version, c_kind, c_value, c_values = self._common_defaults
        get = record.get
        dims = self.common_dims
        own_dims = get("Dimensions")
        if own_dims is not None:
            dims = dict(dims)
            self._add_dims(dims, own_dims)

        measure_name = get("MeasureName")
        if measure_name is None:
            measure_name = c_name
        if type(measure_name) is not str or measure_name not in self.known_names:
            self._name(measure_name, "MeasureName", 256)

        unit = get("TimeUnit") or c_unit or "MILLISECONDS"
        multiplier = TIME_UNITS.get(unit) if type(unit) is str else None
        if multiplier is None:
            raise RecordError(f"TimeUnit '{unit}' is not one of {', '.join(TIME_UNITS)}.")
        raw_time = get("Time")
        if raw_time is None:
            raw_time = c_time
            if raw_time is None:
                raise RecordError("Time is required (in the record or in CommonAttributes).")
        time_ns = parse_time(raw_time, multiplier, unit)

        version = get("Version")
        if version is None:
            version = 1 if c_version is None else c_version
        if type(version) is not int or not 0 <= version <= INT64_MAX:
            raise RecordError(f"Version '{version}' must be a non-negative 64-bit integer.")

        kind = get("MeasureValueType") or c_kind or "DOUBLE"
        raw = get("MeasureValue")
        if raw is None:
            raw = c_value
        if kind == "MULTI":
            values, value_types = self._multi(record, raw, dims, unit)
        elif kind in VALUE_COLUMNS:
            if c_values is not None or get("MeasureValues") is not None:
                raise RecordError("MeasureValues can only be used with MeasureValueType MULTI.")
            if raw is None:
                raise RecordError("MeasureValue is required for a single-measure record.")
            column = VALUE_COLUMNS[kind]
            if kind == "BIGINT" and type(raw) is str:
                value = parse_bigint(raw, "MeasureValue")
            else:
                value = parse_value(raw, kind, unit, "MeasureValue")
            values = {column: value}
            value_types = {column: kind}
        else:
            raise RecordError(f"MeasureValueType '{kind}' is not one of {', '.join(MEASURE_VALUE_TYPES)}.")
        return ParsedRecord(
            index,
            tuple(sorted(dims.items())) if len(dims) > 1 else tuple(dims.items()),
            measure_name,
            time_ns,
            kind,
            values,
            value_types,
            version,
        )

    def _multi(
        self, record: dict[str, Any], raw: Any, dims: dict[str, str], unit: str
    ) -> tuple[dict[str, Any], dict[str, str]]:
        if raw is not None:
            raise RecordError("MeasureValue must not be set for a MULTI record; use MeasureValues.")
        measures = record.get("MeasureValues")
        if measures is None:
            measures = self.common.get("MeasureValues")
        if type(measures) is not list or not measures:
            raise RecordError("MeasureValues must be a non-empty list for MeasureValueType MULTI.")
        if len(measures) > MAX_MEASURES_PER_RECORD:
            raise RecordError(f"A record can have at most {MAX_MEASURES_PER_RECORD} MeasureValues.")
        values: dict[str, Any] = {}
        value_types: dict[str, str] = {}
        for item in measures:
            if type(item) is not dict:
                raise RecordError("Each MeasureValue must be an object with Name, Value and Type.")
            name = self._name(item.get("Name"), "MeasureValue name", 256)
            item_type = item.get("Type")
            if item_type not in VALUE_COLUMNS:
                raise RecordError(
                    f"MeasureValue '{name}' has Type '{item_type}'; use one of {', '.join(SCALAR_TYPES)}."
                )
            if name in values:
                raise RecordError(f"MeasureValue '{name}' appears more than once in the record.")
            if name in dims:
                raise RecordError(f"'{name}' is used both as a dimension and as a measure in the record.")
            values[name] = parse_value(item.get("Value"), item_type, unit, f"MeasureValue '{name}'")
            value_types[name] = item_type
        return values, value_types
