"""Batch load over HTTP with boto3 against a real timestream_local whose S3 is moto's server: AWS's
sample flow (a CSV uploaded to S3, a task with a multi-measure data model, DescribeBatchLoadTask polled
until SUCCEEDED, the rows queried and compared with the CSV read in plain Python); bad rows counted and
reported in the error report object; refusals naming the field; list paging and the status filter;
AWS's 100-file quota; a mixed-measure model with a CsvConfiguration and RecordVersion; and a task cut
off by a killed or stopped server, PROGRESS_STOPPED after the restart and resumed to the exact rows.
"""

from __future__ import annotations

import csv
import io
import json
import random
import time

import boto3
import pytest
from botocore.config import Config

from tests.conftest import s3_client
from tests.services import start_timestream_local
from tests.timestream_local.store_helpers import create_table, query_rows, unique

STATIONS = [("Beijing", "Dongcheng"), ("Beijing", "Haidian"), ("Shanghai", "Jingan")]
NO_RETRY = Config(retries={"max_attempts": 1}, parameter_validation=False)


def _clients(service):
    def make(name):
        return boto3.client(name, endpoint_url=service.url, region_name="us-east-1", config=NO_RETRY)

    return make("timestream-write"), make("timestream-query")


@pytest.fixture(scope="module")
def loaded(moto_server, tmp_path_factory):
    """Write and query clients of a timestream_local whose S3 is moto's server, and an S3 client on moto."""
    service = start_timestream_local(
        tmp_path_factory.mktemp("batch-load") / "data", extra_args=["--s3-endpoint-url", moto_server.url]
    )
    write, query = _clients(service)
    yield write, query, s3_client(moto_server)
    service.stop()


def _bucket(s3, prefix: str) -> str:
    name = unique(prefix).replace("_", "-")
    s3.create_bucket(Bucket=name)
    return name


def _readings(count: int, seed: int = 16, step_ms: int = 1000) -> list[dict]:
    """Readings of three stations from two hours ago on, one per station and time, ``step_ms`` apart."""
    rng = random.Random(seed)
    start = time.time_ns() // 1_000_000 - 2 * 3_600_000
    rows = []
    for n in range(count):
        city, location = STATIONS[n % len(STATIONS)]
        rows.append({"time": start + n * step_ms, "measure_name": "air", "city": city, "location": location,
                     "pm25": round(rng.uniform(1, 400), 2), "pm10": rng.randrange(0, 600)})  # fmt: skip
    return rows


def _csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


MODEL = {
    "TimeColumn": "time",
    "TimeUnit": "MILLISECONDS",
    "DimensionMappings": [
        {"SourceColumn": "city", "DestinationColumn": "city"},
        {"SourceColumn": "location", "DestinationColumn": "location"},
    ],
    "MeasureNameColumn": "measure_name",
    "MultiMeasureMappings": {
        "MultiMeasureAttributeMappings": [
            {"SourceColumn": "pm25", "TargetMultiMeasureAttributeName": "pm25", "MeasureValueType": "DOUBLE"},
            {"SourceColumn": "pm10", "TargetMultiMeasureAttributeName": "pm10", "MeasureValueType": "BIGINT"},
        ]
    },
}


def _task_args(database, table, bucket, prefix, report_bucket, model=None, **extra) -> dict:
    return {
        "TargetDatabaseName": database,
        "TargetTableName": table,
        "DataModelConfiguration": {"DataModel": model or MODEL},
        "DataSourceConfiguration": {
            "DataSourceS3Configuration": {"BucketName": bucket, "ObjectKeyPrefix": prefix},
            "DataFormat": "CSV",
        },
        "ReportConfiguration": {
            "ReportS3Configuration": {"BucketName": report_bucket, "ObjectKeyPrefix": "reports", "EncryptionOption": "SSE_S3"}
        },
        **extra,
    }  # fmt: skip


def _wait(write, task_id: str, until=("SUCCEEDED", "FAILED"), timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = write.describe_batch_load_task(TaskId=task_id)["BatchLoadTaskDescription"]
        if described["TaskStatus"] in until:
            return described
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} is still {described['TaskStatus']}: {described}")


def _table(write) -> tuple[str, str]:
    return create_table(write, RetentionProperties={"MemoryStoreRetentionPeriodInHours": 24,
                                                    "MagneticStoreRetentionPeriodInDays": 7})  # fmt: skip


