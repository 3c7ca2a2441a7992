"""Pure-logic unit tests: record parsing rules, the ingestion window, SigV4 verification, the write log."""

from __future__ import annotations

import datetime as dt

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from timestream_local import models
from timestream_local.domain import records, table_rules
from timestream_local.exceptions import AccessDeniedException
from timestream_local.lru import LruCache
from timestream_local.sigv4 import SigV4Verifier
from timestream_local.storage.memory import same_value

SECOND_NS = 1_000_000_000


def _parse(record, common=None):
    return records.RecordParser(common or {}).parse(0, record)


def _reason(record, common=None) -> str:
    with pytest.raises(models.RecordError) as error:
        _parse(record, common)
    return str(error.value)


def test_common_attributes_merge_and_record_fields_win():
    common = {
        "Dimensions": [{"Name": "city", "Value": "Beijing"}, {"Name": "location", "Value": "common"}],
        "MeasureName": "pm2.5",
        "MeasureValueType": "BIGINT",
        "Time": "5",
        "TimeUnit": "SECONDS",
        "Version": 3,
    }
    parsed = _parse({"Dimensions": [{"Name": "location", "Value": "own"}], "MeasureValue": "7"}, common)
    assert parsed.dims == (("city", "Beijing"), ("location", "own"))
    assert (parsed.measure_name, parsed.time_ns, parsed.version) == ("pm2.5", 5 * SECOND_NS, 3)
    assert parsed.values == {"measure_value::bigint": 7}
    parsed = _parse(
        {"MeasureValue": "2.5", "MeasureValueType": "DOUBLE", "Time": "9", "TimeUnit": "NANOSECONDS"}, common
    )
    assert (parsed.kind, parsed.time_ns, parsed.values) == ("DOUBLE", 9, {"measure_value::double": 2.5})


def test_defaults_are_double_milliseconds_and_version_1():
    parsed = _parse({"MeasureName": "m", "MeasureValue": "1", "Time": "1500"})
    assert (parsed.kind, parsed.time_ns, parsed.version) == ("DOUBLE", 1_500_000_000, 1)


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("9223372036854775807", "BIGINT", 2**63 - 1),
        ("-12", "BIGINT", -12),
        ("1e3", "DOUBLE", 1000.0),
        ("-.5", "DOUBLE", -0.5),
        ("TRUE", "BOOLEAN", True),
        ("false", "BOOLEAN", False),
        ("naïve ☃", "VARCHAR", "naïve ☃"),
        ("1700000000000", "TIMESTAMP", 1_700_000_000_000 * 1_000_000),
    ],
)
def test_measure_values_by_type(value, kind, expected):
    parsed = _parse({"MeasureName": "m", "MeasureValue": value, "MeasureValueType": kind, "Time": "1"})
    assert list(parsed.values.values()) == [expected]


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        ({"MeasureValue": "9223372036854775808", "MeasureValueType": "BIGINT"}, "out of range for BIGINT"),
        ({"MeasureValue": "1_000", "MeasureValueType": "BIGINT"}, "not a valid BIGINT"),
        ({"MeasureValue": "+5", "MeasureValueType": "BIGINT"}, "not a valid BIGINT"),
        ({"MeasureValue": "nan", "MeasureValueType": "DOUBLE"}, "not a valid DOUBLE"),
        ({"MeasureValue": "1e400", "MeasureValueType": "DOUBLE"}, "out of range for DOUBLE"),
        ({"MeasureValue": "yes", "MeasureValueType": "BOOLEAN"}, "not a valid BOOLEAN"),
        ({"MeasureValue": "x" * 2049, "MeasureValueType": "VARCHAR"}, "2048 bytes"),
        ({"MeasureValue": "\ud800", "MeasureValueType": "VARCHAR"}, "not valid UTF-8"),
        ({"MeasureValue": "1", "Time": "-5"}, "non-negative integer"),
        ({"MeasureValue": "1", "Time": "12.5"}, "non-negative integer"),
        ({"MeasureValue": "1", "TimeUnit": "HOURS"}, "TimeUnit 'HOURS'"),
        ({"MeasureValue": "1", "Version": -1}, "Version"),
        ({"MeasureValue": "1", "Version": True}, "Version"),
        ({"MeasureValues": [{"Name": "a", "Value": "1", "Type": "BIGINT"}]}, "only be used with"),
        ({"MeasureValueType": "MULTI", "MeasureValues": []}, "non-empty list"),
        ({"MeasureValue": "1", "Dimensions": [{"Name": "ts_x", "Value": "v"}]}, "reserved"),
        ({"MeasureValue": "1", "Dimensions": [{"Name": "x" * 61, "Value": "v"}]}, "60 bytes"),
        ({"MeasureValue": "1", "Dimensions": [{"Name": "d", "Value": 5}]}, "string Value"),
        (
            {
                "MeasureValue": "1",
                "Dimensions": [{"Name": "d", "Value": "v", "DimensionValueType": "BIGINT"}],
            },
            "only VARCHAR",
        ),
    ],
)
def test_invalid_records_are_rejected_with_a_reason(record, fragment):
    base = {"MeasureName": "m", "Time": "1"}
    assert fragment in _reason({**base, **record})


