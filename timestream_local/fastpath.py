"""WriteRecords' streaming fast path: the common request shape, decoded and checked in one pass.

Forwarders send batches of plain single-measure records for series that only move forward in time.
The full path (json.loads, RecordParser, Store.write_records) spends ~20 µs per such record; here the
body is decoded by msgspec into typed structs and the records go straight into pending columns.

The path is all-or-nothing and only ever says "accepted" or "not handled": it takes a request only
when the full path would accept every record of it as a new memory-store append, and answers None for
anything else (an unknown name, a field it does not model, a value that fails a rule, a record that
may collide with a stored one, ...). The caller then runs the full path on the untouched body, so
every rule, rejection and error message stays the full path's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from timestream_local.catalog import VERSION_COLUMN
from timestream_local.columns import Columns
from timestream_local.models import (
    INT64_MAX,
    MAX_RECORDS_PER_WRITE,
    TIME_UNITS,
    VALUE_COLUMNS,
    parse_times,
    parse_values,
)

MAX_PLAIN_DIMENSION_VALUE = 512  # longer values need the UTF-8 byte-length rule of the full path

SeriesKey = tuple[tuple[tuple[str, str], ...], str]


class Dimension(msgspec.Struct, forbid_unknown_fields=True):
    Name: str
    Value: str


class Attributes(msgspec.Struct, forbid_unknown_fields=True):
    """The fields a record (or CommonAttributes) may have on this path; any other field, or a value
    of another JSON type, fails decoding and so sends the request to the full path."""

    Dimensions: list[Dimension] | None = None
    MeasureName: str | None = None
    MeasureValue: str | None = None
    MeasureValueType: str | None = None
    Time: str | None = None
    TimeUnit: str | None = None
    Version: int | None = None


class WriteBody(msgspec.Struct, forbid_unknown_fields=True):
    DatabaseName: str
    TableName: str
    Records: list[Attributes]
    CommonAttributes: Attributes | None = None


_DECODER = msgspec.json.Decoder(WriteBody)
_NO_ATTRIBUTES = Attributes()


@dataclass(slots=True)
class StreamingBatch:
    """A request's records as pending columns, plus what the store checks before appending them."""

    database: str
    table: str
    rows: Columns
    dimensions: set[str]  # dimension names used by any record
    measures: set[tuple[str, str]]  # (measure name, MeasureValueType) pairs used
    series: list[SeriesKey]  # each record's series (dimensions, measure name)
    times: list[int]  # each record's time in nanoseconds


def decode(body: bytes) -> WriteBody | None:
    """The request as typed structs, or None when it is not exactly of the modelled shape (including
    anything json.loads would refuse: msgspec is the stricter of the two)."""
    try:
        return _DECODER.decode(body)
    except (msgspec.DecodeError, ValueError):
        return None


def _one(values: list[str | None], default: str) -> str | None:
    """The one value all records resolve to (`value or default`, as RecordParser falls back), or None
    when they differ: mixed time units or measure types in one request go to the full path."""
    distinct = set(values)
    if len(distinct) != 1:
        return None
    return distinct.pop() or default


def _dimensions(
    records: list[Attributes], common: Attributes, known_names: set[str]
) -> tuple[list[dict[str, str]], set[str]] | None:
    """Each record's dimensions merged over the common ones as RecordParser merges them (a later
    name wins), and the names used; None when a name is not yet known to be valid or a value is
    long or not ASCII (those need the full path's byte-length and UTF-8 rules)."""
    common_dims = {d.Name: d.Value for d in common.Dimensions or ()}
    merged = [
        {**common_dims, **{d.Name: d.Value for d in record.Dimensions}} if record.Dimensions else common_dims
        for record in records
    ]
    every = [d for record in records for d in record.Dimensions or ()]
    every.extend(common.Dimensions or ())
    names = {d.Name for d in every}
    values = [d.Value for d in every]
    if not known_names.issuperset(names):
        return None
    if values and (max(map(len, values)) > MAX_PLAIN_DIMENSION_VALUE or not "".join(values).isascii()):
        return None
    return merged, names


def parse(body: WriteBody, known_names: set[str]) -> StreamingBatch | None:
    """The records as pending columns, or None when any of them needs the full path's rules.

    Mirrors RecordParser.parse field by field (CommonAttributes as defaults, the same fallbacks for
    missing or empty values, the same value rules via models.parse_times/parse_values), a column at
    a time so that most checks run in C. It accepts less than the full path, never more.
    """
    records = body.Records
    count = len(records)
    if not body.DatabaseName or not body.TableName or not 1 <= count <= MAX_RECORDS_PER_WRITE:
        return None
    common = body.CommonAttributes or _NO_ATTRIBUTES
    dimensions = _dimensions(records, common, known_names)
    if dimensions is None:
        return None
    merged, dimension_names = dimensions
    names = [common.MeasureName if r.MeasureName is None else r.MeasureName for r in records]
    unit = _one([r.TimeUnit or common.TimeUnit for r in records], "MILLISECONDS")
    kind = _one([r.MeasureValueType or common.MeasureValueType for r in records], "DOUBLE")
    if not known_names.issuperset(names) or unit not in TIME_UNITS or kind not in VALUE_COLUMNS:
        return None
    c_version = 1 if common.Version is None else common.Version
    versions = [c_version if r.Version is None else r.Version for r in records]
    if min(versions) < 0 or max(versions) > INT64_MAX:
        return None
    times = parse_times([common.Time if r.Time is None else r.Time for r in records], unit)
    values = parse_values(
        [common.MeasureValue if r.MeasureValue is None else r.MeasureValue for r in records], kind, unit
    )
    if times is None or values is None:
        return None
    data: dict[str, list[object]] = {
        "measure_name": names,
        "time": times,
        VERSION_COLUMN: versions,
        VALUE_COLUMNS[kind]: values,
    }
    for name in dimension_names:
        data[name] = [dims.get(name) for dims in merged]
    keys = [tuple(sorted(dims.items())) for dims in merged]
    return StreamingBatch(
        body.DatabaseName,
        body.TableName,
        Columns(count, data),
        dimension_names,
        {(name, kind) for name in set(names)},
        list(zip(keys, names, strict=True)),
        times,
    )
