"""The project's Timestream modules (plugins/modules/timestream_*.py) against the real local store.

The modules run in-process with Ansible's own test harness for module arguments; every effect is
checked independently through boto3's timestream-write client.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

from tests.services import ROOT, free_port, start_timestream_local

PLUGINS = ROOT / "plugins"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def utils():
    # The modules import their helpers as Ansible ships them: ansible.module_utils.<name>.
    return _load("ansible.module_utils.pm25_timestream", PLUGINS / "module_utils" / "pm25_timestream.py")


@pytest.fixture(scope="module")
def database_module(utils):
    return _load("pm25_timestream_database", PLUGINS / "modules" / "timestream_database.py")


@pytest.fixture(scope="module")
def table_module(utils):
    return _load("pm25_timestream_table", PLUGINS / "modules" / "timestream_table.py")


@pytest.fixture
def run(capsys, timestream_local):
    """Run a module's main() with these arguments; return its JSON result."""

    def _run(
        module, args: dict, check: bool = False, diff: bool = False, endpoint: str | None = None
    ) -> dict:
        arguments = {
            "region": "us-east-1",
            "endpoint_url": endpoint or timestream_local.url,
            "_ansible_check_mode": check,
            "_ansible_diff": diff,
            **args,
        }
        capsys.readouterr()
        with patch_module_args(arguments), pytest.raises(SystemExit):
            module.main()
        return json.loads(capsys.readouterr().out)

    return _run


@pytest.fixture
def name() -> str:
    return f"db_{uuid.uuid4().hex[:10]}"


def database_exists(client, name: str) -> bool:
    """DescribeDatabase, not ListDatabases: a list answers one page, and the session's store has many."""
    try:
        client.describe_database(DatabaseName=name)
    except client.exceptions.ResourceNotFoundException:
        return False
    return True


def table_settings(client, database: str, table: str) -> tuple[int, int, bool]:
    described = client.describe_table(DatabaseName=database, TableName=table)["Table"]
    retention = described["RetentionProperties"]
    return (
        retention["MemoryStoreRetentionPeriodInHours"],
        retention["MagneticStoreRetentionPeriodInDays"],
        described.get("MagneticStoreWriteProperties", {}).get("EnableMagneticStoreWrites", False),
    )


def make_table(client, database: str, table: str, hours: int = 24, days: int = 7) -> None:
    client.create_database(DatabaseName=database)
    client.create_table(
        DatabaseName=database,
        TableName=table,
        RetentionProperties={
            "MemoryStoreRetentionPeriodInHours": hours,
            "MagneticStoreRetentionPeriodInDays": days,
        },
    )


def test_database_is_created_once_then_left_alone(run, database_module, timestream_write, name):
    first = run(database_module, {"name": name})
    assert first["changed"] is True
    assert first["database"]["name"] == name
    assert timestream_write.describe_database(DatabaseName=name)["Database"]["DatabaseName"] == name

    second = run(database_module, {"name": name})
    assert second["changed"] is False
    assert second["database"]["table_count"] == 0


def test_table_is_created_with_the_asked_retention(run, table_module, timestream_write, name):
    timestream_write.create_database(DatabaseName=name)
    args = {
        "database": name,
        "name": "pm25",
        "memory_store_retention_hours": 36,
        "magnetic_store_retention_days": 30,
        "magnetic_store_writes": True,
    }
    created = run(table_module, args)
    assert created["changed"] is True
    assert table_settings(timestream_write, name, "pm25") == (36, 30, True)
    assert created["table"]["memory_store_retention_hours"] == 36

    again = run(table_module, args)
    assert again["changed"] is False
    assert table_settings(timestream_write, name, "pm25") == (36, 30, True)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"memory_store_retention_hours": 36}, (36, 73000, False)),
        ({"magnetic_store_retention_days": 30}, (6, 30, False)),
    ],
)
def test_a_new_table_given_one_retention_setting_gets_timestreams_default_for_the_other(
    run, table_module, timestream_write, name, given, expected
):
    """CreateTable takes both retention settings or neither (boto3 refused the request with only one:
    "Missing required parameter"); the other is Timestream's default (6 hours, 73000 days), and check
    mode predicts the same, and a second run changes nothing."""
    timestream_write.create_database(DatabaseName=name)
    args = {"database": name, "name": "pm25", **given}
    predicted = run(table_module, args, check=True, diff=True)
    assert predicted["changed"] is True
    assert predicted["diff"]["after"]["memory_store_retention_hours"] == expected[0]
    assert predicted["diff"]["after"]["magnetic_store_retention_days"] == expected[1]
    created = run(table_module, args)
    assert created["changed"] is True, created
    assert table_settings(timestream_write, name, "pm25") == expected
    assert run(table_module, args)["changed"] is False


