"""The options tags and purge_tags of the three Timestream modules, against the real local store.

Each test runs for a database, a table and a scheduled query. The expected tags are written out in the
test; what the store holds is read back independently with ListTagsForResource on the resource's ARN,
which the test looks up itself (DescribeDatabase, DescribeTable, ListScheduledQueries).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args

from tests.deploy.test_timestream_modules import PLUGINS, _load
from tests.deploy.test_timestream_scheduled_query import find, rollup_args
from tests.foundation.test_air_quality_queries import RETENTION
from tests.timestream_local.store_helpers import unique


@dataclass
class Kind:
    """One kind of resource: its module, the arguments that make one present, and an independent
    way to find its ARN and its tags."""

    name: str
    module: Any
    args: dict
    client: Any  # the client whose ListTagsForResource answers for this kind
    find_arn: Callable[[], str | None]
    result_key: str

    def tags(self) -> dict[str, str]:
        arn = self.find_arn()
        assert arn, f"the {self.name} does not exist"
        answer = self.client.list_tags_for_resource(ResourceARN=arn)
        return {tag["Key"]: tag["Value"] for tag in answer["Tags"]}

    def tag(self, tags: dict[str, str]) -> None:
        """Tags set by someone else (another client), not by the module."""
        self.client.tag_resource(
            ResourceARN=self.find_arn(), Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
        )


@pytest.fixture(scope="module")
def modules(timestream_local) -> dict[str, Any]:
    _load("ansible.module_utils.pm25_timestream", PLUGINS / "module_utils" / "pm25_timestream.py")
    return {
        name: _load(f"pm25_tags_{name}", PLUGINS / "modules" / f"{name}.py")
        for name in ("timestream_database", "timestream_table", "timestream_scheduled_query")
    }


def _database(modules, write, query) -> Kind:
    name = unique("tagdb")

    def arn() -> (
        str | None
    ):  # DescribeDatabase: ListDatabases answers one page, and the session's store has many
        try:
            return write.describe_database(DatabaseName=name)["Database"]["Arn"]
        except write.exceptions.ResourceNotFoundException:
            return None

    return Kind("database", modules["timestream_database"], {"name": name}, write, arn, "database")


def _table(modules, write, query) -> Kind:
    database = unique("tagtb")
    write.create_database(DatabaseName=database)

    def arn() -> str | None:
        try:
            return write.describe_table(DatabaseName=database, TableName="pm25")["Table"]["Arn"]
        except write.exceptions.ResourceNotFoundException:
            return None

    args = {
        "database": database,
        "name": "pm25",
        "memory_store_retention_hours": 24,
        "magnetic_store_retention_days": 7,
    }
    return Kind("table", modules["timestream_table"], args, write, arn, "table")


def _scheduled_query(modules, write, query) -> Kind:
    database = unique("tagsq")
    write.create_database(DatabaseName=database)
    for table in ("pm25", "pm25_hourly"):
        write.create_table(DatabaseName=database, TableName=table, RetentionProperties=RETENTION)
    args = rollup_args((database, "pm25", "pm25_hourly"))

    def arn() -> str | None:
        found = find(query, args["name"])
        return found["Arn"] if found else None

    return Kind("scheduled query", modules["timestream_scheduled_query"], args, query, arn, "scheduled_query")


KINDS = {"database": _database, "table": _table, "scheduled_query": _scheduled_query}


@pytest.fixture(params=sorted(KINDS))
def kind(request, modules, timestream_write, timestream_query) -> Kind:
    return KINDS[request.param](modules, timestream_write, timestream_query)


@pytest.fixture
def run(capsys, timestream_local) -> Callable[..., dict]:
    def _run(kind: Kind, check: bool = False, diff: bool = False, **args) -> dict:
        arguments = {
            "region": "us-east-1",
            "endpoint_url": timestream_local.url,
            "_ansible_check_mode": check,
            "_ansible_diff": diff,
            **kind.args,
            **args,
        }
        capsys.readouterr()
        with patch_module_args(arguments), pytest.raises(SystemExit):
            kind.module.main()
        return json.loads(capsys.readouterr().out)

    return _run


def test_a_new_resource_gets_its_tags_then_a_second_run_changes_nothing(run, kind):
    created = run(kind, tags={"project": "pm25-timestream", "cost-centre": 42})
    assert created["changed"] is True
    expected = {"project": "pm25-timestream", "cost-centre": "42"}
    assert kind.tags() == expected
    assert created[kind.result_key]["tags"] == expected

    again = run(kind, tags={"project": "pm25-timestream", "cost-centre": 42})
    assert again["changed"] is False
    assert kind.tags() == expected


def test_a_changed_value_and_a_new_key_are_set(run, kind):
    run(kind, tags={"project": "pm25", "stage": "test"})
    changed = run(kind, tags={"project": "pm25-timestream", "stage": "test", "owner": "ops"}, diff=True)
    assert changed["changed"] is True
    expected = {"project": "pm25-timestream", "stage": "test", "owner": "ops"}
    assert kind.tags() == expected
    assert changed["diff"]["before"]["tags"] == {"project": "pm25", "stage": "test"}
    assert changed["diff"]["after"]["tags"] == expected
    assert run(kind, tags=expected)["changed"] is False


def test_purge_removes_unlisted_tags_and_no_purge_keeps_them(run, kind):
    run(kind, tags={"project": "pm25"})
    kind.tag({"owner": "ops", "billing": "team-a"})  # set by someone else

    kept = run(kind, tags={"project": "pm25", "stage": "prod"}, purge_tags=False)
    assert kept["changed"] is True
    assert kind.tags() == {"project": "pm25", "stage": "prod", "owner": "ops", "billing": "team-a"}
    assert run(kind, tags={"project": "pm25"}, purge_tags=False)["changed"] is False

    purged = run(kind, tags={"project": "pm25", "owner": "ops"})
    assert purged["changed"] is True
    assert kind.tags() == {"project": "pm25", "owner": "ops"}
    assert purged[kind.result_key]["tags"] == {"project": "pm25", "owner": "ops"}

    emptied = run(kind, tags={})
    assert emptied["changed"] is True
    assert kind.tags() == {}
    assert run(kind, tags={})["changed"] is False


def test_omitted_tags_leave_the_resource_tags_alone(run, kind):
    run(kind, tags={"project": "pm25"})
    kind.tag({"owner": "ops"})
    left = run(kind)  # no tags option; purge_tags is true by default
    assert left["changed"] is False
    assert kind.tags() == {"project": "pm25", "owner": "ops"}
    assert left[kind.result_key]["tags"] == {"project": "pm25", "owner": "ops"}


def test_check_mode_reports_the_tag_change_and_changes_nothing(run, kind):
    new = run(kind, check=True, diff=True, tags={"project": "pm25"})
    assert new["changed"] is True
    assert new[kind.result_key]["tags"] == {"project": "pm25"}
    assert new["diff"]["after"]["tags"] == {"project": "pm25"}
    assert kind.find_arn() is None

    run(kind, tags={"project": "pm25", "owner": "ops"})
    predicted = run(kind, check=True, diff=True, tags={"project": "pm25-timestream"})
    assert predicted["changed"] is True
    assert predicted[kind.result_key]["tags"] == {"project": "pm25-timestream"}
    assert predicted["diff"]["before"]["tags"] == {"project": "pm25", "owner": "ops"}
    assert predicted["diff"]["after"]["tags"] == {"project": "pm25-timestream"}
    assert kind.tags() == {"project": "pm25", "owner": "ops"}

    same = run(kind, check=True, tags={"owner": "ops", "project": "pm25"})
    assert same["changed"] is False


def test_a_recreated_scheduled_query_keeps_its_tags(run, modules, timestream_write, timestream_query):
    kind = _scheduled_query(modules, timestream_write, timestream_query)
    run(kind, tags={"project": "pm25"})
    kind.tag({"owner": "ops"})
    first_arn = kind.find_arn()

    recreated = run(kind, schedule_expression="cron(10 * * * ? *)")
    assert recreated["recreated"] is True
    assert kind.find_arn() != first_arn
    assert kind.tags() == {"project": "pm25", "owner": "ops"}
    assert recreated["scheduled_query"]["tags"] == {"project": "pm25", "owner": "ops"}

    retagged = run(kind, schedule_expression="cron(15 * * * ? *)", tags={"project": "pm25-timestream"})
    assert retagged["recreated"] is True
    assert kind.tags() == {"project": "pm25-timestream"}


def limit_cases() -> list:
    fifty = {f"k{number:02d}": "v" for number in range(50)}
    return [
        pytest.param(fifty, "", id="50-tags"),
        pytest.param(
            {**fifty, "k50": "v"}, "tags holds 51 tags; a Timestream resource holds at most 50.", id="51-tags"
        ),
        pytest.param({"k" * 128: "v"}, "", id="key-128"),
        pytest.param({"k" * 129: "v"}, "has 129 characters; a key has 1 to 128.", id="key-129"),
        pytest.param({"": "v"}, "has 0 characters; a key has 1 to 128.", id="key-0"),
        pytest.param({"note": "v" * 256}, "", id="value-256"),
        pytest.param({"note": "v" * 257}, "has 257 characters; a value has at most 256.", id="value-257"),
        pytest.param(
            {"aws:owner": "v"}, "starts with 'aws:', which AWS keeps for its own tags.", id="aws-prefix"
        ),
    ]


@pytest.mark.parametrize(("tags", "refusal"), limit_cases())
@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
def test_tags_at_and_past_timestream_limits(
    run, modules, timestream_write, timestream_query, tags, refusal, check
):
    kind = _database(modules, timestream_write, timestream_query)
    result = run(kind, check=check, tags=tags)
    if refusal:
        assert result.get("failed") is True
        assert result["msg"].startswith("Cannot use these tags: ")
        assert refusal in result["msg"]
        assert kind.find_arn() is None
    else:
        assert result["changed"] is True
        assert result["database"]["tags"] == tags
        if not check:
            assert kind.tags() == tags