def _loaded_rows(query, database, table) -> list[tuple]:
    rows = query_rows(
        query,
        f'SELECT to_milliseconds(time) AS t, measure_name, city, location, pm25, pm10 FROM "{database}"."{table}"',
    )
    return sorted((int(r["t"]), r["measure_name"], r["city"], r["location"], float(r["pm25"]), int(r["pm10"]))
                  for r in rows)  # fmt: skip


def test_the_sample_flow_loads_every_row_of_the_csv(loaded):
    write, query, s3 = loaded
    database, table = _table(write)
    bucket, reports = _bucket(s3, "source"), _bucket(s3, "reports")
    readings = _readings(450)
    s3.put_object(Bucket=bucket, Key="input/readings.csv", Body=_csv(readings))

    task_id = write.create_batch_load_task(**_task_args(database, table, bucket, "input/", reports))["TaskId"]
    assert 3 <= len(task_id) <= 32 and task_id.isalnum() and task_id.isupper()
    described = _wait(write, task_id)

    assert described["TaskStatus"] == "SUCCEEDED", described
    assert described["ProgressReport"] == {
        "RecordsProcessed": 450, "RecordsIngested": 450, "ParseFailures": 0, "RecordIngestionFailures": 0,
        "FileFailures": 0, "BytesMetered": len(_csv(readings)),
    }  # fmt: skip
    assert described["TargetDatabaseName"] == database and described["TargetTableName"] == table
    assert described["DataModelConfiguration"] == {"DataModel": MODEL}
    assert "ErrorMessage" not in described
    expected = sorted((r["time"], "air", r["city"], r["location"], r["pm25"], r["pm10"]) for r in readings)
    assert _loaded_rows(query, database, table) == expected
    # the per-station means, from the CSV in plain Python and from the table
    means = query_rows(
        query, f'SELECT location, avg(pm25) AS m FROM "{database}"."{table}" GROUP BY location'
    )
    for location in {loc for _, loc in STATIONS}:
        values = [r["pm25"] for r in readings if r["location"] == location]
        got = next(float(r["m"]) for r in means if r["location"] == location)
        assert got == pytest.approx(sum(values) / len(values), rel=1e-12)
    assert "reports" not in str(
        s3.list_objects_v2(Bucket=reports).get("Contents", [])
    )  # no errors, no report


def test_bad_rows_are_counted_and_reported_with_their_lines(loaded):
    write, query, s3 = loaded
    database, table = _table(write)
    bucket, reports = _bucket(s3, "source"), _bucket(s3, "reports")
    good = _readings(5, seed=3)
    lines = [
        "time,measure_name,city,location,pm25,pm10",
        *(
            f"{r['time']},air,{r['city']},{r['location']},{r['pm25']},{r['pm10']}" for r in good[:2]
        ),  # lines 2-3
        "yesterday,air,Beijing,Haidian,1.5,2",  # 4: time is not an integer
        f"{good[2]['time']},air,Beijing,Haidian,1.5",  # 5: a field short
        f"{good[2]['time']},air,Beijing,Haidian,not-a-number,3",  # 6: rejected by WriteRecords' rules
        "1000,air,Beijing,Haidian,2.5,3",  # 7: 1970, outside the table's ingestion window
        *(f"{r['time']},air,{r['city']},{r['location']},{r['pm25']},{r['pm10']}" for r in good[2:]),  # 8-10
    ]
    s3.put_object(Bucket=bucket, Key="in/a.csv", Body=("\n".join(lines) + "\n").encode())
    s3.put_object(
        Bucket=bucket, Key="in/b.csv", Body=b"time,city,location,pm25,pm10\n1,Beijing,Haidian,1,1\n"
    )

    task_id = write.create_batch_load_task(**_task_args(database, table, bucket, "in/", reports))["TaskId"]
    described = _wait(write, task_id)

    assert described["TaskStatus"] == "FAILED"
    progress = described["ProgressReport"]
    assert {k: progress[k] for k in progress if k != "BytesMetered"} == {
        "RecordsProcessed": 9, "RecordsIngested": 5, "ParseFailures": 2, "RecordIngestionFailures": 2,
        "FileFailures": 1,
    }  # fmt: skip
    assert _loaded_rows(query, database, table) == sorted(
        (r["time"], "air", r["city"], r["location"], r["pm25"], r["pm10"]) for r in good
    )
    report = json.loads(
        s3.get_object(Bucket=reports, Key=f"reports/{task_id}/error-report.json")["Body"].read()
    )
    assert report["taskId"] == task_id and report["taskErrors"] == []
    by_file = {entry["fileName"]: entry["errors"] for entry in report["fileErrors"]}
    assert by_file["in/b.csv"] == [
        {"reason": "The header has no column measure_name, which the data model maps.", "lineRanges": []}
    ]
    lines_by_reason = {error["reason"]: error["lineRanges"] for error in by_file["in/a.csv"]}
    assert lines_by_reason["The time column 'time' holds 'yesterday', not an integer of MILLISECONDS."] == [
        [4, 4]
    ]
    assert lines_by_reason["The row has 5 fields; the header has 6."] == [[5, 5]]
    # each rejected record, with the reason WriteRecords gives it
    assert lines_by_reason["MeasureValue 'pm25' 'not-a-number' is not a valid DOUBLE."] == [[6, 6]]
    (window,) = [
        reason for reason in lines_by_reason if reason.startswith("The record timestamp 1970-01-01 ")
    ]
    assert lines_by_reason[window] == [[7, 7]] and "magnetic store writes are not enabled" in window
    assert len(lines_by_reason) == 4