def test_retention_update_changes_only_what_was_asked(run, table_module, timestream_write, name):
    make_table(timestream_write, name, "pm25", hours=24, days=7)
    result = run(
        table_module, {"database": name, "name": "pm25", "memory_store_retention_hours": 48}, diff=True
    )
    assert result["changed"] is True
    assert table_settings(timestream_write, name, "pm25") == (48, 7, False)
    assert result["diff"]["before"]["memory_store_retention_hours"] == 24
    assert result["diff"]["after"]["memory_store_retention_hours"] == 48
    assert result["diff"]["after"]["magnetic_store_retention_days"] == 7


def test_magnetic_writes_can_be_switched_on_alone(run, table_module, timestream_write, name):
    make_table(timestream_write, name, "pm25", hours=12, days=3)
    result = run(table_module, {"database": name, "name": "pm25", "magnetic_store_writes": True})
    assert result["changed"] is True
    assert table_settings(timestream_write, name, "pm25") == (12, 3, True)


def test_check_mode_reports_changes_without_making_them(
    run, database_module, table_module, timestream_write, name
):
    predicted = run(database_module, {"name": name}, check=True, diff=True)
    assert predicted["changed"] is True
    assert predicted["diff"] == {
        "before": {"state": "absent"},
        "after": {"state": "present", "name": name, "kms_key_id": "", "tags": {}},
    }
    with pytest.raises(ClientError) as missing:
        timestream_write.describe_database(DatabaseName=name)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"

    make_table(timestream_write, name, "pm25", hours=24, days=7)
    update = run(
        table_module, {"database": name, "name": "pm25", "magnetic_store_retention_days": 90}, check=True
    )
    assert update["changed"] is True
    assert update["table"]["magnetic_store_retention_days"] == 90
    assert table_settings(timestream_write, name, "pm25") == (24, 7, False)

    create = run(
        table_module, {"database": name, "name": "other", "memory_store_retention_hours": 5}, check=True
    )
    assert create["changed"] is True
    tables = timestream_write.list_tables(DatabaseName=name)["Tables"]
    assert [table["TableName"] for table in tables] == ["pm25"]


def test_absent_table_and_database_are_deleted_once(
    run, database_module, table_module, timestream_write, name
):
    make_table(timestream_write, name, "pm25")
    gone = run(table_module, {"database": name, "name": "pm25", "state": "absent"}, diff=True)
    assert gone["changed"] is True
    assert gone["diff"]["after"] == {"state": "absent"}
    assert timestream_write.list_tables(DatabaseName=name)["Tables"] == []
    assert run(table_module, {"database": name, "name": "pm25", "state": "absent"})["changed"] is False

    assert run(database_module, {"name": name, "state": "absent"})["changed"] is True
    assert not database_exists(timestream_write, name)
    assert run(database_module, {"name": name, "state": "absent"})["changed"] is False
    # A table of a database that is gone is absent too.
    assert run(table_module, {"database": name, "name": "pm25", "state": "absent"})["changed"] is False


def test_a_database_with_tables_is_not_deleted(run, database_module, timestream_write, name):
    make_table(timestream_write, name, "pm25")
    result = run(database_module, {"name": name, "state": "absent"})
    assert result["failed"] is True
    assert result["msg"] == (
        f"Cannot delete the Timestream database {name}: it still holds 1 table(s); "
        "delete them first with timestream_table state=absent."
    )
    assert timestream_write.describe_database(DatabaseName=name)["Database"]["TableCount"] == 1


def test_check_mode_predicts_the_delete_of_a_database_whose_tables_an_earlier_task_deletes(
    run, database_module, timestream_write, name
):
    """A check run of a teardown only predicts the tables' deletes, so the database still holds them."""
    make_table(timestream_write, name, "pm25")
    result = run(database_module, {"name": name, "state": "absent"}, check=True)
    assert result["changed"] is True
    assert [warning["event"]["msg"] for warning in result["warnings"]] == [
        f"The Timestream database {name} still holds 1 table(s): a real run deletes it only once they are "
        "gone (timestream_table state=absent first)."
    ]
    assert timestream_write.describe_database(DatabaseName=name)["Database"]["TableCount"] == 1


def test_a_table_in_a_missing_database_is_a_clear_error(run, table_module, name):
    result = run(table_module, {"database": name, "name": "pm25"})
    assert result["failed"] is True
    assert result["msg"] == (
        f"Cannot make the Timestream table {name}.pm25 present: the database {name} does not exist; "
        "create it first with timestream_database."
    )


