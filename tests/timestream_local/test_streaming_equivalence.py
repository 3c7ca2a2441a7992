"""The WriteRecords streaming fast path must never decide differently from the full path.

Randomly perturbed request bodies (unknown and reserved names, non-ASCII and long values, bad and
edge times and values, duplicates, old and future records, Versions, MULTI records, extra fields,
wrong JSON types, malformed JSON) are written to two fresh stores: one with the fast path, one with
every call forced through the full rules. Both must answer the same (counts, rejections with their
reasons and existing versions, errors) and hold the same rows afterwards.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from forwarder.records import parse_record
from timestream_local import models, urls
from timestream_local.domain import fastpath
from timestream_local.domain import records as record_rules
from timestream_local.exceptions import TimestreamError
from timestream_local.models import Retention
from timestream_local.storage.columns import Columns
from timestream_local.store import Store

NOW_NS = 1_800_000_000_000_000_000
NOW_MS = NOW_NS // 1_000_000
HOUR_MS = 3600 * 1000
DATABASE = "equivalence"
TABLES = ("plain", "magnetic")
STATIONS = 12


def clock() -> int:
    """Both stores see the same fixed time, so window decisions are reproducible."""
    return NOW_NS


class Pair:
    """The same requests against a fast-path store and a full-path-only store."""

    def __init__(self, root: Path) -> None:
        self.fast = Store(root / "fast", clock_ns=clock, flush_interval=3600)
        self.full = Store(root / "full", clock_ns=clock, flush_interval=3600, streaming_writes=False)
        self.routers = (urls.for_store(self.fast, "fast"), urls.for_store(self.full, "full"))
        self.full_path_calls = 0
        original = self.fast.writer.write_records

        def counting(request: models.WriteRequest) -> Any:
            self.full_path_calls += 1
            return original(request)

        self.fast.writer.write_records = counting  # type: ignore[method-assign]
        for store in (self.fast, self.full):
            store.catalogue.create_database(DATABASE)
            store.catalogue.create_table(DATABASE, "plain", retention=Retention(2, 30))
            store.catalogue.create_table(
                DATABASE,
                "magnetic",
                retention=Retention(2, 30),
                magnetic_writes={"EnableMagneticStoreWrites": True},
            )

    def write(self, body: bytes) -> Any:
        outcomes = [_outcome(router, body) for router in self.routers]
        assert outcomes[0] == outcomes[1], body[:2000]
        return outcomes[0]

    def assert_same_rows(self) -> None:
        for table in TABLES:
            assert _rows(self.fast, table) == _rows(self.full, table)
            fast_info = self.fast.catalogue.describe_table(DATABASE, table)
            full_info = self.full.catalogue.describe_table(DATABASE, table)
            assert fast_info.dimensions == full_info.dimensions
            assert fast_info.measure_types == full_info.measure_types
            assert fast_info.attributes == full_info.attributes

    def close(self) -> None:
        self.fast.close()
        self.full.close()


def _outcome(router: urls.Router, body: bytes) -> Any:
    try:
        return ("ok", router.call("WriteRecords", body))
    except TimestreamError as error:
        return ("error", type(error).__name__, error.body())


def _rows(store: Store, table: str) -> list[tuple]:
    store.reader.sync()
    info = store.catalogue.describe_table(DATABASE, table)
    rows = store.database.sql(f"SELECT * FROM {info.mem_table}")
    names = [row[0] for row in store.database.sql(f"DESCRIBE {info.mem_table}")]
    return sorted((tuple(sorted(zip(names, row, strict=True), key=lambda p: p[0])) for row in rows), key=repr)


# ------------------------------------------------------------------------------------ generation
Request = dict[str, Any]
Record = dict[str, Any]


class Writer:
    """Makes request bodies: valid streaming batches with fresh times, then changes applied."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.newest = NOW_MS - 90 * 60 * 1000
        self.sent: list[Record] = []  # records of earlier requests (some are stored)

    def record(self) -> Record:
        self.newest += 0 if self.rng.random() < 0.01 else self.rng.randrange(1, 50)  # some twins
        station = self.rng.randrange(STATIONS)
        return {
            "Dimensions": [
                {"Name": "city", "Value": f"city{station % 3}"},
                {"Name": "location", "Value": f"station{station}"},
            ],
            "MeasureValue": str(self.rng.randrange(0, 500)),
            "Time": str(self.newest),
        }

    def request(self, count: int, table: str | None = None) -> Request:
        records = [self.record() for _ in range(count)]
        self.sent.extend(json.loads(json.dumps(records[:3])))
        return {
            "DatabaseName": DATABASE,
            "TableName": table or self.rng.choice(TABLES),
            "CommonAttributes": {
                "MeasureName": "pm2.5",
                "MeasureValueType": "BIGINT",
                "TimeUnit": "MILLISECONDS",
            },
            "Records": records,
        }

    def earlier(self) -> Record:
        return json.loads(json.dumps(self.rng.choice(self.sent))) if self.sent else self.record()


