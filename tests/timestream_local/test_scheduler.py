"""The scheduler of scheduled queries with an injected clock (no timed tests): schedule expressions as
EventBridge defines them, the run owed after a restart (once, for the latest missed invocation
time), and the scheduler thread running it when it starts. A real Store on a temporary data
directory, driven through the router as the HTTP front drives it.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import msgspec
import pytest

from timestream_local import urls
from timestream_local.api.query import QueryApi
from timestream_local.api.scheduled_runs import Runner, Scheduler
from timestream_local.domain.schedules import parse_schedule
from timestream_local.exceptions import ValidationException
from timestream_local.store import Store

UTC = dt.UTC
HOUR = 3600


def _at(*parts: int) -> float:
    return dt.datetime(*parts, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # 2026-12-04 is a Friday
        ("cron(0 * * * ? *)", _at(2026, 12, 4, 14, 30), _at(2026, 12, 4, 15)),
        ("cron(0 * * * ? *)", _at(2026, 12, 4, 15), _at(2026, 12, 4, 16)),  # strictly after
        ("cron(0/15 * * * ? *)", _at(2026, 12, 4, 14, 30), _at(2026, 12, 4, 14, 45)),
        ("cron(15 10 ? * MON-FRI *)", _at(2026, 12, 4, 11), _at(2026, 12, 7, 10, 15)),
        ("cron(0 12 L * ? *)", _at(2026, 2, 1), _at(2026, 2, 28, 12)),
        ("cron(0 0 LW * ? *)", _at(2026, 1, 1), _at(2026, 1, 30)),  # 31 January 2026 is a Saturday
        ("cron(0 0 1W * ? *)", _at(2026, 7, 15), _at(2026, 8, 3)),  # 1 August 2026 is a Saturday
        ("cron(0 0 ? * 6L *)", _at(2026, 12, 1), _at(2026, 12, 25)),  # the last Friday
        ("cron(0 0 ? * MON#1 *)", _at(2026, 12, 1), _at(2026, 12, 7)),
        ("cron(0 0 29 FEB ? *)", _at(2026, 3, 1), _at(2028, 2, 29)),
        ("cron(0 0 1 JAN ? 2020)", _at(2026, 1, 1), None),
        ("rate(1 hour)", _at(2026, 12, 4, 14, 30), _at(2026, 12, 4, 15, 10)),  # anchor 10:10
        ("rate(5 minutes)", _at(2026, 12, 4, 10, 11), _at(2026, 12, 4, 10, 15)),
        ("rate(2 days)", _at(2026, 12, 5), _at(2026, 12, 6, 10, 10)),
    ],
)
def test_next_invocation_times(expression, after, expected):
    anchor = _at(2026, 12, 4, 10, 10, 30)  # creation time: rates count from its minute
    assert parse_schedule(expression).next_after(after, anchor) == expected


@pytest.mark.parametrize(
    "expression",
    ["rate(1 hours)", "rate(2 hour)", "rate(0 minutes)", "rate(1 week)", "cron(0 * * * * *)", "cron(0 * * * ? ? *)",
     "cron(60 * * * ? *)", "cron(0 24 * * ? *)", "cron(0 0 32 * ? *)", "cron(0 0 ? * 8 *)", "cron(0 0 1 13 ? *)",
     "cron(0 0 1 * ? 2200)", "cron(0 0 ? * FOO#2 *)", "cron(5-1 * * * ? *)", "hourly"],
)  # fmt: skip
def test_invalid_expressions_are_refused_naming_the_field(expression):
    with pytest.raises(ValidationException) as error:
        parse_schedule(expression)
    assert error.value.message.startswith(
        f"ScheduleConfiguration.ScheduleExpression '{expression}' is not valid: "
    )


def test_limits_at_and_past_the_edge():
    assert parse_schedule("cron(59 23 31 12 ? 2199)").next_after(_at(2199, 12, 31, 23, 58)) == _at(
        2199, 12, 31, 23, 59
    )
    assert parse_schedule("cron(0 0 1 1 ? 1970)").next_after(0.0 - 60) == 0.0


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _call(router, action: str, **params):
    return router.call(action, json.dumps(params).encode())


def _setup(router, now_ms: int) -> tuple[str, list[tuple[str, int, float]]]:
    """A source and a derived table, readings over the last six hours, and an hourly rollup scheduled
    query (its ARN, and the readings)."""
    _call(router, "CreateDatabase", DatabaseName="air")
    for table in ("raw", "hourly"):
        _call(router, "CreateTable", DatabaseName="air", TableName=table)
    readings = [(station, now_ms - minutes * 60_000, float(minutes % 37) + 0.5)
                for station in ("north", "south") for minutes in range(0, 360, 7)]  # fmt: skip
    records = [
        {"Dimensions": [{"Name": "station", "Value": s}], "MeasureName": "pm2.5", "MeasureValue": str(v),
         "MeasureValueType": "DOUBLE", "Time": str(t)}
        for s, t, v in readings
    ]  # fmt: skip
    for start in range(0, len(records), 100):
        _call(
            router, "WriteRecords", DatabaseName="air", TableName="raw", Records=records[start : start + 100]
        )
    arn = _call(
        router,
        "CreateScheduledQuery",
        Name="hourly-rollup",
        QueryString="SELECT station, bin(time, 1h) AS hour, avg(measure_value::double) AS mean, count(*) AS n "
        'FROM "air"."raw" WHERE time >= @scheduled_runtime - 1h AND time < @scheduled_runtime GROUP BY station, bin(time, 1h)',
        ScheduleConfiguration={"ScheduleExpression": "cron(0 * * * ? *)"},
        NotificationConfiguration={"SnsConfiguration": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"}},
        ScheduledQueryExecutionRoleArn="arn:aws:iam::123456789012:role/r",
        ErrorReportConfiguration={"S3Configuration": {"BucketName": "errors"}},
        TargetConfiguration={"TimestreamConfiguration": {
            "DatabaseName": "air", "TableName": "hourly", "TimeColumn": "hour",
            "DimensionMappings": [{"Name": "station", "DimensionValueType": "VARCHAR"}],
            "MultiMeasureMappings": {"TargetMultiMeasureName": "rollup", "MultiMeasureAttributeMappings": [
                {"SourceColumn": "mean", "MeasureValueType": "DOUBLE"},
                {"SourceColumn": "n", "MeasureValueType": "BIGINT"}]}}},
    )["Arn"]  # fmt: skip
    return arn, readings


def _derived(router) -> dict[tuple[str, int], tuple[float, int]]:
    body = _call(
        router, "Query", QueryString='SELECT station, to_milliseconds(time) AS t, mean, n FROM "air"."hourly"'
    )
    return {
        (row["Data"][0]["ScalarValue"], int(row["Data"][1]["ScalarValue"])): (
            float(row["Data"][2]["ScalarValue"]), int(row["Data"][3]["ScalarValue"]),
        )
        for row in map(msgspec.json.decode, body["Rows"])
    }  # fmt: skip


def _expected(readings, runtime_ms: int) -> dict[tuple[str, int], tuple[float, int]]:
    groups: dict[tuple[str, int], list[float]] = {}
    for station, t, value in readings:
        if runtime_ms - 3_600_000 <= t < runtime_ms:
            groups.setdefault((station, runtime_ms - 3_600_000), []).append(value)
    return {key: (sum(values) / len(values), len(values)) for key, values in groups.items()}


def _open(data_dir, clock):
    store = Store(data_dir, scheduled_clock=clock)
    router = urls.for_store(store, "test", run_schedules=False)
    return store, router


def _close(store, router) -> None:
    router.close()
    store.close()


def test_a_run_missed_while_down_is_run_once_at_start_for_the_latest_time(tmp_path):
    real_now = time.time()
    clock = _Clock(real_now - 5 * HOUR)
    store, router = _open(tmp_path / "data", clock)
    try:
        arn, readings = _setup(router, int(real_now * 1000))
        described = _call(router, "DescribeScheduledQuery", ScheduledQueryArn=arn)["ScheduledQuery"]
        first = clock.now - clock.now % HOUR + HOUR
        assert described["NextInvocationTime"] == first
    finally:
        _close(store, router)

    clock.now = real_now  # five hourly runs were missed while the store was closed
    store, router = _open(tmp_path / "data", clock)
    try:
        scheduler = Scheduler(
            store.scheduled, Runner(store.scheduled, QueryApi(store.reader), store.writer, clock), clock
        )
        assert scheduler.run_due() == 1
        latest = real_now - real_now % HOUR
        described = _call(router, "DescribeScheduledQuery", ScheduledQueryArn=arn)["ScheduledQuery"]
        summary = described["LastRunSummary"]
        assert (summary["RunStatus"], summary["InvocationTime"], summary["TriggerTime"]) == (
            "AUTO_TRIGGER_SUCCESS", latest, real_now,
        )  # fmt: skip
        assert (described["PreviousInvocationTime"], described["NextInvocationTime"]) == (
            latest,
            latest + HOUR,
        )
        expected = _expected(readings, int(latest * 1000))
        assert len(expected) == 2
        derived = _derived(router)
        assert derived.keys() == expected.keys()
        for key, (mean, count) in expected.items():
            assert derived[key][0] == pytest.approx(mean, rel=1e-12) and derived[key][1] == count
        assert scheduler.run_due() == 0  # nothing more is owed until the next hour
        clock.now = latest + HOUR
        assert scheduler.run_due() == 1
        described = _call(router, "DescribeScheduledQuery", ScheduledQueryArn=arn)["ScheduledQuery"]
        assert described["LastRunSummary"]["InvocationTime"] == latest + HOUR
        assert described["NextInvocationTime"] == latest + 2 * HOUR
        _call(router, "UpdateScheduledQuery", ScheduledQueryArn=arn, State="DISABLED")
        clock.now = latest + 5 * HOUR
        assert scheduler.run_due() == 0  # a disabled schedule is owed nothing
    finally:
        _close(store, router)


def test_the_scheduler_thread_runs_what_is_due_when_it_starts(tmp_path):
    real_now = time.time()
    clock = _Clock(real_now - 2 * HOUR)
    store, router = _open(tmp_path / "data", clock)
    try:
        arn, _readings = _setup(router, int(real_now * 1000))
    finally:
        _close(store, router)
    clock.now = real_now
    store = Store(tmp_path / "data", scheduled_clock=clock)
    router = urls.for_store(store, "test")  # its scheduler thread starts with it
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            described = _call(router, "DescribeScheduledQuery", ScheduledQueryArn=arn)["ScheduledQuery"]
            if "LastRunSummary" in described:
                break
            time.sleep(0.05)
        assert described["LastRunSummary"]["RunStatus"] == "AUTO_TRIGGER_SUCCESS"
        assert described["LastRunSummary"]["InvocationTime"] == real_now - real_now % HOUR
    finally:
        _close(store, router)