def test_check_mode_predicts_a_table_in_a_database_that_is_only_predicted(
    run, table_module, timestream_write, name
):
    result = run(
        table_module, {"database": name, "name": "pm25", "memory_store_retention_hours": 24}, check=True
    )
    assert result["changed"] is True
    assert result["table"]["memory_store_retention_hours"] == 24
    assert not database_exists(timestream_write, name)


@pytest.mark.parametrize(
    ("setting", "value", "limits"),
    [
        ("memory_store_retention_hours", 9000, "between 1 and 8766"),
        ("memory_store_retention_hours", 0, "between 1 and 8766"),
        ("magnetic_store_retention_days", 73001, "between 1 and 73000"),
    ],
)
def test_out_of_range_retention_is_refused(run, table_module, timestream_write, name, setting, value, limits):
    result = run(table_module, {"database": name, "name": "pm25", setting: value})
    assert result["failed"] is True
    assert result["msg"] == f"{setting} must be {limits}, not {value}."
    assert not database_exists(timestream_write, name)


def test_access_denied_names_liveanalytics_and_the_local_backend(run, database_module, tmp_path):
    """A store that checks signatures answers AccessDeniedException to other credentials, as AWS
    answers a new account; the message must say why and what to do."""
    strict = start_timestream_local(
        tmp_path / "strict", extra_args=["--access-key", "owner", "--secret-key", "owner-secret-key"]
    )
    try:
        result = run(
            database_module,
            {"name": "iot", "access_key": "intruder", "secret_key": "intruder-secret-key"},
            endpoint=strict.url,
        )
    finally:
        strict.stop()
    assert result["failed"] is True
    assert result["error_code"] == "AccessDeniedException"
    message = result["msg"]
    assert message.startswith(
        f"Cannot make the Timestream database iot present: Timestream at {strict.url} denied "
    )
    assert "stopped accepting new customers on 2025-06-20" in message
    assert "Set timestream_backend: local" in message


def test_an_endpoint_that_does_not_answer_is_named(run, database_module, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    dead = f"http://127.0.0.1:{free_port()}"
    result = run(database_module, {"name": "iot"}, endpoint=dead)
    assert result["failed"] is True
    assert result["error_code"] == "EndpointConnectionError"
    assert result["msg"].startswith(
        f"Cannot make the Timestream database iot present: the Timestream endpoint at {dead}"
    )
    assert result["msg"].endswith("Is timestream_local running there?")


def test_explain_covers_missing_credentials_region_and_other_codes(utils):
    what = "make the Timestream database iot present"
    assert utils.explain(NoCredentialsError(), "CreateDatabase", what) == (
        f"Cannot {what}: no AWS credentials were found; set AWS_PROFILE or "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass access_key and secret_key."
    )
    assert utils.explain(NoRegionError(), "CreateDatabase", what) == (
        f"Cannot {what}: no AWS region is set; pass region or set AWS_DEFAULT_REGION."
    )
    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "CreateDatabase"
    )
    assert utils.explain(throttled, "CreateDatabase", what) == (
        f"Cannot {what}: ThrottlingException from Timestream: slow down"
    )
    denied = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "Only existing customers"}},
        "DescribeEndpoints",
    )
    sentence = utils.explain(denied, "DescribeEndpoints", what)
    assert sentence.startswith(
        f"Cannot {what}: Timestream denied DescribeEndpoints (Only existing customers)."
    )
    assert sentence.endswith("(or use credentials allowed to call DescribeEndpoints).")


@pytest.fixture
def delete_races(monkeypatch, timestream_write):
    """Make every Delete* call of the modules' clients find its resource already deleted: just
    before the call, an independent client deletes it, as when AWS's first attempt went through
    and the SDK's retry gets ResourceNotFoundException."""
    from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

    original = AnsibleAWSModule.client

    def delete_first(params, **_):
        if "TableName" in params:
            timestream_write.delete_table(DatabaseName=params["DatabaseName"], TableName=params["TableName"])
        else:
            timestream_write.delete_database(DatabaseName=params["DatabaseName"])

    def client(self, service, *args, **kwargs):
        made = original(self, service, *args, **kwargs)
        for operation in ("DeleteTable", "DeleteDatabase"):
            made.meta.events.register(f"before-parameter-build.timestream-write.{operation}", delete_first)
        return made

    monkeypatch.setattr(AnsibleAWSModule, "client", client)


def test_a_delete_answered_with_resource_not_found_is_a_success(
    run, database_module, table_module, timestream_write, name, delete_races
):
    make_table(timestream_write, name, "pm25")
    table = run(table_module, {"database": name, "name": "pm25", "state": "absent"})
    assert table.get("failed") is not True, table
    assert table["changed"] is True
    database = run(database_module, {"name": name, "state": "absent"})
    assert database.get("failed") is not True, database
    assert database["changed"] is True
    assert not database_exists(timestream_write, name)
