"""plugins/modules/timestream_scheduled_query.py against the real local store, and the hourly rollup it
creates for the role, end to end: readings -> ExecuteScheduledQuery -> rollup table -> the
"PM2.5 Air Quality" queries, compared with plain-Python answers from the same readings.

Every effect is checked independently through boto3's timestream-query client.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from botocore.exceptions import ClientError

from dashboards.timestream_rows import run_query
from tests.air_quality import HOUR_MS, category, city_means, hourly_rollup, iaqi
from tests.deploy.test_timestream_modules import PLUGINS, _load
from tests.foundation.test_air_quality_queries import (
    RETENTION,
    current_hour_ms,
    dashboard_queries,
    epoch_ms,
    readings_for,
    rollup_query,
    write_readings,
)
from tests.services import ROOT
from tests.timestream_local.store_helpers import unique

ROLE_VARS = yaml.safe_load((ROOT / "roles" / "pipeline_resources" / "vars" / "main.yml").read_text())
ROLE = "arn:aws:iam::000000000000:role/pm25-rollup-local"
TOPIC = "arn:aws:sns:us-east-1:000000000000:pm25-rollup-local"


@pytest.fixture(scope="module")
def module(timestream_local):
    _load("ansible.module_utils.pm25_timestream", PLUGINS / "module_utils" / "pm25_timestream.py")
    return _load("pm25_timestream_scheduled_query", PLUGINS / "modules" / "timestream_scheduled_query.py")


@pytest.fixture
def queries(timestream_query):
    """The store's timestream-query client (the checks' independent view of the scheduled queries)."""
    return timestream_query


@pytest.fixture
def run(capsys, timestream_local, module):
    def _run(args: dict, check: bool = False, diff: bool = False) -> dict:
        arguments = {
            "region": "us-east-1",
            "endpoint_url": timestream_local.url,
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
def tables(timestream_write) -> tuple[str, str, str]:
    """A database with a readings table and an (empty) rollup table."""
    database = unique("sq")
    timestream_write.create_database(DatabaseName=database)
    for table in ("pm25", "pm25_hourly"):
        timestream_write.create_table(
            DatabaseName=database,
            TableName=table,
            RetentionProperties=RETENTION,
            MagneticStoreWriteProperties={"EnableMagneticStoreWrites": True},
        )
    return database, "pm25", "pm25_hourly"


def rollup_args(tables: tuple[str, str, str], **changes) -> dict:
    """The module's arguments as roles/pipeline_resources/tasks/rollup.yml passes them."""
    database, source, rollup = tables
    target = json.loads(json.dumps(ROLE_VARS["__pipeline_resources_rollup_target"]))
    target.update(database=database, table=rollup)
    return {
        "name": unique("rollup"),
        "state": "enabled",
        "query_string": rollup_query(database, source),
        "schedule_expression": "cron(5 * * * ? *)",
        "execution_role_arn": ROLE,
        "sns_topic_arn": TOPIC,
        "error_report_bucket": "pm25-rollup-errors",
        "error_report_prefix": "pm25-hourly-rollup/",
        "target": target,
        **changes,
    }


def entries(client) -> list[dict]:
    """Every scheduled query of the store, all pages (the session's store holds other tests' too)."""
    return [
        e
        for page in client.get_paginator("list_scheduled_queries").paginate()
        for e in page["ScheduledQueries"]
    ]


def names(client) -> list[str]:
    return [entry["Name"] for entry in entries(client)]


def find(client, name: str) -> dict | None:
    for entry in entries(client):
        if entry["Name"] == name:
            return client.describe_scheduled_query(ScheduledQueryArn=entry["Arn"])["ScheduledQuery"]
    return None


def test_created_once_with_the_whole_definition_then_left_alone(run, queries, tables):
    args = rollup_args(tables)
    created = run(args)
    assert created["changed"] is True and created["recreated"] is False
    described = find(queries, args["name"])
    assert described["Arn"] == created["scheduled_query"]["arn"]
    assert described["State"] == "ENABLED"
    assert described["QueryString"] == args["query_string"]
    assert described["ScheduleConfiguration"]["ScheduleExpression"] == "cron(5 * * * ? *)"
    assert described["ScheduledQueryExecutionRoleArn"] == ROLE
    assert described["NotificationConfiguration"]["SnsConfiguration"]["TopicArn"] == TOPIC
    target = described["TargetConfiguration"]["TimestreamConfiguration"]
    assert (target["DatabaseName"], target["TableName"], target["TimeColumn"]) == (
        tables[0],
        tables[2],
        "hour",
    )
    assert [m["Name"] for m in target["DimensionMappings"]] == ["city", "location"]
    multi = target["MultiMeasureMappings"]
    assert multi["TargetMultiMeasureName"] == "pm25_hourly"
    assert [(m["SourceColumn"], m["MeasureValueType"]) for m in multi["MultiMeasureAttributeMappings"]] == [
        ("avg_pm25", "DOUBLE"),
        ("min_pm25", "BIGINT"),
        ("max_pm25", "BIGINT"),
        ("readings", "BIGINT"),
    ]

    again = run(args)
    assert again["changed"] is False
    assert again["scheduled_query"]["arn"] == described["Arn"]
    assert names(queries).count(args["name"]) == 1