@pytest.mark.parametrize(
    ("change", "code", "names"),
    [
        (lambda a, missing: a["DataSourceConfiguration"]["DataSourceS3Configuration"].update(BucketName=missing),
         "ValidationException", "DataSourceConfiguration.DataSourceS3Configuration.BucketName: S3"),
        (lambda a, missing: a["ReportConfiguration"]["ReportS3Configuration"].update(BucketName=missing),
         "ValidationException", "ReportConfiguration.ReportS3Configuration.BucketName: S3"),
        (lambda a, missing: a.update(TargetTableName="no_such_table"),
         "ResourceNotFoundException", "TargetTableName: the table no_such_table does not exist"),
        (lambda a, missing: a["DataModelConfiguration"]["DataModel"]["MultiMeasureMappings"][
            "MultiMeasureAttributeMappings"][1].update(MeasureValueType="FLOAT"),
         "ValidationException",
         "DataModelConfiguration.DataModel.MultiMeasureMappings.MultiMeasureAttributeMappings[1].MeasureValueType"),
        (lambda a, missing: a["DataModelConfiguration"]["DataModel"].pop("MeasureNameColumn"),
         "ValidationException",
         "DataModelConfiguration.DataModel.MultiMeasureMappings.TargetMultiMeasureName is required"),
        (lambda a, missing: a["DataModelConfiguration"]["DataModel"].pop("TimeColumn"),
         "ValidationException", "DataModelConfiguration.DataModel.TimeColumn is required."),
        (lambda a, missing: a["DataSourceConfiguration"].update(DataFormat="JSON"),
         "ValidationException", "DataSourceConfiguration.DataFormat must be one of CSV"),
        (lambda a, missing: a["DataSourceConfiguration"]["DataSourceS3Configuration"].update(ObjectKeyPrefix="none/"),
         "ValidationException", "DataSourceConfiguration.DataSourceS3Configuration.ObjectKeyPrefix names no objects"),
    ],
)  # fmt: skip
def test_refusals_name_the_field(loaded, change, code, names):
    write, _query, s3 = loaded
    database, table = _table(write)
    bucket, reports = _bucket(s3, "source"), _bucket(s3, "reports")
    s3.put_object(Bucket=bucket, Key="in/a.csv", Body=_csv(_readings(3)))
    args = json.loads(json.dumps(_task_args(database, table, bucket, "in/", reports)))
    change(args, unique("absent").replace("_", "-"))
    with pytest.raises(write.exceptions.ClientError) as error:
        write.create_batch_load_task(**args)
    assert error.value.response["Error"]["Code"] == code
    assert names in error.value.response["Error"]["Message"]
    assert all(t["TableName"] != table for t in write.list_batch_load_tasks(MaxResults=100)["BatchLoadTasks"])


