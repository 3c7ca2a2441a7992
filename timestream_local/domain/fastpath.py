"""WriteRecords' streaming fast path: the common request shape, decoded and checked in one pass.

Forwarders send batches of plain single-measure records for series that only move forward in time.
The full path (json.loads, RecordParser, Writer.write_records) spends ~20 µs per such record; here the
body is decoded by msgspec into typed structs and the records go straight into pending columns.

The path is all-or-nothing and only ever says "accepted" or "not handled": it takes a request only
when the full path would accept every record of it as a new memory-store append, and answers None for
anything else (an unknown name, a field it does not model, a value that fails a rule, a record that
may collide with a stored one, ...). The caller then runs the full path on the untouched body, so
every rule, rejection and error message stays the full path's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from operator import attrgetter, itemgetter, lt
from typing import Any, Literal

import msgspec
from msgspec.structs import astuple

from timestream_local.catalog import VERSION_KEY
from timestream_local.domain.records import parse_times, parse_values
from timestream_local.models import INT64_MAX, MAX_RECORDS_PER_WRITE, TIME_UNITS, VALUE_COLUMNS
from timestream_local.storage.columns import Columns

MAX_PLAIN_DIMENSION_VALUE = 512  # longer values need the UTF-8 byte-length rule of the full path

DimsKey = tuple[tuple[str, str], ...]
SeriesKey = tuple[DimsKey, str]


# gc=False: decoded requests hold only strings, numbers, lists and these structs, so they can form no
# reference cycles; untracked objects are cheaper to create and cost the garbage collector nothing.
class Dimension(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    Name: str
    Value: str
    # VARCHAR is the only dimension type (the forwarder states it); any other fails decoding
    DimensionValueType: Literal["VARCHAR"] | None = None


_NAME_VALUE = attrgetter("Name", "Value")


class Attributes(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """The fields a record (or CommonAttributes) may have on this path; any other field, or a value
    of another JSON type, fails decoding and so sends the request to the full path."""

    Dimensions: list[Dimension] | None = None
    MeasureName: str | None = None
    MeasureValue: str | None = None
    MeasureValueType: str | None = None
    Time: str | None = None
    TimeUnit: str | None = None
    Version: int | None = None


class WriteBody(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    DatabaseName: str
    TableName: str
    Records: list[Attributes]
    CommonAttributes: Attributes | None = None


_DECODER = msgspec.json.Decoder(WriteBody)


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


def _one(column: tuple[str | None, ...], common: str | None, default: str) -> str | None:
    """The one value every record resolves to (`own or common or default`, as RecordParser falls
    back), or None when records differ: mixed time units or measure types go to the full path."""
    distinct = set(column)
    if len(distinct) != 1:
        return None
    return distinct.pop() or common or default


def _or_common(column: tuple[Any, ...], common: Any) -> list[Any]:
    """Each record's value, the common one where the record has none."""
    if common is None or None not in column:
        return list(column)
    return [common if value is None else value for value in column]


def _key(pairs: tuple[tuple[str, str], ...]) -> DimsKey:
    """A record's dimensions as RecordParser keys them: a later name wins, sorted by name."""
    return tuple(sorted(dict(pairs).items()))


def _dimensions(
    column: tuple[list[Dimension] | None, ...], common: list[Dimension] | None, known_names: set[str]
) -> tuple[list[DimsKey], set[str]] | None:
    """Each record's dimension key (its own dimensions over the common ones) and the names used;
    None when a name is not yet known to be valid or a value is long or not ASCII (those need the
    full path's byte-length and UTF-8 rules)."""
    common_pairs = tuple(map(_NAME_VALUE, common or ()))
    every = list(map(_NAME_VALUE, chain.from_iterable(filter(None, column))))  # records' pairs in order
    every.extend(common_pairs)
    names: set[str] = set()
    name_column: tuple[str, ...] = ()
    if every:
        name_column, values = zip(*every, strict=True)
        names = set(name_column)
        if not known_names.issuperset(names) or max(map(len, values)) > MAX_PLAIN_DIMENSION_VALUE:
            return None
        if not "".join(values).isascii():
            return None
    keys = None if common_pairs else _uniform_keys(column, every, name_column)
    if keys is None:
        own = [tuple(map(_NAME_VALUE, dims)) if dims else () for dims in column]
        if common_pairs:
            keys = [_key(common_pairs + pairs) for pairs in own]
        else:  # often already sorted with distinct names: two comparisons instead of a dict and a sort
            keys = [pairs if len(pairs) == 2 and pairs[0][0] < pairs[1][0] else _key(pairs) for pairs in own]
    return keys, names


