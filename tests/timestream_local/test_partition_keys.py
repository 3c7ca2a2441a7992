"""Composite partition keys: CreateTable/UpdateTable's Schema kept, validated as AWS does, and a
DIMENSION key with EnforcementInRecord REQUIRED enforced on WriteRecords (both write paths)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.timestream_local.store_helpers import now_ms, query_rows, record, unique
from timestream_local.domain.records import parse_write_request
from timestream_local.models import Retention
from timestream_local.store import Store

REQUIRED = {
    "CompositePartitionKey": [{"Type": "DIMENSION", "Name": "location", "EnforcementInRecord": "REQUIRED"}]
}
OPTIONAL = {
    "CompositePartitionKey": [{"Type": "DIMENSION", "Name": "location", "EnforcementInRecord": "OPTIONAL"}]
}
MISSING_REASON = (
    "The record has no dimension 'location', which the table's composite partition key requires "
    "(Type DIMENSION, Name 'location', EnforcementInRecord REQUIRED)."
)


@pytest.fixture
def write(timestream_local):
    return boto3.client(
        "timestream-write",
        endpoint_url=timestream_local.url,
        region_name="us-east-1",
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )


def _error(error) -> tuple[str, str]:
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


def _city_only(value: int, time_ms: int) -> dict:
    """A record with the city dimension alone (no location)."""
    return {
        "Dimensions": [{"Name": "city", "Value": "Beijing"}],
        "MeasureName": "pm2.5",
        "MeasureValue": str(value),
        "MeasureValueType": "BIGINT",
        "Time": str(time_ms),
    }


def _table(write, schema: dict | None) -> tuple[str, str]:
    database = unique("pkdb")
    write.create_database(DatabaseName=database)
    kwargs = {} if schema is None else {"Schema": schema}
    write.create_table(DatabaseName=database, TableName="pm25", **kwargs)
    return database, "pm25"


def _stored(timestream_query, database: str, table: str) -> list[str]:
    rows = query_rows(
        timestream_query, f'SELECT measure_value::bigint AS v FROM "{database}"."{table}" ORDER BY v'
    )
    return [row["v"] for row in rows]


def test_required_dimension_key_rejects_records_without_it(write, timestream_query):
    database, table = _table(write, REQUIRED)
    described = write.describe_table(DatabaseName=database, TableName=table)["Table"]["Schema"]
    assert described == REQUIRED
    t = now_ms()
    records = [record("s1", 1, t), _city_only(2, t), record("s3", 3, t), _city_only(4, t + 1)]
    with pytest.raises(write.exceptions.RejectedRecordsException) as error:
        write.write_records(DatabaseName=database, TableName=table, Records=records)
    assert error.value.response["RejectedRecords"] == [
        {"RecordIndex": 1, "Reason": MISSING_REASON},
        {"RecordIndex": 3, "Reason": MISSING_REASON},
    ]
    assert _stored(timestream_query, database, table) == ["1", "3"]  # the others were kept

    # the dimension may come from CommonAttributes; an empty value is still the dimension
    common = {"Dimensions": [{"Name": "location", "Value": "s9"}]}
    write.write_records(
        DatabaseName=database, TableName=table, CommonAttributes=common, Records=[_city_only(5, t + 2)]
    )
    write.write_records(
        DatabaseName=database,
        TableName=table,
        Records=[{**_city_only(6, t + 3), "Dimensions": [{"Name": "location", "Value": ""}]}],
    )
    # only the exact (case-sensitive) name counts
    with pytest.raises(write.exceptions.RejectedRecordsException) as error:
        write.write_records(
            DatabaseName=database,
            TableName=table,
            Records=[{**_city_only(7, t + 4), "Dimensions": [{"Name": "Location", "Value": "s1"}]}],
        )
    assert error.value.response["RejectedRecords"] == [{"RecordIndex": 0, "Reason": MISSING_REASON}]
    assert _stored(timestream_query, database, table) == ["1", "3", "5", "6"]


def test_optional_key_accepts_records_without_it_and_enforcement_can_change(write, timestream_query):
    database, table = _table(write, OPTIONAL)
    t = now_ms()
    write.write_records(
        DatabaseName=database, TableName=table, Records=[_city_only(1, t), record("s2", 2, t)]
    )
    assert _stored(timestream_query, database, table) == ["1", "2"]

    updated = write.update_table(DatabaseName=database, TableName=table, Schema=REQUIRED)["Table"]
    assert updated["Schema"] == REQUIRED
    with pytest.raises(write.exceptions.RejectedRecordsException) as error:
        write.write_records(DatabaseName=database, TableName=table, Records=[_city_only(3, t + 1)])
    assert error.value.response["RejectedRecords"] == [{"RecordIndex": 0, "Reason": MISSING_REASON}]

    write.update_table(DatabaseName=database, TableName=table, Schema=OPTIONAL)
    write.write_records(DatabaseName=database, TableName=table, Records=[_city_only(4, t + 2)])
    assert _stored(timestream_query, database, table) == ["1", "2", "4"]
    # a DIMENSION key without EnforcementInRecord is kept as given and requires nothing
    plain = {"CompositePartitionKey": [{"Type": "DIMENSION", "Name": "location"}]}
    assert (
        write.update_table(DatabaseName=database, TableName=table, Schema=plain)["Table"]["Schema"] == plain
    )
    write.write_records(DatabaseName=database, TableName=table, Records=[_city_only(5, t + 3)])
    assert _stored(timestream_query, database, table) == ["1", "2", "4", "5"]


def test_the_default_key_is_the_measure_name_and_requires_nothing(write):
    database, table = _table(write, None)
    described = write.describe_table(DatabaseName=database, TableName=table)["Table"]
    assert described["Schema"] == {"CompositePartitionKey": [{"Type": "MEASURE"}]}
    write.write_records(DatabaseName=database, TableName=table, Records=[_city_only(1, now_ms())])
    # a Schema without CompositePartitionKey changes nothing
    assert (
        write.update_table(DatabaseName=database, TableName=table, Schema={})["Table"]["Schema"]
        == (described["Schema"])
    )


PREFIX = "1 validation error detected: Value "
INVALID_SCHEMAS = [
    (
        {"CompositePartitionKey": []},
        PREFIX + "'[]' at 'schema.compositePartitionKey' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
    ),
    (
        {"CompositePartitionKey": [{"Type": "MEASURE"}, {"Type": "DIMENSION", "Name": "location"}]},
        "schema.compositePartitionKey has 2 partition keys; a table has exactly one (a DIMENSION key naming "
        "one dimension, or the MEASURE key). Nothing was changed.",
    ),
    (
        {"CompositePartitionKey": [{"Name": "location"}]},
        PREFIX + "null at 'schema.compositePartitionKey.1.member.type' failed to satisfy constraint: "
        "Member must not be null",
    ),
    (
        {"CompositePartitionKey": [{"Type": "TIME"}]},
        PREFIX + "'TIME' at 'schema.compositePartitionKey.1.member.type' failed to satisfy constraint: "
        "Member must satisfy enum value set: [DIMENSION, MEASURE]",
    ),
    (
        {"CompositePartitionKey": [{"Type": "DIMENSION", "EnforcementInRecord": "REQUIRED"}]},
        "schema.compositePartitionKey.1.member.name is required: a DIMENSION partition key names the "
        "dimension it partitions by.",
    ),
    (
        {"CompositePartitionKey": [{"Type": "DIMENSION", "Name": ""}]},
        PREFIX + "'' at 'schema.compositePartitionKey.1.member.name' failed to satisfy constraint: "
        "Member must be a string of length greater than or equal to 1",
    ),
    (
        {
            "CompositePartitionKey": [
                {"Type": "DIMENSION", "Name": "location", "EnforcementInRecord": "ALWAYS"}
            ]
        },
        PREFIX + "'ALWAYS' at 'schema.compositePartitionKey.1.member.enforcementInRecord' failed to satisfy "
        "constraint: Member must satisfy enum value set: [REQUIRED, OPTIONAL]",
    ),
]


@pytest.mark.parametrize(("schema", "message"), INVALID_SCHEMAS)
def test_invalid_schemas_are_refused_naming_the_field(write, schema, message):
    database = unique("pkdb")
    write.create_database(DatabaseName=database)
    with pytest.raises(ClientError) as error:
        write.create_table(DatabaseName=database, TableName="bad", Schema=schema)
    assert _error(error) == ("ValidationException", message)
    with pytest.raises(write.exceptions.ResourceNotFoundException):
        write.describe_table(DatabaseName=database, TableName="bad")


def test_a_partition_keys_type_and_name_cannot_change(write):
    database, table = _table(write, REQUIRED)
    before = write.describe_table(DatabaseName=database, TableName=table)["Table"]
    changes = [
        (
            {
                "CompositePartitionKey": [
                    {"Type": "DIMENSION", "Name": "city", "EnforcementInRecord": "REQUIRED"}
                ]
            },
            "it is DIMENSION 'location', the update names DIMENSION 'city'",
        ),
        (
            {"CompositePartitionKey": [{"Type": "MEASURE"}]},
            "it is DIMENSION 'location', the update names MEASURE",
        ),
    ]
    for schema, detail in changes:
        with pytest.raises(ClientError) as error:
            write.update_table(
                DatabaseName=database,
                TableName=table,
                Schema=schema,
                RetentionProperties={
                    "MemoryStoreRetentionPeriodInHours": 1,
                    "MagneticStoreRetentionPeriodInDays": 1,
                },
            )
        assert _error(error) == (
            "ValidationException",
            f"The partition key of a table cannot be changed after the table is created: {detail}. "
            "Only its EnforcementInRecord can change. Nothing was changed.",
        )
    after = write.describe_table(DatabaseName=database, TableName=table)["Table"]
    assert after == before  # neither the schema nor the retention given with it changed

    measure_database, measure_table = _table(write, None)  # a key cannot be added to a table later
    with pytest.raises(ClientError) as error:
        write.update_table(DatabaseName=measure_database, TableName=measure_table, Schema=REQUIRED)
    assert "it is MEASURE, the update names DIMENSION 'location'" in _error(error)[1]


def _body(database: str, records: list[dict], common: dict | None = None) -> bytes:
    return json.dumps(
        {"DatabaseName": database, "TableName": "pm25", "CommonAttributes": common or {}, "Records": records}
    ).encode()


def test_streaming_path_takes_required_key_batches_only_when_every_record_has_the_dimension(tmp_path):
    """The fast path stays in use for a REQUIRED key when every record has the dimension, and leaves a
    batch with one record lacking it to the full path (which rejects that record alone)."""
    now_ns = 1_800_000_000_000_000_000
    store = Store(tmp_path / "data", clock_ns=lambda: now_ns, flush_interval=3600)
    try:
        store.catalogue.create_database("iot")
        store.catalogue.create_table("iot", "pm25", retention=Retention(2, 30), schema=REQUIRED)
        t = now_ns // 1_000_000
        first = [record("s1", 1, t), record("s2", 2, t)]
        body = _body("iot", first)
        outcome, rejections = store.writer.write_records(parse_write_request(json.loads(body), body))
        assert (outcome.total, rejections) == (2, [])  # teaches the table its columns and measure type
        good = [record(f"s{i}", i, t + 1) for i in range(10)]
        assert store.writer.write_streaming(_body("iot", good)) == 10
        common = {"Dimensions": [{"Name": "location", "Value": "s1"}]}
        assert store.writer.write_streaming(_body("iot", [_city_only(1, t + 2)], common)) == 1
        one_lacking = [record("s1", 1, t + 3), _city_only(2, t + 3)]
        assert store.writer.write_streaming(_body("iot", one_lacking)) is None
    finally:
        store.close()