def _common(request: Request) -> dict[str, Any]:
    common = request.get("CommonAttributes")
    return common if isinstance(common, dict) else {}


def _set_common(field: str) -> Callable[[Writer, Request, Record, Any], None]:
    def change(writer: Writer, request: Request, record: Record, value: Any) -> None:
        request["CommonAttributes"] = {**_common(request), field: value}

    return change


def _set(field: str) -> Callable[[Writer, Request, Record, Any], None]:
    def change(writer: Writer, request: Request, record: Record, value: Any) -> None:
        record[field] = value

    return change


def _resend(writer: Writer, request: Request, record: Record, value: dict[str, Any]) -> None:
    """A record of an earlier request again: a no-op, a conflict or (higher Version) an update."""
    record.clear()
    record.update(writer.earlier(), **value)


def _twin(writer: Writer, request: Request, record: Record, value: dict[str, Any]) -> None:
    request["Records"].append({**json.loads(json.dumps(record)), **value})


def _multi(writer: Writer, request: Request, record: Record, value: list[Any]) -> None:
    record.pop("MeasureValue", None)
    record.update(MeasureValueType="MULTI", MeasureValues=value)


def _new_dimension(writer: Writer, request: Request, record: Record, value: Any) -> None:
    record["Dimensions"].append({"Name": value, "Value": "v"})


def _dimension_value(writer: Writer, request: Request, record: Record, value: Any) -> None:
    record["Dimensions"][1]["Value"] = value


def _dimension_field(writer: Writer, request: Request, record: Record, value: tuple[str, Any]) -> None:
    record["Dimensions"][0][value[0]] = value[1]


def _drop(writer: Writer, request: Request, record: Record, value: str) -> None:
    record.pop(value)


def _request_field(writer: Writer, request: Request, record: Record, value: tuple[str, Any]) -> None:
    request[value[0]] = value[1]


def _records(writer: Writer, request: Request, record: Record, value: str) -> None:
    records = request["Records"]
    request["Records"] = {"none": [], "many": records * 30, "object": {}, "number": [1], "one": records[:1]}[
        value
    ]


