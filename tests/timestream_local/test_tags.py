"""Tags through boto3 against a real timestream_local: TagResource, UntagResource, ListTagsForResource on
databases and tables through both APIs, Tags in CreateDatabase/CreateTable, AWS's limits (each at the
limit and one past), unknown ARNs, removal with the resource, and persistence across a restart."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.services import start_timestream_local
from tests.timestream_local.store_helpers import unique

ACCOUNT_PREFIX = "arn:aws:timestream:us-east-1:000000000000"


def _raw(service: str, url: str):
    """A client that sends what it is given (botocore checks minimum lengths itself otherwise)."""
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )


@pytest.fixture
def write(timestream_local):
    return _raw("timestream-write", timestream_local.url)


@pytest.fixture
def query(timestream_local):
    return _raw("timestream-query", timestream_local.url)


def _error(error) -> tuple[str, str]:
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


def _tags(n: int, prefix: str = "k") -> list[dict[str, str]]:
    return [{"Key": f"{prefix}{i}", "Value": f"v{i}"} for i in range(n)]


def _listed(client, arn: str) -> list[dict[str, str]]:
    return client.list_tags_for_resource(ResourceARN=arn)["Tags"]


def test_tags_on_a_database_and_a_table_through_both_apis(write, query):
    database = unique("tagdb")
    created = write.create_database(DatabaseName=database, Tags=[{"Key": "team", "Value": "air"}])["Database"]
    db_arn = created["Arn"]
    assert db_arn == f"{ACCOUNT_PREFIX}:database/{database}"
    assert _listed(write, db_arn) == [{"Key": "team", "Value": "air"}]

    table_arn = write.create_table(
        DatabaseName=database,
        TableName="pm25",
        Tags=[{"Key": "kind", "Value": "raw"}, {"Key": "owner", "Value": ""}],
    )["Table"]["Arn"]
    assert table_arn == write.describe_table(DatabaseName=database, TableName="pm25")["Table"]["Arn"]
    assert _listed(write, table_arn) == [{"Key": "kind", "Value": "raw"}, {"Key": "owner", "Value": ""}]
    assert _listed(write, db_arn) == [{"Key": "team", "Value": "air"}]  # each resource its own tags

    # a key it has gets the new value in place, a new key goes last; keys are case-sensitive
    write.tag_resource(
        ResourceARN=table_arn, Tags=[{"Key": "kind", "Value": "derived"}, {"Key": "Kind", "Value": "x"}]
    )
    assert _listed(write, table_arn) == [
        {"Key": "kind", "Value": "derived"},
        {"Key": "owner", "Value": ""},
        {"Key": "Kind", "Value": "x"},
    ]
    # the Query API's actions reach the same tags (and page them with MaxResults)
    assert _listed(query, table_arn) == _listed(write, table_arn)
    first = query.list_tags_for_resource(ResourceARN=table_arn, MaxResults=2)
    assert first["Tags"] == _listed(write, table_arn)[:2]
    rest = query.list_tags_for_resource(ResourceARN=table_arn, MaxResults=2, NextToken=first["NextToken"])
    assert rest["Tags"] == [{"Key": "Kind", "Value": "x"}]
    assert "NextToken" not in rest
    query.tag_resource(ResourceARN=db_arn, Tags=[{"Key": "site", "Value": "bj"}])
    assert _listed(write, db_arn) == [{"Key": "team", "Value": "air"}, {"Key": "site", "Value": "bj"}]

    # untagging a key it does not have is no error; the others stay
    write.untag_resource(ResourceARN=table_arn, TagKeys=["kind", "absent"])
    assert _listed(write, table_arn) == [{"Key": "owner", "Value": ""}, {"Key": "Kind", "Value": "x"}]
    query.untag_resource(ResourceARN=table_arn, TagKeys=["owner", "Kind"])
    assert _listed(query, table_arn) == []


def test_tags_go_with_their_resource(write):
    database = unique("tagdb")
    db_arn = write.create_database(DatabaseName=database, Tags=_tags(2))["Database"]["Arn"]
    table_arn = write.create_table(DatabaseName=database, TableName="tt1", Tags=_tags(3))["Table"]["Arn"]
    write.delete_table(DatabaseName=database, TableName="tt1")
    with pytest.raises(ClientError) as error:
        write.list_tags_for_resource(ResourceARN=table_arn)
    assert _error(error) == ("ResourceNotFoundException", f"The resource {table_arn} does not exist.")
    with pytest.raises(ClientError) as error:
        write.tag_resource(ResourceARN=table_arn, Tags=_tags(1))
    assert _error(error)[0] == "ResourceNotFoundException"
    # a new table of the same name (the same ARN) starts with no tags
    assert write.create_table(DatabaseName=database, TableName="tt1")["Table"]["Arn"] == table_arn
    assert _listed(write, table_arn) == []
    write.delete_table(DatabaseName=database, TableName="tt1")
    write.delete_database(DatabaseName=database)
    write.create_database(DatabaseName=database)
    assert _listed(write, db_arn) == []


@pytest.mark.parametrize(
    "arn",
    [
        f"{ACCOUNT_PREFIX}:database/never_created",
        f"{ACCOUNT_PREFIX}:database/never_created/table/t",
        f"{ACCOUNT_PREFIX}:scheduled-query/hourly-abc",
        "arn:aws:timestream:eu-west-1:000000000000:database/{db}",  # the right name in another region
        "arn:aws:timestream:us-east-1:000000000000:database/{db}/table/missing",
    ],
)
def test_an_arn_naming_nothing_is_resource_not_found(write, query, arn):
    database = unique("tagdb")
    write.create_database(DatabaseName=database)
    arn = arn.format(db=database)
    calls = (
        lambda c: c.tag_resource(ResourceARN=arn, Tags=_tags(1)),
        lambda c: c.untag_resource(ResourceARN=arn, TagKeys=["k0"]),
        lambda c: c.list_tags_for_resource(ResourceARN=arn),
    )
    for client in (write, query):
        for call in calls:
            with pytest.raises(ClientError) as error:
                call(client)
            assert _error(error) == ("ResourceNotFoundException", f"The resource {arn} does not exist.")


def test_resource_arn_must_be_an_arn_within_its_length(write, timestream_write):
    with pytest.raises(ClientError) as error:
        write.list_tags_for_resource(ResourceARN="iot/pm25")
    assert _error(error) == (
        "ValidationException",
        "1 validation error detected: Value 'iot/pm25' at 'resourceARN' failed to satisfy constraint: "
        "Member must be an ARN (arn:partition:service:region:account:resource)",
    )
    at_limit = f"{ACCOUNT_PREFIX}:database/" + "d" * (2048 - len(f"{ACCOUNT_PREFIX}:database/"))
    assert len(at_limit) == 2048
    with pytest.raises(ClientError) as error:
        write.list_tags_for_resource(ResourceARN=at_limit)
    assert _error(error)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        write.list_tags_for_resource(ResourceARN=at_limit + "d")
    assert _error(error) == (
        "ValidationException",
        "1 validation error detected: Value at 'resourceARN' failed to satisfy constraint: "
        "Member must have length between 1 and 2048 (got 2049)",
    )
    with pytest.raises(ClientError) as error:
        write.tag_resource(ResourceARN=at_limit)  # no Tags
    assert _error(error) == (
        "ValidationException",
        "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null",
    )


def test_key_and_value_lengths_at_the_limit_and_one_past(write):
    database = unique("tagdb")
    arn = write.create_database(DatabaseName=database)["Database"]["Arn"]
    longest = [{"Key": "k" * 128, "Value": "v" * 256}, {"Key": "é" * 128, "Value": ""}]
    write.tag_resource(ResourceARN=arn, Tags=longest)
    assert _listed(write, arn) == longest
    cases = [
        (
            [{"Key": "ok", "Value": "v"}, {"Key": "k" * 129, "Value": "v"}],
            "1 validation error detected: Value '" + "k" * 129 + "' at 'tags.2.member.key' failed to satisfy "
            "constraint: Member must have length between 1 and 128 (got 129)",
        ),
        (
            [{"Key": "", "Value": "v"}],
            "1 validation error detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: "
            "Member must have length between 1 and 128 (got 0)",
        ),
        (
            [{"Key": "long", "Value": "v" * 257}],
            "1 validation error detected: Value '"
            + "v" * 257
            + "' at 'tags.1.member.value' failed to satisfy "
            "constraint: Member must have length between 0 and 256 (got 257)",
        ),
        (
            [{"Key": "novalue"}],
            "1 validation error detected: Value null at 'tags.1.member.value' failed to satisfy constraint: "
            "Member must not be null",
        ),
        (
            [{"Key": "aws:cost", "Value": "v"}],
            "The tag key 'aws:cost' at 'tags.1.member.key' starts with 'aws:', which is reserved for tags AWS "
            "assigns; choose another key.",
        ),
        (
            [{"Key": "AWS:Cost", "Value": "v"}],
            "The tag key 'AWS:Cost' at 'tags.1.member.key' starts with 'aws:', which is reserved for tags AWS "
            "assigns; choose another key.",
        ),
    ]
    for tags, message in cases:
        with pytest.raises(ClientError) as error:
            write.tag_resource(ResourceARN=arn, Tags=tags)
        assert _error(error) == ("ValidationException", message)
    assert _listed(write, arn) == longest  # nothing of a refused call was kept
    with pytest.raises(ClientError) as error:
        write.untag_resource(ResourceARN=arn, TagKeys=["k" * 128, "k" * 129])
    assert _error(error) == (
        "ValidationException",
        "1 validation error detected: Value '" + "k" * 129 + "' at 'tagKeys.2.member' failed to satisfy "
        "constraint: Member must have length between 1 and 128 (got 129)",
    )
    assert _listed(write, arn) == longest
    write.untag_resource(ResourceARN=arn, TagKeys=["k" * 128])
    assert _listed(write, arn) == longest[1:]


def test_tag_counts_at_the_limit_and_one_past(write):
    """A resource holds at most 50 tags (AWS's tagging restrictions); a request names at most 200 tags
    or keys (the API reference's TagList and TagKeyList)."""
    database = unique("tagdb")
    arn = write.create_database(DatabaseName=database, Tags=_tags(30))["Database"]["Arn"]
    write.tag_resource(ResourceARN=arn, Tags=_tags(20, "j") + _tags(30))  # 30 replaced, 20 new: 50
    assert len(_listed(write, arn)) == 50
    with pytest.raises(ClientError) as error:
        write.tag_resource(ResourceARN=arn, Tags=[{"Key": "one-more", "Value": "v"}])
    assert _error(error) == (
        "ValidationException",
        f"1 validation error detected: the resource {arn} would have 51 tags; a resource has at most 50 (the "
        "'tags' given and those it already has, counting each key once). Nothing was changed.",
    )
    assert len(_listed(write, arn)) == 50
    write.tag_resource(ResourceARN=arn, Tags=[{"Key": "k0", "Value": "new"}])  # a key it has: still 50
    assert _listed(write, arn)[0] == {"Key": "k0", "Value": "new"}

    # a request of 200 keys is accepted, 201 refused
    write.untag_resource(ResourceARN=arn, TagKeys=[f"k{i}" for i in range(200)])
    assert len(_listed(write, arn)) == 20
    with pytest.raises(ClientError) as error:
        write.untag_resource(ResourceARN=arn, TagKeys=[f"j{i}" for i in range(201)])
    assert _error(error) == (
        "ValidationException",
        "1 validation error detected: Value '[201 items]' at 'tagKeys' failed to satisfy constraint: "
        "Member must have length less than or equal to 200",
    )
    with pytest.raises(ClientError) as error:
        write.tag_resource(ResourceARN=arn, Tags=_tags(201))
    assert _error(error)[1].startswith("1 validation error detected: Value '[201 items]' at 'tags'")
    assert len(_listed(write, arn)) == 20

    # Create* with 50 tags creates; with 51 creates nothing
    table_arn = write.create_table(DatabaseName=database, TableName="fifty", Tags=_tags(50))["Table"]["Arn"]
    assert len(_listed(write, table_arn)) == 50
    with pytest.raises(ClientError) as error:
        write.create_table(DatabaseName=database, TableName="fifty_one", Tags=_tags(51))
    assert _error(error)[0] == "ValidationException"
    assert "would have 51 tags; a resource has at most 50" in _error(error)[1]
    with pytest.raises(ClientError) as error:
        write.describe_table(DatabaseName=database, TableName="fifty_one")
    assert _error(error)[0] == "ResourceNotFoundException"
    other = unique("tagdb")
    with pytest.raises(ClientError) as error:
        write.create_database(DatabaseName=other, Tags=_tags(51))
    assert _error(error)[0] == "ValidationException"
    with pytest.raises(ClientError) as error:
        write.describe_database(DatabaseName=other)
    assert _error(error)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        write.create_database(DatabaseName=other, Tags=[{"Key": "aws:x", "Value": "v"}])
    assert _error(error)[0] == "ValidationException"
    with pytest.raises(ClientError) as error:
        write.describe_database(DatabaseName=other)
    assert _error(error)[0] == "ResourceNotFoundException"


def test_tags_and_partition_keys_survive_a_restart(tmp_path):
    service = start_timestream_local(tmp_path / "data")
    try:
        write = _raw("timestream-write", service.url)
        db_arn = write.create_database(DatabaseName="iot", Tags=[{"Key": "team", "Value": "air"}])[
            "Database"
        ]["Arn"]
        schema = {
            "CompositePartitionKey": [
                {"Type": "DIMENSION", "Name": "location", "EnforcementInRecord": "REQUIRED"}
            ]
        }
        table_arn = write.create_table(DatabaseName="iot", TableName="pm25", Schema=schema, Tags=_tags(3))[
            "Table"
        ]["Arn"]
        write.untag_resource(ResourceARN=table_arn, TagKeys=["k1"])
        gone_arn = write.create_table(DatabaseName="iot", TableName="gone", Tags=_tags(2))["Table"]["Arn"]
        write.delete_table(DatabaseName="iot", TableName="gone")
        service.stop()

        service = start_timestream_local(tmp_path / "data")
        write = _raw("timestream-write", service.url)
        assert _listed(write, db_arn) == [{"Key": "team", "Value": "air"}]
        assert _listed(write, table_arn) == [{"Key": "k0", "Value": "v0"}, {"Key": "k2", "Value": "v2"}]
        assert write.describe_table(DatabaseName="iot", TableName="pm25")["Table"]["Schema"] == schema
        write.create_table(DatabaseName="iot", TableName="gone")
        assert _listed(write, gone_arn) == []  # the deleted table's tags did not come back
        with pytest.raises(ClientError) as error:
            write.write_records(
                DatabaseName="iot",
                TableName="pm25",
                Records=[
                    {
                        "Dimensions": [{"Name": "city", "Value": "Beijing"}],
                        "MeasureName": "pm2.5",
                        "MeasureValue": "12",
                        "Time": str(time.time_ns() // 1_000_000),
                    }
                ],
            )
        assert error.value.response["RejectedRecords"][0]["Reason"].startswith(
            "The record has no dimension 'location'"
        )
    finally:
        service.stop()
