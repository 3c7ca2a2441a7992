"""Scheduled queries over HTTP with boto3 against a real timestream_local: AWS's sample flow (a source
table of readings, a derived table, an hourly per-station rollup run with ExecuteScheduledQuery), the
derived rows checked against the same rollup computed in plain Python; list/describe/update/delete;
the errors; a failing run recorded with its error report file; and a restart keeping everything.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import time
from collections import defaultdict

import boto3
import pytest
from botocore.config import Config

from tests.services import start_timestream_local
from tests.timestream_local.store_helpers import create_table, query_rows, unique

HOUR_MS = 3_600_000
ROLE = "arn:aws:iam::123456789012:role/ScheduledQueryRole"
TOPIC = "arn:aws:sns:us-east-1:123456789012:scheduled-query-topic"
ARN = re.compile(r"arn:aws:timestream:us-east-1:000000000000:scheduled-query/(?P<name>.+)-[a-z0-9]{12}")
STATIONS = [("Beijing", "Dongcheng"), ("Beijing", "Haidian"), ("Shanghai", "Jingan")]


def _code(error) -> str:
    return error.value.response["Error"]["Code"]


def _message(error) -> str:
    return error.value.response["Error"]["Message"]


def _rollup_query(database: str, table: str) -> str:
    return (
        "SELECT city, location, bin(time, 1h) AS hour, avg(measure_value::double) AS mean_pm25, "
        "min(measure_value::double) AS min_pm25, max(measure_value::double) AS max_pm25, count(*) AS readings "
        f'FROM "{database}"."{table}" '
        "WHERE measure_name = 'pm2.5' AND time BETWEEN @scheduled_runtime - 1h AND @scheduled_runtime "
        "GROUP BY city, location, bin(time, 1h)"
    )


def _target(database: str, table: str) -> dict:
    return {
        "TimestreamConfiguration": {
            "DatabaseName": database,
            "TableName": table,
            "TimeColumn": "hour",
            "DimensionMappings": [
                {"Name": "city", "DimensionValueType": "VARCHAR"},
                {"Name": "location", "DimensionValueType": "VARCHAR"},
            ],
            "MultiMeasureMappings": {
                "TargetMultiMeasureName": "pm25_hourly",
                "MultiMeasureAttributeMappings": [
                    {"SourceColumn": "mean_pm25", "MeasureValueType": "DOUBLE"},
                    {"SourceColumn": "min_pm25", "MeasureValueType": "DOUBLE"},
                    {"SourceColumn": "max_pm25", "MeasureValueType": "DOUBLE"},
                    {"SourceColumn": "readings", "TargetMultiMeasureAttributeName": "count", "MeasureValueType": "BIGINT"},
                ],
            },
        }
    }  # fmt: skip


def _create_args(name: str, query: str, target: dict | None = None, **extra) -> dict:
    args = {
        "Name": name,
        "QueryString": query,
        "ScheduleConfiguration": {"ScheduleExpression": "cron(0 * * * ? *)"},
        "NotificationConfiguration": {"SnsConfiguration": {"TopicArn": TOPIC}},
        "ScheduledQueryExecutionRoleArn": ROLE,
        "ErrorReportConfiguration": {
            "S3Configuration": {"BucketName": "sq-errors", "ObjectKeyPrefix": "reports"}
        },
    }
    if target is not None:
        args["TargetConfiguration"] = target
    return args | extra


def _write_readings(write, database: str, table: str, runtime_ms: int) -> list[tuple[str, str, int, float]]:
    """Readings of three stations over the two hours before ``runtime_ms`` and a little after, including
    one exactly at the runtime and one exactly an hour before it (BETWEEN takes both ends)."""
    rng = random.Random(16)
    readings = []
    for city, location in STATIONS:
        times = {runtime_ms, runtime_ms - HOUR_MS, runtime_ms - HOUR_MS - 1, runtime_ms + 60_000}
        times |= {runtime_ms - rng.randrange(1, 2 * HOUR_MS) for _ in range(40)}
        readings += [(city, location, t, round(rng.uniform(5, 300), 3)) for t in sorted(times)]
    for start in range(0, len(readings), 100):
        records = [
            {
                "Dimensions": [{"Name": "city", "Value": c}, {"Name": "location", "Value": loc}],
                "MeasureName": "pm2.5",
                "MeasureValue": str(v),
                "MeasureValueType": "DOUBLE",
                "Time": str(t),
            }
            for c, loc, t, v in readings[start : start + 100]
        ]
        write.write_records(DatabaseName=database, TableName=table, Records=records)
    return readings


def _expected_rollup(
    readings, runtime_ms: int
) -> dict[tuple[str, str, int], tuple[float, float, float, int]]:
    """The hourly rollup in plain Python: readings with runtime-1h <= time <= runtime, per station and hour."""
    groups: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for city, location, t, value in readings:
        if runtime_ms - HOUR_MS <= t <= runtime_ms:
            groups[(city, location, t - t % HOUR_MS)].append(value)
    return {key: (sum(v) / len(v), min(v), max(v), len(v)) for key, v in groups.items()}


def _derived_rows(
    query, database: str, table: str
) -> dict[tuple[str, str, int], tuple[float, float, float, int]]:
    rows = query_rows(
        query,
        f"SELECT city, location, to_milliseconds(time) AS t, measure_name, mean_pm25, min_pm25, max_pm25, count "
        f'FROM "{database}"."{table}"',
    )
    assert {row["measure_name"] for row in rows} <= {"pm25_hourly"}
    return {
        (r["city"], r["location"], int(r["t"])): (
            float(r["mean_pm25"]), float(r["min_pm25"]), float(r["max_pm25"]), int(r["count"]),
        )
        for r in rows
    }  # fmt: skip


def _same(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for key, (mean, low, high, count) in expected.items():
        assert actual[key][0] == pytest.approx(mean, rel=1e-12), key
        assert actual[key][1:] == (low, high, count), key


def _runtime_ms() -> int:
    """The last full hour (an hourly schedule's invocation time), an hour back so the whole rollup
    window and the readings after it are in the past."""
    now = int(time.time() * 1000)
    return now - now % HOUR_MS - HOUR_MS


@pytest.fixture
def rollup_setup(timestream_write, timestream_query):
    database, source = create_table(timestream_write)
    _, derived = create_table(timestream_write, database=database)
    runtime = _runtime_ms()
    readings = _write_readings(timestream_write, database, source, runtime)
    return database, source, derived, runtime, readings


def test_sample_flow_hourly_rollup_matches_plain_python(rollup_setup, timestream_query):
    database, source, derived, runtime, readings = rollup_setup
    name = unique("rollup")
    arn = timestream_query.create_scheduled_query(
        **_create_args(name, _rollup_query(database, source), _target(database, derived))
    )["Arn"]
    assert ARN.fullmatch(arn).group("name") == name

    timestream_query.execute_scheduled_query(
        ScheduledQueryArn=arn, InvocationTime=dt.datetime.fromtimestamp(runtime / 1000, dt.UTC)
    )

    expected = _expected_rollup(readings, runtime)
    assert len({key[2] for key in expected}) == 2  # the window spans two hourly bins
    _same(_derived_rows(timestream_query, database, derived), expected)
    summary = timestream_query.describe_scheduled_query(ScheduledQueryArn=arn)["ScheduledQuery"][
        "LastRunSummary"
    ]
    assert summary["RunStatus"] == "MANUAL_TRIGGER_SUCCESS"
    assert summary["InvocationTime"] == dt.datetime.fromtimestamp(runtime / 1000, dt.UTC)
    assert abs(summary["TriggerTime"].timestamp() - time.time()) < 300
    stats = summary["ExecutionStats"]
    assert (stats["QueryResultRows"], stats["RecordsIngested"]) == (len(expected), len(expected))
    assert stats["BytesMetered"] >= 10_000_000
    assert stats["DataWrites"] > 0
    assert "ErrorReportLocation" not in summary and "FailureReason" not in summary


def test_a_second_run_for_the_same_time_rewrites_the_same_rows(rollup_setup, timestream_query):
    """A run repeated for the same invocation time upserts the same records: the derived table holds
    each hour once, as with AWS (same dimensions, time and measure name)."""
    database, source, derived, runtime, readings = rollup_setup
    arn = timestream_query.create_scheduled_query(
        **_create_args(unique("rerun"), _rollup_query(database, source), _target(database, derived))
    )["Arn"]
    invocation = dt.datetime.fromtimestamp(runtime / 1000, dt.UTC)
    for _ in range(2):
        timestream_query.execute_scheduled_query(ScheduledQueryArn=arn, InvocationTime=invocation)
    _same(_derived_rows(timestream_query, database, derived), _expected_rollup(readings, runtime))


def test_mixed_measure_mappings_with_a_measure_name_column(timestream_write, timestream_query):
    """MeasureNameColumn picks the mapping per row; each writes a single measure named as mapped."""
    database, source = create_table(timestream_write)
    _, derived = create_table(timestream_write, database=database)
    runtime = _runtime_ms()
    readings = _write_readings(timestream_write, database, source, runtime)
    query = (
        "SELECT location, bin(time, 1h) AS hour, 'peak' AS kind, max(measure_value::double) AS value, "
        "count(*) AS n "
        f'FROM "{database}"."{source}" WHERE time BETWEEN @scheduled_runtime - 1h AND @scheduled_runtime '
        "GROUP BY location, bin(time, 1h)"
    )
    target = {
        "TimestreamConfiguration": {
            "DatabaseName": database, "TableName": derived, "TimeColumn": "hour",
            "DimensionMappings": [{"Name": "location", "DimensionValueType": "VARCHAR"}],
            "MeasureNameColumn": "kind",
            "MixedMeasureMappings": [
                {"MeasureName": "peak", "SourceColumn": "value", "TargetMeasureName": "pm25_peak", "MeasureValueType": "DOUBLE"},
                {"MeasureName": "other", "SourceColumn": "n", "MeasureValueType": "BIGINT"},
            ],
        }
    }  # fmt: skip
    arn = timestream_query.create_scheduled_query(**_create_args(unique("mixed"), query, target))["Arn"]
    timestream_query.execute_scheduled_query(
        ScheduledQueryArn=arn, InvocationTime=dt.datetime.fromtimestamp(runtime / 1000, dt.UTC)
    )
    rows = query_rows(
        timestream_query,
        f'SELECT location, to_milliseconds(time) AS t, measure_name, measure_value::double AS v FROM "{database}"."{derived}"',
    )
    expected = {
        (loc, hour): high
        for (_c, loc, hour), (_m, _lo, high, _n) in _expected_rollup(readings, runtime).items()
    }
    assert {r["measure_name"] for r in rows} == {"pm25_peak"}
    assert {(r["location"], int(r["t"])): float(r["v"]) for r in rows} == expected


def test_list_describe_update_delete(timestream_query):
    query = 'SELECT 1 AS one FROM "x"."y" WHERE time > @scheduled_runtime - 1h'
    names = [unique("life") for _ in range(3)]
    arns = [timestream_query.create_scheduled_query(**_create_args(n, query))["Arn"] for n in names]
    described = timestream_query.describe_scheduled_query(ScheduledQueryArn=arns[0])["ScheduledQuery"]
    now = time.time()
    next_hour = now - now % 3600 + 3600
    assert described["Arn"] == arns[0]
    assert (described["Name"], described["QueryString"], described["State"]) == (names[0], query, "ENABLED")
    assert described["ScheduleConfiguration"] == {"ScheduleExpression": "cron(0 * * * ? *)"}
    assert described["NotificationConfiguration"] == {"SnsConfiguration": {"TopicArn": TOPIC}}
    assert described["ScheduledQueryExecutionRoleArn"] == ROLE
    assert described["ErrorReportConfiguration"]["S3Configuration"] == {
        "BucketName": "sq-errors",
        "ObjectKeyPrefix": "reports",
    }
    assert described["NextInvocationTime"].timestamp() == next_hour
    assert abs(described["CreationTime"].timestamp() - now) < 60
    assert "LastRunSummary" not in described and "PreviousInvocationTime" not in described

    listed, token, pages = {}, None, 0
    while True:
        page = timestream_query.list_scheduled_queries(
            MaxResults=1, **({"NextToken": token} if token else {})
        )
        pages += 1
        assert len(page["ScheduledQueries"]) <= 1
        listed |= {item["Arn"]: item for item in page["ScheduledQueries"]}
        token = page.get("NextToken")
        if not token:
            break
    assert set(arns) <= set(listed) and pages == len(listed)
    assert listed[arns[1]]["Name"] == names[1] and listed[arns[1]]["State"] == "ENABLED"
    assert "TargetDestination" not in listed[arns[1]]

    timestream_query.update_scheduled_query(ScheduledQueryArn=arns[1], State="DISABLED")
    disabled = timestream_query.describe_scheduled_query(ScheduledQueryArn=arns[1])["ScheduledQuery"]
    assert disabled["State"] == "DISABLED" and "NextInvocationTime" not in disabled
    entry = {i["Arn"]: i for i in timestream_query.list_scheduled_queries()["ScheduledQueries"]}[arns[1]]
    assert entry["State"] == "DISABLED"
    timestream_query.update_scheduled_query(ScheduledQueryArn=arns[1], State="ENABLED")
    enabled = timestream_query.describe_scheduled_query(ScheduledQueryArn=arns[1])["ScheduledQuery"]
    assert enabled["State"] == "ENABLED" and enabled["NextInvocationTime"].timestamp() >= next_hour

    timestream_query.delete_scheduled_query(ScheduledQueryArn=arns[2])
    assert arns[2] not in {i["Arn"] for i in timestream_query.list_scheduled_queries()["ScheduledQueries"]}
    for call, extra in (
        (timestream_query.describe_scheduled_query, {}),
        (timestream_query.delete_scheduled_query, {}),
        (timestream_query.update_scheduled_query, {"State": "DISABLED"}),
        (timestream_query.execute_scheduled_query, {"InvocationTime": dt.datetime.now(dt.UTC)}),
    ):
        with pytest.raises(timestream_query.exceptions.ResourceNotFoundException) as error:
            call(ScheduledQueryArn=arns[2], **extra)
        assert _message(error) == f"The scheduled query {arns[2]} does not exist."


def test_duplicate_names_and_client_tokens(timestream_query):
    name = unique("dup")
    query = "SELECT 1 AS one"
    token = "t" * 32
    arn = timestream_query.create_scheduled_query(**_create_args(name, query), ClientToken=token)["Arn"]
    # the same request again with its token: the same scheduled query, not a second one
    again = timestream_query.create_scheduled_query(**_create_args(name, query), ClientToken=token)["Arn"]
    assert again == arn
    assert [i["Arn"] for i in timestream_query.list_scheduled_queries()["ScheduledQueries"]].count(arn) == 1
    with pytest.raises(timestream_query.exceptions.ValidationException) as error:
        timestream_query.create_scheduled_query(**_create_args(name, "SELECT 2 AS two"), ClientToken=token)
    assert "ClientToken" in _message(error)
    with pytest.raises(timestream_query.exceptions.ConflictException) as error:
        timestream_query.create_scheduled_query(**_create_args(name, query))  # boto3 sends a new token
    assert _message(error) == f"A scheduled query with the name {name} already exists."


def _raw_client(timestream_local):
    """A client that sends what it is given (boto3 would refuse most faults itself)."""
    config = Config(parameter_validation=False, retries={"max_attempts": 1})
    return boto3.client(
        "timestream-query", endpoint_url=timestream_local.url, region_name="us-east-1", config=config
    )


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"ScheduledQueryExecutionRoleArn": None}, "Value null at 'ScheduledQueryExecutionRoleArn'"),
        ({"ErrorReportConfiguration": {"S3Configuration": {}}}, "Value null at 'ErrorReportConfiguration.S3Configuration.BucketName'"),
        ({"NotificationConfiguration": {"SnsConfiguration": {}}}, "Value null at 'NotificationConfiguration.SnsConfiguration.TopicArn'"),
        ({"ScheduleConfiguration": {}}, "Value null at 'ScheduleConfiguration.ScheduleExpression'"),
        ({"ScheduleConfiguration": {"ScheduleExpression": "rate(1 hours)"}}, "'rate(1 hours)' is not valid: the unit is singular"),
        ({"ScheduleConfiguration": {"ScheduleExpression": "cron(0 * * * * *)"}}, "exactly one of day-of-month and day-of-week must be '?'"),
        ({"ErrorReportConfiguration": {"S3Configuration": {"BucketName": "Bad_Bucket"}}}, "'ErrorReportConfiguration.S3Configuration.BucketName' failed to satisfy constraint: Member must satisfy regular expression"),
        ({"ScheduledQueryExecutionRoleArn": "not-a-role"}, "'ScheduledQueryExecutionRoleArn' failed to satisfy constraint"),
        ({"QueryString": "SELECT @other_time AS t"}, "QueryString names the parameter '@other_time'"),
        ({"QueryString": "SELECT no_such_function(1) AS x"}, "no_such_function"),
        ({"QueryString": "SELECT FROM WHERE"}, "line 1"),
        ({"Name": "n" * 65}, "'Name' failed to satisfy constraint: Member must have length between 1 and 64 (got 65)"),
        ({"Tags": [{"Key": "aws:team", "Value": "air"}]}, "aws:"),
        ({"ErrorReportConfiguration": {"S3Configuration": {"BucketName": "sq-errors", "ObjectKeyPrefix": "a/../../etc"}}}, "has a '.' or '..' segment"),
    ],
)  # fmt: skip
def test_create_refuses_bad_fields_by_name(timestream_local, timestream_query, change, fragment):
    client = _raw_client(timestream_local)
    args = {
        key: value
        for key, value in (_create_args(unique("bad"), "SELECT 1 AS one") | change).items()
        if value is not None
    }
    with pytest.raises(client.exceptions.ValidationException) as error:
        client.create_scheduled_query(**args)
    assert fragment in _message(error)
    names = {i["Name"] for i in timestream_query.list_scheduled_queries()["ScheduledQueries"]}
    assert args["Name"] not in names


def test_scheduled_queries_are_tagged_like_databases_and_tables(timestream_query, timestream_write):
    """Tags given to CreateScheduledQuery are kept; TagResource/UntagResource/ListTagsForResource work
    on the scheduled query's ARN (through the query endpoint, which AWS gives these actions); deleting
    the scheduled query removes its tags with it."""
    tags = [{"Key": "team", "Value": "air"}, {"Key": "tier", "Value": "rollup"}]
    arn = timestream_query.create_scheduled_query(
        **_create_args(unique("tagged"), "SELECT 1 AS one"), Tags=tags
    )["Arn"]
    assert timestream_query.list_tags_for_resource(ResourceARN=arn)["Tags"] == tags
    timestream_query.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "aq"}])
    timestream_query.untag_resource(ResourceARN=arn, TagKeys=["tier"])
    assert timestream_query.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "team", "Value": "aq"}
    ]
    timestream_query.delete_scheduled_query(ScheduledQueryArn=arn)
    with pytest.raises(timestream_query.exceptions.ResourceNotFoundException):
        timestream_query.list_tags_for_resource(ResourceARN=arn)
    # 51 tags is one more than a resource may have: nothing is created
    name = unique("toomany")
    with pytest.raises(timestream_query.exceptions.ValidationException):
        timestream_query.create_scheduled_query(
            **_create_args(name, "SELECT 1 AS one"), Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)]
        )
    assert name not in {i["Name"] for i in timestream_query.list_scheduled_queries()["ScheduledQueries"]}


def test_name_of_64_characters_is_accepted(timestream_query):
    name = unique("n").ljust(64, "x")
    arn = timestream_query.create_scheduled_query(**_create_args(name, "SELECT 1 AS one"))["Arn"]
    assert ARN.fullmatch(arn).group("name") == name


def test_target_mapping_faults_are_named(timestream_local):
    client = _raw_client(timestream_local)
    target = _target("db_x", "tbl_x")
    config = target["TimestreamConfiguration"]
    del config["MultiMeasureMappings"]["TargetMultiMeasureName"]
    with pytest.raises(client.exceptions.ValidationException) as error:
        client.create_scheduled_query(**_create_args(unique("map"), "SELECT 1 AS one", target))
    assert _message(error) == (
        "TargetConfiguration.TimestreamConfiguration.MultiMeasureMappings.TargetMultiMeasureName is required "
        "when TargetConfiguration.TimestreamConfiguration.MeasureNameColumn is not given."
    )
    config["DimensionMappings"][1]["DimensionValueType"] = "BIGINT"
    config["MultiMeasureMappings"]["TargetMultiMeasureName"] = "m"
    with pytest.raises(client.exceptions.ValidationException) as error:
        client.create_scheduled_query(**_create_args(unique("map"), "SELECT 1 AS one", target))
    assert (
        "'TargetConfiguration.TimestreamConfiguration.DimensionMappings[1].DimensionValueType'"
        in _message(error)
    )


def test_update_and_execute_refuse_bad_values(timestream_local, timestream_query):
    arn = timestream_query.create_scheduled_query(**_create_args(unique("vals"), "SELECT 1 AS one"))["Arn"]
    client = _raw_client(timestream_local)
    with pytest.raises(client.exceptions.ValidationException) as error:
        client.update_scheduled_query(ScheduledQueryArn=arn, State="PAUSED")
    assert "enum value set: [ENABLED, DISABLED]" in _message(error)
    with pytest.raises(client.exceptions.ValidationException) as error:
        client.execute_scheduled_query(ScheduledQueryArn=arn)
    assert "Value null at 'invocationTime'" in _message(error)


def _report(timestream_local, location: dict) -> dict:
    s3 = location["S3ReportLocation"]
    return json.loads(
        (timestream_local.data_dir / "error-reports" / s3["BucketName"] / s3["ObjectKey"]).read_text()
    )


def test_a_failing_run_is_recorded_with_its_error_report(rollup_setup, timestream_local, timestream_query):
    """The result has no column 'hour' (the TimeColumn): the run fails, LastRunSummary and
    RecentlyFailedRuns say so, and the error report is a JSON file where AWS would put the object."""
    database, source, derived, runtime, _readings = rollup_setup
    query = _rollup_query(database, source).replace("AS hour", "AS binned")
    name = unique("fails")
    arn = timestream_query.create_scheduled_query(**_create_args(name, query, _target(database, derived)))[
        "Arn"
    ]
    invocation = dt.datetime.fromtimestamp(runtime / 1000, dt.UTC)
    timestream_query.execute_scheduled_query(ScheduledQueryArn=arn, InvocationTime=invocation)

    described = timestream_query.describe_scheduled_query(ScheduledQueryArn=arn)["ScheduledQuery"]
    summary = described["LastRunSummary"]
    reason = "The query result has no column 'hour', which TargetConfiguration maps as TimeColumn."
    assert (summary["RunStatus"], summary["FailureReason"]) == ("MANUAL_TRIGGER_FAILURE", reason)
    assert described["RecentlyFailedRuns"] == [summary]
    key = summary["ErrorReportLocation"]["S3ReportLocation"]["ObjectKey"]
    resource = arn.rsplit("/", 1)[1]
    stamp = invocation.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert re.fullmatch(rf"reports/{re.escape(resource)}/{re.escape(stamp)}/Manual/\d{{4}}-.*Z", key)
    report = _report(timestream_local, summary["ErrorReportLocation"])
    assert report["errors"] == [{"reason": reason}] and report["reportId"]
    assert query_rows(timestream_query, f'SELECT count(*) AS n FROM "{database}"."{derived}"') == [{"n": "0"}]


def test_recently_failed_runs_keeps_the_last_five(timestream_query):
    """A query on a table that does not exist fails at run time (not at create): five failures are all
    kept, a sixth drops the oldest."""
    arn = timestream_query.create_scheduled_query(
        **_create_args(
            unique("five"), 'SELECT 1 AS one FROM "no_db"."no_table" WHERE time < @scheduled_runtime'
        )
    )["Arn"]
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for hour in range(6):
        timestream_query.execute_scheduled_query(
            ScheduledQueryArn=arn, InvocationTime=base + dt.timedelta(hours=hour)
        )
        failed = timestream_query.describe_scheduled_query(ScheduledQueryArn=arn)["ScheduledQuery"][
            "RecentlyFailedRuns"
        ]
        expected = [base + dt.timedelta(hours=h) for h in range(hour, max(hour - 5, -1), -1)]
        assert [run["InvocationTime"] for run in failed] == expected
    assert failed[0]["FailureReason"].startswith("The database no_db does not exist")
    assert {run["RunStatus"] for run in failed} == {"MANUAL_TRIGGER_FAILURE"}


def test_schedules_and_their_history_survive_a_restart(tmp_path):
    service = start_timestream_local(tmp_path / "data")
    try:
        write = boto3.client("timestream-write", endpoint_url=service.url, region_name="us-east-1")
        query = boto3.client("timestream-query", endpoint_url=service.url, region_name="us-east-1")
        database, source = create_table(write)
        _, derived = create_table(write, database=database)
        runtime = _runtime_ms()
        readings = _write_readings(write, database, source, runtime)
        arn = query.create_scheduled_query(
            **_create_args("kept", _rollup_query(database, source), _target(database, derived))
        )["Arn"]
        disabled = query.create_scheduled_query(**_create_args("off", "SELECT 1 AS one"))["Arn"]
        query.update_scheduled_query(ScheduledQueryArn=disabled, State="DISABLED")
        query.execute_scheduled_query(
            ScheduledQueryArn=arn, InvocationTime=dt.datetime.fromtimestamp(runtime / 1000, dt.UTC)
        )
        before = {
            a: query.describe_scheduled_query(ScheduledQueryArn=a)["ScheduledQuery"] for a in (arn, disabled)
        }
        service.stop()
        service = start_timestream_local(tmp_path / "data")
        query = boto3.client("timestream-query", endpoint_url=service.url, region_name="us-east-1")
        after = {
            a: query.describe_scheduled_query(ScheduledQueryArn=a)["ScheduledQuery"] for a in (arn, disabled)
        }
        assert after == before
        assert after[arn]["LastRunSummary"]["RunStatus"] == "MANUAL_TRIGGER_SUCCESS"
        assert after[disabled]["State"] == "DISABLED"
        _same(_derived_rows(query, database, derived), _expected_rollup(readings, runtime))
        with pytest.raises(query.exceptions.ConflictException):
            query.create_scheduled_query(**_create_args("kept", "SELECT 1 AS one"))
        assert (
            service.log().count(
                "SNS notifications are kept in their NotificationConfiguration but not delivered"
            )
            == 1
        )
    finally:
        service.stop()