def test_check_mode_predicts_without_touching_the_store(run, queries, tables):
    args = rollup_args(tables)
    predicted = run(args, check=True, diff=True)
    assert predicted["changed"] is True
    assert predicted["diff"]["before"] == {"state": "absent"}
    assert predicted["diff"]["after"]["state"] == "ENABLED"
    assert find(queries, args["name"]) is None

    run(args)
    arn = find(queries, args["name"])["Arn"]
    changed = rollup_args(tables, name=args["name"], schedule_expression="rate(30 minutes)")
    predicted = run(changed, check=True)
    assert (predicted["changed"], predicted["recreated"]) == (True, True)
    described = find(queries, args["name"])
    assert described["Arn"] == arn
    assert described["ScheduleConfiguration"]["ScheduleExpression"] == "cron(5 * * * ? *)"
    assert run({**args, "state": "disabled"}, check=True)["changed"] is True
    assert find(queries, args["name"])["State"] == "ENABLED"
    assert run(args, check=True)["changed"] is False


def test_disabling_updates_in_place_and_present_keeps_the_state(run, queries, tables):
    args = rollup_args(tables)
    arn = run(args)["scheduled_query"]["arn"]
    disabled = run({**args, "state": "disabled"})
    assert (disabled["changed"], disabled["recreated"]) == (True, False)
    described = find(queries, args["name"])
    assert (described["Arn"], described["State"]) == (arn, "DISABLED")
    assert run({**args, "state": "disabled"})["changed"] is False
    assert run({**args, "state": "present"})["changed"] is False
    assert find(queries, args["name"])["State"] == "DISABLED"


def test_a_changed_definition_recreates_it_under_the_same_name(run, queries, tables):
    args = rollup_args(tables)
    first = run({**args, "state": "disabled"})["scheduled_query"]["arn"]
    query = args["query_string"].replace("COUNT(*) AS readings", "COUNT(measure_value::bigint) AS readings")
    changed = run({**args, "state": "present", "query_string": query}, diff=True)
    assert (changed["changed"], changed["recreated"]) == (True, True)
    assert changed["diff"]["before"]["QueryString"] == args["query_string"]
    assert changed["diff"]["after"]["QueryString"] == query
    described = find(queries, args["name"])
    assert described["Arn"] != first
    assert described["QueryString"] == query
    assert described["State"] == "DISABLED"  # present keeps the state it had
    with pytest.raises(ClientError) as gone:
        queries.describe_scheduled_query(ScheduledQueryArn=first)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert run({**args, "state": "present", "query_string": query})["changed"] is False


def test_absent_deletes_it_once(run, queries, tables):
    args = rollup_args(tables)
    run(args)
    assert run({"name": args["name"], "state": "absent"}, check=True)["changed"] is True
    assert find(queries, args["name"]) is not None
    deleted = run({"name": args["name"], "state": "absent"})
    assert deleted["changed"] is True and deleted["scheduled_query"] == {}
    assert find(queries, args["name"]) is None
    assert run({"name": args["name"], "state": "absent"})["changed"] is False


def test_an_incomplete_definition_is_refused_in_one_sentence(run, tables):
    args = rollup_args(tables)
    del args["sns_topic_arn"], args["target"]
    failed = run(args)
    assert failed["failed"] is True
    assert failed["msg"] == (
        "state=enabled needs sns_topic_arn, target: a scheduled query cannot be created (or compared) "
        "without its whole definition."
    )


def test_the_rollup_fills_the_table_the_dashboard_reads(
    run, queries, tables, timestream_write, timestream_query
):
    """The role's scheduled query, run for past hours as `make demo` does, then the dashboard's queries."""
    database, source, rollup = tables
    now_hour = current_hour_ms()
    hours = [now_hour - back * HOUR_MS for back in range(5, 0, -1)]
    stations = [("Beijing", "dongsi"), ("Beijing", "tiantan"), ("Lasa", "dongcheng"), ("Sanya", "hedong")]
    readings = readings_for(stations, hours, 6, seed=633)
    readings = [r for r in readings if random.Random(r.time_ms).random() < 0.8]  # uneven counts per hour
    write_readings(timestream_write, database, source, readings)
    arn = run(rollup_args(tables))["scheduled_query"]["arn"]

    for hour in hours:  # each run at minute 5 of the next hour rolls up the hour before it
        invocation = datetime.fromtimestamp((hour + HOUR_MS + 300_000) / 1000, UTC)
        queries.execute_scheduled_query(ScheduledQueryArn=arn, InvocationTime=invocation)

    rows = run_query(
        timestream_query,
        f'SELECT city, location, time, avg_pm25, min_pm25, max_pm25, readings FROM "{database}"."{rollup}" '
        "WHERE measure_name = 'pm25_hourly'",
    )
    got = {(r[0], r[1], epoch_ms(r[2])): r[3:] for r in rows.rows}
    expected = hourly_rollup(readings)
    assert set(got) == set(expected)
    for key, hour in expected.items():
        assert got[key][0] == pytest.approx(float(hour.mean), abs=1e-9)
        assert got[key][1:] == [hour.minimum, hour.maximum, hour.count]

    table_sql, _, _ = dashboard_queries(database, rollup)
    shown = {row[0]: row[1:] for row in run_query(timestream_query, table_sql).rows}
    means = city_means(readings, now_hour - 24 * HOUR_MS)
    assert set(shown) == set(means) == {"Beijing", "Lasa", "Sanya"}
    for city, mean in means.items():
        assert shown[city][0] == pytest.approx(float(round(mean, 1)), abs=0.051)
        assert shown[city][1:] == [iaqi(mean), category(iaqi(mean))]

    described = queries.describe_scheduled_query(ScheduledQueryArn=arn)["ScheduledQuery"]
    assert described["LastRunSummary"]["RunStatus"] == "MANUAL_TRIGGER_SUCCESS"