NAMES = ["brand_new", "time", "Measure_Value::x", "ts_x", "__tsl_v", "", "n" * 61, "Zürich", "CITY", 3, None]
VALUES = ["Zürich", "\ud800", "x" * 512, "x" * 513, "y" * 2049, "", " ", "ä" * 512, "😀" * 600, "\n", 7, None]
TIMES = [
    "", "-5", "12a", " 123", "\u0661\u0662\u0663", "1" * 21, "9" * 20, "0", 12, None, "1e3", "+1", "0" * 20,
    str(NOW_MS - 90 * 60 * 1000), str(NOW_MS - 3 * HOUR_MS), str(NOW_MS - 40 * 24 * HOUR_MS),
    str(NOW_MS + 14 * 60 * 1000), str(NOW_MS + 16 * 60 * 1000),
]  # fmt: skip
MEASURES = [
    "1.5", "-0", "007", "-", "", "1e3", "nan", "inf", "1e400", "9223372036854775807",
    "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "0" * 20 + "1",
    "-" + "1" * 19, " 1", "1_000", "+1", ".5", "5.", "-1e-3", "1e309", "true", "TRUE", "\u0661", 5, None,
]  # fmt: skip
KINDS = ["BIGINT", "DOUBLE", "VARCHAR", "BOOLEAN", "TIMESTAMP", "MULTI", "bigint", "", None, 3]
UNITS = ["SECONDS", "MILLISECONDS", "MICROSECONDS", "NANOSECONDS", "", "seconds", None, 5]
VERSIONS = [0, 1, 2, 7, -1, 2**63 - 1, 2**63, True, 1.0, "2", None]

# (what changes, how, the values it takes): every value is tried alone on a valid request by
# test_each_change_alone; test_random_combinations applies a few at a time.
CHANGES: list[tuple[str, Callable[[Writer, Request, Record, Any], None], list[Any]]] = [
    ("new dimension", _new_dimension, NAMES),
    ("dimension value", _dimension_value, VALUES),
    ("dimension field", _dimension_field, [("DimensionValueType", "VARCHAR"), ("DimensionValueType", "BIGINT"), ("Name", "city")]),
    ("dimensions", _set("Dimensions"), [{}, "city", None, [], [["city", "x"]], [{"Name": "city"}]]),
    ("time", _set("Time"), TIMES),
    ("measure value", _set("MeasureValue"), MEASURES),
    ("measure value type", _set("MeasureValueType"), KINDS),
    ("time unit", _set("TimeUnit"), UNITS),
    ("version", _set("Version"), VERSIONS),
    ("measure name", _set("MeasureName"), [*NAMES, "pm10", "pm2.5"]),
    ("extra field", _set("Foo"), [1, None]),
    ("measure values", _set("MeasureValues"), [[], None]),
    ("missing field", _drop, ["Dimensions", "MeasureValue", "Time"]),
    ("multi", _multi, [[{"Name": "a", "Value": "1", "Type": "BIGINT"}], [{"Name": "pm2.5", "Value": "x", "Type": "VARCHAR"}]]),
    ("resend", _resend, [{}, {"MeasureValue": "999"}, {"MeasureValue": "999", "Version": 2}]),
    ("twin", _twin, [{}, {"MeasureValue": "999"}, {"Version": 5}, {"Time": "1"}]),
    ("common dimensions", _set_common("Dimensions"), [[{"Name": "city", "Value": "common"}], [{"Name": "extra", "Value": "1"}], [], None, "x"]),
    ("common measure name", _set_common("MeasureName"), ["pm10", "", None, "time"]),
    ("common type", _set_common("MeasureValueType"), KINDS),
    ("common unit", _set_common("TimeUnit"), UNITS),
    ("common version", _set_common("Version"), VERSIONS),
    ("common time", _set_common("Time"), [str(NOW_MS - HOUR_MS), "x"]),
    ("common value", _set_common("MeasureValue"), ["1", "x"]),
    ("common extra", _set_common("Extra"), [1]),
    ("common attributes", _request_field, [("CommonAttributes", v) for v in (None, {}, [], "x")]),
    ("records", _records, ["none", "many", "object", "number", "one"]),
    ("request field", _request_field, [("DatabaseName", ""), ("DatabaseName", "missing"), ("TableName", None), ("TableName", 1), ("Extra", True)]),
]  # fmt: skip
RECORD_FIELDS_NEEDED = {"new dimension", "dimension value", "dimension field"}