def test_a_data_model_read_from_s3(loaded):
    write, query, s3 = loaded
    database, table = _table(write)
    bucket, reports = _bucket(s3, "source"), _bucket(s3, "reports")
    readings = _readings(30, seed=5)
    s3.put_object(Bucket=bucket, Key="data/r.csv", Body=_csv(readings))
    s3.put_object(Bucket=bucket, Key="model.json", Body=json.dumps(MODEL).encode())
    args = _task_args(database, table, bucket, "data/", reports)
    args["DataModelConfiguration"] = {
        "DataModelS3Configuration": {"BucketName": bucket, "ObjectKey": "model.json"}
    }
    described = _wait(write, write.create_batch_load_task(**args)["TaskId"])
    assert described["TaskStatus"] == "SUCCEEDED"
    assert len(_loaded_rows(query, database, table)) == 30


def test_a_task_can_have_100_files_not_101(loaded):
    write, _query, s3 = loaded
    database, table = _table(write)
    bucket, reports = _bucket(s3, "source"), _bucket(s3, "reports")
    readings = _readings(101, seed=7)
    for n, reading in enumerate(readings):
        s3.put_object(Bucket=bucket, Key=f"many/{n:03d}.csv", Body=_csv([reading]))
    with pytest.raises(write.exceptions.ValidationException) as error:
        write.create_batch_load_task(**_task_args(database, table, bucket, "many/", reports))
    assert "names 101 objects" in str(error.value) and "at most 100 files" in str(error.value)
    s3.delete_object(Bucket=bucket, Key="many/100.csv")
    described = _wait(
        write, write.create_batch_load_task(**_task_args(database, table, bucket, "many/", reports))["TaskId"]
    )
    assert described["TaskStatus"] == "SUCCEEDED"
    assert described["ProgressReport"]["RecordsIngested"] == 100


def test_list_pages_and_filters_by_status(loaded):
    write, _query, s3 = loaded
    database, table = _table(write)
    bucket, reports = _bucket(s3, "source"), _bucket(s3, "reports")
    s3.put_object(Bucket=bucket, Key="ok/a.csv", Body=_csv(_readings(3, seed=9)))
    s3.put_object(
        Bucket=bucket, Key="bad/a.csv", Body=b"time,measure_name,city,location,pm25,pm10\nx,air,a,b,1,1\n"
    )
    ours = {write.create_batch_load_task(**_task_args(database, table, bucket, prefix, reports))["TaskId"]: status
            for prefix, status in (("ok/", "SUCCEEDED"), ("bad/", "FAILED"), ("ok/", "SUCCEEDED"))}  # fmt: skip
    for task_id in ours:
        _wait(write, task_id)

    seen, token = [], None
    for _ in range(100):
        page = write.list_batch_load_tasks(MaxResults=2, **({"NextToken": token} if token else {}))
        assert len(page["BatchLoadTasks"]) <= 2
        seen += page["BatchLoadTasks"]
        token = page.get("NextToken")
        if not token:
            break
    ids = [task["TaskId"] for task in seen]
    assert len(ids) == len(set(ids)) and set(ours) <= set(ids)
    for task in seen:
        if task["TaskId"] in ours:
            assert (task["TaskStatus"], task["DatabaseName"], task["TableName"]) == (
                ours[task["TaskId"]],
                database,
                table,
            )
            assert task["CreationTime"] <= task["LastUpdatedTime"]
    for status in ("SUCCEEDED", "FAILED"):
        listed = write.list_batch_load_tasks(TaskStatus=status, MaxResults=100)["BatchLoadTasks"]
        assert {t["TaskStatus"] for t in listed} == {status}
        assert {t["TaskId"] for t in listed} & set(ours) == {i for i, s in ours.items() if s == status}
    assert write.list_batch_load_tasks(TaskStatus="PENDING_RESUME")["BatchLoadTasks"] == []
    for bad in ({"MaxResults": 101}, {"MaxResults": 0}, {"TaskStatus": "DONE"}):
        with pytest.raises(write.exceptions.ValidationException):
            write.list_batch_load_tasks(**bad)
    with pytest.raises(write.exceptions.ResourceNotFoundException):
        write.describe_batch_load_task(TaskId="0123456789ABCDEF0123456789ABCDEF")
    with pytest.raises(
        write.exceptions.ValidationException, match="only a PROGRESS_STOPPED task can be resumed"
    ):
        write.resume_batch_load_task(TaskId=next(iter(ours)))