def _uniform_keys(
    column: tuple[list[Dimension] | None, ...], pairs: list[tuple[str, str]], names: tuple[str, ...]
) -> list[DimsKey] | None:
    """The usual shape: every record has the same number of dimensions, named in ascending order.
    Then each record's pairs (cut from the flat list of all pairs, in C) are its key; else None."""
    if None in column:
        return None
    sizes = set(map(len, column))
    if len(sizes) != 1:
        return None
    size = sizes.pop()
    if size == 0:
        return [()] * len(column)
    # position i holds every record's i-th name: each must sort strictly before the record's next one
    if not all(all(map(lt, names[i::size], names[i + 1 :: size])) for i in range(size - 1)):
        return None
    return list(zip(*(pairs[i::size] for i in range(size)), strict=True))


def _dimension_columns(keys: list[DimsKey], names: set[str]) -> dict[str, list[str | None]]:
    """One list per dimension name, None where a record lacks it. Records usually have the same
    names, and then each position of the sorted keys is one column, taken apart in C."""
    if len(set(map(len, keys))) == 1:
        columns: dict[str, list[str | None]] = {}
        for position in zip(*keys, strict=True):
            position_names = set(map(itemgetter(0), position))
            if len(position_names) != 1:
                break
            columns[position_names.pop()] = list(map(itemgetter(1), position))
        else:
            return columns
    by_name = list(map(dict, keys))
    return {name: [dims.get(name) for dims in by_name] for name in names}


def parse(body: WriteBody, known_names: set[str]) -> StreamingBatch | None:
    """The records as pending columns, or None when any of them needs the full path's rules.

    Mirrors RecordParser.parse field by field (CommonAttributes as defaults, the same fallbacks for
    missing or empty values, the same value rules via records.parse_times/parse_values), a column
    at a time so that most of the work runs in C. It accepts less than the full path, never more.
    """
    records = body.Records
    count = len(records)
    if not body.DatabaseName or not body.TableName or not 1 <= count <= MAX_RECORDS_PER_WRITE:
        return None
    common = body.CommonAttributes or Attributes()
    fields = dict(zip(Attributes.__struct_fields__, zip(*map(astuple, records), strict=True), strict=True))
    dimensions = _dimensions(fields["Dimensions"], common.Dimensions, known_names)
    if dimensions is None:
        return None
    keys, dimension_names = dimensions
    names = _or_common(fields["MeasureName"], common.MeasureName)
    unit = _one(fields["TimeUnit"], common.TimeUnit, "MILLISECONDS")
    kind = _one(fields["MeasureValueType"], common.MeasureValueType, "DOUBLE")
    if not known_names.issuperset(names) or unit not in TIME_UNITS or kind not in VALUE_COLUMNS:
        return None
    versions = _or_common(fields["Version"], 1 if common.Version is None else common.Version)
    if min(versions) < 0 or max(versions) > INT64_MAX:
        return None
    times = parse_times(_or_common(fields["Time"], common.Time), unit)
    values = parse_values(_or_common(fields["MeasureValue"], common.MeasureValue), kind, unit)
    if times is None or values is None:
        return None
    data: dict[str, list[Any]] = {
        "measure_name": names,
        "time": times,
        VERSION_KEY: versions,
        VALUE_COLUMNS[kind]: values,
    }
    data.update(_dimension_columns(keys, dimension_names))
    return StreamingBatch(
        body.DatabaseName,
        body.TableName,
        Columns(count, data),
        dimension_names,
        {(name, kind) for name in set(names)},
        list(zip(keys, names, strict=True)),
        times,
    )