RAW_ODDITIES: list[Callable[[bytes], bytes]] = [
    lambda body: b"\xef\xbb\xbf" + body,  # a UTF-8 byte order mark
    lambda body: body.replace(b'"Time": ', b'"Time": "1", "Time": ', 1),  # a repeated key
    lambda body: body.replace(b'"MeasureValue": "', b'"MeasureValue": NaN, "x": "', 1),
    lambda body: body[: len(body) // 2],
    lambda body: b"  \n" + body + b"\n ",
    lambda body: body.replace(b"station", b"st\\u0061tion").replace(b"city0", b"city\\u00e9", 1),
    lambda body: body.replace(b'"location"', b'"loc\\u0000ation"', 1),
    lambda body: body + b" {}",
    lambda body: body.replace(b'"Records": [', b'"Records": [' + b"[" * 5000 + b"]" * 5000 + b", ", 1),
]


def _apply(writer: Writer, request: Request, change: int, value: Any) -> None:
    """Apply one change to a random record, unless an earlier change broke what it needs."""
    name, function, _values = CHANGES[change]
    records = request["Records"]
    if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
        return
    record = writer.rng.choice(records)
    dims = record.get("Dimensions")
    if name in RECORD_FIELDS_NEEDED and not (isinstance(dims, list) and len(dims) == 2):
        return
    if name == "missing field" and value not in record:
        return
    function(writer, request, record, value)


def _cases() -> list[tuple[int, int]]:
    return [
        (change, position)
        for change, (_n, _f, values) in enumerate(CHANGES)
        for position in range(len(values))
    ]


def test_each_change_alone(tmp_path):
    writer = Writer(0)
    pair = Pair(tmp_path)
    try:
        for table in (*TABLES, *TABLES):  # stored rows for the resend cases
            pair.write(json.dumps(writer.request(20, table)).encode())
        assert pair.full_path_calls == 2  # the first call for each table adds the columns; no more
        cases = _cases()
        for change, position in cases:
            request = writer.request(5)
            _apply(writer, request, change, CHANGES[change][2][position])
            pair.write(json.dumps(request).encode())
        taken = len(cases) + 2 - pair.full_path_calls
        assert len(cases) // 5 < taken < len(cases) // 2  # harmless changes stay on the fast path
        for oddity in RAW_ODDITIES:
            pair.write(oddity(json.dumps(writer.request(5)).encode()))
        pair.assert_same_rows()
    finally:
        pair.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_combinations(tmp_path, seed):
    writer = Writer(seed)
    rng = writer.rng
    pair = Pair(tmp_path)
    outcomes: Counter[str] = Counter()
    requests = 300
    try:
        for number in range(requests):
            request = writer.request(rng.choice([1, 5, 40, 100]))
            for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
                change = rng.randrange(len(CHANGES))
                _apply(writer, request, change, rng.choice(CHANGES[change][2]))
            body = json.dumps(request).encode()
            if rng.random() < 0.05:
                body = rng.choice(RAW_ODDITIES)(body)
            outcome = pair.write(body)
            outcomes[outcome[0] if outcome[0] == "ok" else outcome[1]] += 1
            if number % 100 == 99:
                pair.assert_same_rows()
        fast_calls = requests - pair.full_path_calls
        # the comparison means something only when both paths were taken often
        assert fast_calls > requests // 4, (fast_calls, outcomes)
        assert pair.full_path_calls > requests // 4, outcomes
        assert outcomes["RejectedRecordsException"] > 10, outcomes
    finally:
        pair.close()


@pytest.mark.parametrize("seed", [4, 5])
def test_fast_path_rows_match_what_the_log_replay_parses(seed):
    """A body the fast path takes is logged as is and parsed by RecordParser on replay: both must
    yield the same rows."""
    writer = Writer(seed)
    known = {"city", "location", "pm2.5", "pm10"}
    taken = 0
    for _ in range(400):
        request = writer.request(writer.rng.choice([1, 5, 40]))
        for _ in range(writer.rng.choice([0, 1, 2])):
            change = writer.rng.randrange(len(CHANGES))
            _apply(writer, request, change, writer.rng.choice(CHANGES[change][2]))
        body = json.dumps(request).encode()
        decoded = fastpath.decode(body)
        batch = None if decoded is None else fastpath.parse(decoded, set(known))
        if batch is None:
            continue
        taken += 1
        parser = record_rules.RecordParser(request.get("CommonAttributes") or {}, set(known))
        records = [parser.parse(i, record) for i, record in enumerate(request["Records"])]
        assert _as_rows(batch.rows) == _as_rows(Columns.from_records(records))
        assert batch.series == [(r.dims, r.measure_name) for r in records]
        assert batch.times == [r.time_ns for r in records]
    assert taken > 100


def _as_rows(columns: Columns) -> list[dict[str, Any]]:
    return [
        {name: values[i] for name, values in columns.data.items() if values[i] is not None}
        for i in range(columns.count)
    ]


@pytest.mark.parametrize(
    "raws",
    [[x] for x in MEASURES] + [["1", "-2", "3"], ["5", ""], ["1-2"], ["--1"], ["-", "1"]],
)
@pytest.mark.parametrize("kind", ["BIGINT", "DOUBLE", "VARCHAR", "BOOLEAN", "TIMESTAMP"])
def test_column_value_parsers_follow_the_single_value_rules(raws, kind):
    expected: list[Any] | None
    try:
        expected = [record_rules.parse_value(raw, kind, "SECONDS", "MeasureValue") for raw in raws]
    except models.RecordError:
        expected = None
    parsed = record_rules.parse_values(raws, kind, "SECONDS")
    if expected is None or kind != "BIGINT" or max(len(r) for r in raws) <= 19:
        assert parsed == expected
    else:  # a 19-digit negative BIGINT is left to the single-value parser
        assert parsed is None


@pytest.mark.parametrize("raws", [[x] for x in TIMES] + [["1", "2"], ["1", ""], ["0" * 20, "5"]])
@pytest.mark.parametrize("unit", ["SECONDS", "NANOSECONDS"])
def test_column_time_parser_follows_the_single_value_rule(raws, unit):
    expected: list[int] | None
    try:
        expected = [record_rules.parse_time(raw, models.TIME_UNITS[unit], unit) for raw in raws]
    except models.RecordError:
        expected = None
    assert record_rules.parse_times(raws, unit) == expected


def test_the_forwarders_requests_take_the_fast_path(tmp_path):
    """The pipeline's own writer is the fast path's main customer: its request shape (which states
    DimensionValueType) must not fall back to the full path once the table knows the columns."""
    store = Store(tmp_path / "store", clock_ns=clock, flush_interval=3600)
    try:
        store.catalogue.create_database(DATABASE)
        store.catalogue.create_table(DATABASE, "plain", retention=Retention(2, 30))
        readings = [
            parse_record(
                json.dumps(
                    {"city": "Beijing", "location": f"station {n}", "MeasureName": "pm2.5",
                     "MeasureValue": str(30 + n), "MeasureValueType": "BIGINT",
                     "Time": str(NOW_NS // 1_000_000 - 60_000 + n)}
                ).encode()
            )
            for n in range(50)
        ]  # fmt: skip
        bodies = [
            json.dumps(
                {"DatabaseName": DATABASE, "TableName": "plain", "Records": [r.to_record() for r in part]}
            ).encode()
            for part in (readings[:25], readings[25:])
        ]
        assert store.writer.write_streaming(bodies[0]) is None  # the first write adds the columns: full path
        assert urls.for_store(store, "test").call("WriteRecords", bodies[0]) == {
            "RecordsIngested": {"Total": 25, "MemoryStore": 25, "MagneticStore": 0}
        }
        assert store.writer.write_streaming(bodies[1]) == 25
    finally:
        store.close()