def test_multi_records():
    parsed = _parse(
        {
            "MeasureName": "air",
            "MeasureValueType": "MULTI",
            "Time": "1",
            "MeasureValues": [
                {"Name": "pm25", "Value": "12", "Type": "BIGINT"},
                {"Name": "ok", "Value": "true", "Type": "BOOLEAN"},
            ],
        }
    )
    assert parsed.values == {"pm25": 12, "ok": True}
    assert parsed.value_types == {"pm25": "BIGINT", "ok": "BOOLEAN"}
    assert "more than once" in _reason(
        {
            "MeasureName": "air",
            "MeasureValueType": "MULTI",
            "Time": "1",
            "MeasureValues": [{"Name": "a", "Value": "1", "Type": "BIGINT"}] * 2,
        }
    )


def test_schema_check_rules():
    check = table_rules.SchemaCheck(["city"], {"temp": "DOUBLE"}, {"pm2.5": "BIGINT", "air": "MULTI"})
    ok = _parse(
        {
            "Dimensions": [{"Name": "district", "Value": "n"}],
            "MeasureName": "pm2.5",
            "MeasureValueType": "BIGINT",
            "MeasureValue": "1",
            "Time": "1",
        }
    )
    assert check.problem(ok) is None
    check.accept(ok)
    assert check.change() == {"dimensions": ["district"], "attributes": {}, "measures": {}}
    wrong_type = _parse({"MeasureName": "pm2.5", "MeasureValue": "1.5", "Time": "1"})
    assert "data type conflict" in check.problem(wrong_type)
    as_dim = _parse(
        {"Dimensions": [{"Name": "temp", "Value": "x"}], "MeasureName": "n", "MeasureValue": "1", "Time": "1"}
    )
    assert "cannot be used as a dimension" in check.problem(as_dim)
    case = _parse(
        {"Dimensions": [{"Name": "City", "Value": "x"}], "MeasureName": "n", "MeasureValue": "1", "Time": "1"}
    )
    assert "letter case" in check.problem(case)


def test_ingestion_window():
    now = 1_000 * 86_400 * SECOND_NS
    retention = models.Retention(memory_hours=2, magnetic_days=3)
    hour = 3600 * SECOND_NS
    assert table_rules.ingestion_window_reason(now, now, retention, False) is None
    assert table_rules.ingestion_window_reason(now + 15 * 60 * SECOND_NS, now, retention, False) is None
    assert "future" in table_rules.ingestion_window_reason(
        now + 15 * 60 * SECOND_NS + 1, now, retention, False
    )
    assert table_rules.ingestion_window_reason(now - 2 * hour, now, retention, False) is None
    assert "memory store" in table_rules.ingestion_window_reason(now - 2 * hour - 1, now, retention, False)
    assert table_rules.ingestion_window_reason(now - 2 * hour - 1, now, retention, True) is None
    assert "magnetic store retention" in table_rules.ingestion_window_reason(
        now - 3 * 24 * hour - 1, now, retention, True
    )


def _signed(secret="s3cr3t", body=b'{"a": 1}', when=None, monkeypatch=None):  # noqa: S107
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:8600/",
        data=body,
        headers={
            "X-Amz-Target": "Timestream_20181101.ListDatabases",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    auth = SigV4Auth(Credentials("AKID", secret), "timestream", "us-east-1")
    if when is not None:
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: when)
    auth.add_auth(request)
    # botocore signs the Host header that the HTTP client adds when it sends the request
    return {**dict(request.headers.items()), "Host": "127.0.0.1:8600"}, body


def test_sigv4_verifier_accepts_a_botocore_signature_and_rejects_changes():
    verifier = SigV4Verifier("AKID", "s3cr3t")
    headers, body = _signed()
    verifier.verify("POST", "/", "", headers, body)
    with pytest.raises(AccessDeniedException, match="does not match"):
        verifier.verify("POST", "/", "", headers, b'{"a": 2}')
    with pytest.raises(AccessDeniedException, match="does not match"):
        verifier.verify("POST", "/", "", {**headers, "X-Amz-Target": "Timestream_20181101.DeleteTable"}, body)
    other_headers, _ = _signed(secret="other")
    with pytest.raises(AccessDeniedException, match="does not match"):
        verifier.verify("POST", "/", "", other_headers, body)
    with pytest.raises(AccessDeniedException, match="invalid"):
        SigV4Verifier("SOMEONE", "s3cr3t").verify("POST", "/", "", headers, body)
    with pytest.raises(AccessDeniedException, match="Authorization"):
        verifier.verify("POST", "/", "", {**headers, "Authorization": "Basic abc"}, body)


def test_sigv4_rejects_old_signatures(monkeypatch):
    stale = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=20)
    headers, body = _signed(when=stale, monkeypatch=monkeypatch)
    with pytest.raises(AccessDeniedException, match="Signature expired"):
        SigV4Verifier("AKID", "s3cr3t").verify("POST", "/", "", headers, body)


@pytest.mark.parametrize(
    ("values", "same"),
    [
        (["pm2.5", "pm2.5"], True),
        ([1, 1, 1], True),
        (["a", "b"], False),
        ([0.0, -0.0], False),  # equal, but stored differently
        ([1.5, 1.5], False),  # floats always go row by row
        ([1, True], False),  # equal, but not the same type
        ([None, None], False),
    ],
)
def test_flusher_sends_a_column_as_one_value_only_when_every_row_has_it(values, same):
    assert same_value(values) is same


def test_lru_cache_returns_what_it_drops():
    cache: LruCache[str, int] = LruCache(2)
    assert cache.put("a", 1) == []
    assert cache.put("b", 2) == []
    assert cache.get("a") == 1  # "b" is now the least recently used
    assert cache.put("c", 3) == [("b", 2)]
    assert len(cache) == 2
    assert cache.drop("a") == 1
    assert cache.drop("a") is None
    assert (cache.get("b"), cache.get("c"), len(cache)) == (None, 3, 1)