def test_without_s3_every_action_says_to_start_with_an_endpoint(timestream_write):
    calls = [
        lambda c: c.create_batch_load_task(**_task_args("db", "tbl", "bucket", "p/", "bucket")),
        lambda c: c.describe_batch_load_task(TaskId="ABC"),
        lambda c: c.list_batch_load_tasks(),
        lambda c: c.resume_batch_load_task(TaskId="ABC"),
    ]
    for call in calls:
        with pytest.raises(timestream_write.exceptions.ValidationException) as error:
            call(timestream_write)
        assert "start it with --s3-endpoint-url" in str(error.value)


@pytest.mark.parametrize("kill", [True, False], ids=["killed", "stopped"])
def test_a_task_cut_off_by_the_server_stopping_is_resumed_after_the_restart(moto_server, tmp_path, kill):
    """Killed, the task is IN_PROGRESS in the store and the next start marks it PROGRESS_STOPPED;
    stopped (SIGTERM), the loader itself stops it at the next row and saves it so."""
    s3 = s3_client(moto_server)
    args = ["--s3-endpoint-url", moto_server.url]
    service = start_timestream_local(tmp_path / "data", extra_args=args)
    try:
        write, query = _clients(service)
        database, table = _table(write)
        bucket, reports = _bucket(s3, "source"), _bucket(s3, "reports")
        readings = _readings(60_000, seed=11, step_ms=100)
        s3.put_object(Bucket=bucket, Key="big/readings.csv", Body=_csv(readings))
        task_id = write.create_batch_load_task(**_task_args(database, table, bucket, "big/", reports))[
            "TaskId"
        ]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            described = write.describe_batch_load_task(TaskId=task_id)["BatchLoadTaskDescription"]
            if described["ProgressReport"]["RecordsIngested"] > 0:
                break
            time.sleep(0.05)
        assert described["TaskStatus"] == "IN_PROGRESS", described
    finally:
        service.stop(kill=kill)
    # stopped, the loader saved the task itself before the server ended
    assert (f"batch load task {task_id} stopped: The server stopped" in service.log()) is not kill

    service = start_timestream_local(tmp_path / "data", extra_args=args)
    try:
        write, query = _clients(service)
        described = write.describe_batch_load_task(TaskId=task_id)["BatchLoadTaskDescription"]
        assert described["TaskStatus"] == "PROGRESS_STOPPED"
        assert described["ErrorMessage"] == (
            "The server stopped while the task was in progress; resume it with ResumeBatchLoadTask "
            "to continue from where it got to."
        )
        left = described["ResumableUntil"].timestamp() - time.time()
        assert 7 * 86_400 - 120 < left <= 7 * 86_400
        stopped = write.list_batch_load_tasks(TaskStatus="PROGRESS_STOPPED")["BatchLoadTasks"]
        assert [t["TaskId"] for t in stopped] == [task_id]

        write.resume_batch_load_task(TaskId=task_id)
        described = _wait(write, task_id)
        assert described["TaskStatus"] == "SUCCEEDED", described
        # counted once each: what was written after the last saved position was written again, as the same records
        assert described["ProgressReport"] == {
            "RecordsProcessed": 60_000, "RecordsIngested": 60_000, "ParseFailures": 0, "RecordIngestionFailures": 0,
            "FileFailures": 0, "BytesMetered": len(_csv(readings)),
        }  # fmt: skip
        counts = query_rows(query, f'SELECT count(*) AS n, sum(pm10) AS s FROM "{database}"."{table}"')
        assert (int(counts[0]["n"]), int(counts[0]["s"])) == (60_000, sum(r["pm10"] for r in readings))
    finally:
        service.stop()


MIXED = {
    "TimeColumn": "ts",
    "TimeUnit": "SECONDS",
    "DimensionMappings": [{"SourceColumn": "station", "DestinationColumn": "location"}],
    "MeasureNameColumn": "kind",
    "MixedMeasureMappings": [
        {"MeasureName": "pm", "SourceColumn": "pm25", "TargetMeasureName": "pm2.5", "MeasureValueType": "DOUBLE"},
        {"MeasureName": "note", "SourceColumn": "note", "MeasureValueType": "VARCHAR"},
        {"MeasureName": "both", "TargetMeasureName": "reading", "MeasureValueType": "MULTI",
         "MultiMeasureAttributeMappings": [
             {"SourceColumn": "pm25", "MeasureValueType": "DOUBLE"},
             {"SourceColumn": "note", "TargetMultiMeasureAttributeName": "remark", "MeasureValueType": "VARCHAR"},
         ]},
    ],
}  # fmt: skip


def test_mixed_measures_with_a_csv_configuration_and_a_record_version(loaded):
    write, query, s3 = loaded
    database, table = _table(write)
    bucket, reports = _bucket(s3, "source"), _bucket(s3, "reports")
    now = int(time.time()) - 600
    text = "\n".join([
        "ts|kind|station| pm25 |note",
        f"{now}|pm| Haidian | 12.5 |NA",
        f"{now + 1}|note|Jingan|NA|'calm | clear, \"dry\"'",
        f"{now + 2}|both|Haidian| 30.25 |'two\nlines'",
        f"{now + 3}|both|Jingan|NA| windy ",
    ]) + "\n"  # fmt: skip
    s3.put_object(Bucket=bucket, Key="mixed.csv", Body=text.encode())
    csv_config = {"ColumnSeparator": "|", "QuoteChar": "'", "NullValue": "NA", "TrimWhiteSpace": True}
    args = _task_args(database, table, bucket, "mixed.csv", reports, model=MIXED, RecordVersion=3)
    args["DataSourceConfiguration"]["CsvConfiguration"] = csv_config
    described = _wait(write, write.create_batch_load_task(**args)["TaskId"])
    assert (described["TaskStatus"], described["ProgressReport"]["RecordsIngested"]) == ("SUCCEEDED", 4), (
        described
    )
    assert described["DataSourceConfiguration"]["CsvConfiguration"] == csv_config
    assert described["RecordVersion"] == 3

    rows = query_rows(
        query,
        "SELECT to_unixtime(time) AS t, measure_name, location, measure_value::double AS d, "
        f'measure_value::varchar AS v, pm25, remark FROM "{database}"."{table}" ORDER BY time',
    )
    got = [
        (int(float(r["t"])), r["measure_name"], r["location"], r["d"], r["v"], r["pm25"], r["remark"])
        for r in rows
    ]
    assert got == [
        (now, "pm2.5", "Haidian", "12.5", None, None, None),
        (now + 1, "note", "Jingan", None, 'calm | clear, "dry"', None, None),
        (now + 2, "reading", "Haidian", None, None, "30.25", "two\nlines"),
        (now + 3, "reading", "Jingan", None, None, None, "windy"),
    ]
    # the records carry RecordVersion: a lower version of the same record is refused, naming version 3
    record = {"Dimensions": [{"Name": "location", "Value": "Haidian"}], "MeasureName": "pm2.5",
              "MeasureValue": "99", "MeasureValueType": "DOUBLE", "Time": str(now), "TimeUnit": "SECONDS",
              "Version": 2}  # fmt: skip
    with pytest.raises(write.exceptions.RejectedRecordsException) as error:
        write.write_records(DatabaseName=database, TableName=table, Records=[record])
    assert error.value.response["RejectedRecords"][0]["ExistingVersion"] == 3


def test_the_error_report_is_encrypted_as_the_report_configuration_asks(loaded):
    """ReportS3Configuration's EncryptionOption and KmsKeyId reach S3 (they were checked, then not
    passed on): the report object is written with SSE-KMS and the given key."""
    write, _query, s3 = loaded
    database, table = _table(write)
    bucket, reports = _bucket(s3, "source"), _bucket(s3, "reports")
    s3.put_object(
        Bucket=bucket, Key="in/bad.csv", Body=b"time,city,location,pm25,pm10\n1,Beijing,Haidian,1,1\n"
    )
    key_arn = "arn:aws:kms:us-east-1:123456789012:key/report-key"
    args = _task_args(database, table, bucket, "in/", reports)
    args["ReportConfiguration"]["ReportS3Configuration"].update(EncryptionOption="SSE_KMS", KmsKeyId=key_arn)
    task_id = write.create_batch_load_task(**args)["TaskId"]
    assert _wait(write, task_id)["TaskStatus"] == "FAILED"  # the file lacks measure_name: a report is due
    head = s3.head_object(Bucket=reports, Key=f"reports/{task_id}/error-report.json")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key_arn)
