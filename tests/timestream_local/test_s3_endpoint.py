"""The store's S3 endpoint (``--s3-endpoint-url``), against moto's server as S3: failed scheduled-query
runs' error reports become S3 objects where AWS puts them; the endpoint is checked at start; and the
object layer UNLOAD and batch load build on (multipart writes, bounded reads, listing, errors).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import boto3
import pytest

from tests.conftest import s3_client
from tests.services import ROOT, free_port, start_timestream_local
from tests.timestream_local.store_helpers import unique
from timestream_local.storage import objects
from timestream_local.storage.objects import ObjectStore, ObjectStoreError

FAILING_QUERY = 'SELECT 1 AS one FROM "no_db"."no_table" WHERE time < @scheduled_runtime'


@pytest.fixture(scope="module")
def s3_store(moto_server, tmp_path_factory):
    """A timestream_local whose S3 is moto's server."""
    service = start_timestream_local(
        tmp_path_factory.mktemp("s3-store") / "data", extra_args=["--s3-endpoint-url", moto_server.url]
    )
    yield service
    service.stop()


def _failing_scheduled_query(client, bucket: str) -> str:
    return client.create_scheduled_query(
        Name=unique("fails"),
        QueryString=FAILING_QUERY,
        ScheduleConfiguration={"ScheduleExpression": "rate(1 hour)"},
        NotificationConfiguration={"SnsConfiguration": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"}},
        ScheduledQueryExecutionRoleArn="arn:aws:iam::123456789012:role/r",
        ErrorReportConfiguration={"S3Configuration": {"BucketName": bucket, "ObjectKeyPrefix": "errors"}},
    )["Arn"]


def test_a_failed_runs_error_report_is_an_s3_object(s3_store, moto_server):
    s3 = s3_client(moto_server)
    bucket = unique("reports").replace("_", "-")
    s3.create_bucket(Bucket=bucket)
    client = boto3.client("timestream-query", endpoint_url=s3_store.url, region_name="us-east-1")
    arn = _failing_scheduled_query(client, bucket)
    when = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    client.execute_scheduled_query(ScheduledQueryArn=arn, InvocationTime=when)

    summary = client.describe_scheduled_query(ScheduledQueryArn=arn)["ScheduledQuery"]["LastRunSummary"]
    location = summary["ErrorReportLocation"]["S3ReportLocation"]
    assert location["BucketName"] == bucket
    assert location["ObjectKey"].startswith(
        f"errors/{arn.rsplit('/', 1)[1]}/2026-03-01T12:00:00.000Z/Manual/"
    )
    listed = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == [location["ObjectKey"]]
    report = json.loads(s3.get_object(Bucket=bucket, Key=location["ObjectKey"])["Body"].read())
    assert report["errors"] == [{"reason": summary["FailureReason"]}]
    assert summary["FailureReason"].startswith("The database no_db does not exist")
    assert not (s3_store.data_dir / "error-reports").exists()  # nothing kept as a file instead


def test_a_missing_report_bucket_is_logged_and_the_run_still_recorded(s3_store):
    client = boto3.client("timestream-query", endpoint_url=s3_store.url, region_name="us-east-1")
    bucket = unique("absent").replace("_", "-")
    arn = _failing_scheduled_query(client, bucket)
    client.execute_scheduled_query(
        ScheduledQueryArn=arn, InvocationTime=dt.datetime(2026, 3, 1, 13, tzinfo=dt.UTC)
    )
    summary = client.describe_scheduled_query(ScheduledQueryArn=arn)["ScheduledQuery"]["LastRunSummary"]
    assert summary["RunStatus"] == "MANUAL_TRIGGER_FAILURE"
    assert "ErrorReportLocation" not in summary  # no report was written, so none is pointed at
    assert f"the bucket {bucket} does not exist (NoSuchBucket)" in s3_store.log()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://127.0.0.1:9000", "is not an http:// or https:// URL with a host name."),
        ("http://", "is not an http:// or https:// URL with a host name."),
        ("http://127.0.0.1:9000/bucket", "must be only scheme, host and port (no path or query)."),
    ],
)
def test_a_bad_endpoint_stops_the_server_with_one_sentence(tmp_path, url, says):
    result = subprocess.run(
        [sys.executable, "-m", "timestream_local", "serve", "--port", "0", "--data-dir", str(tmp_path / "d"),
         "--s3-endpoint-url", url],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == f"timestream_local: --s3-endpoint-url {url!r} {says}\n"


# ------------------------------------------------------------------------ the object layer itself
@pytest.fixture
def bucket(moto_server):
    name = unique("objects").replace("_", "-")
    s3_client(moto_server).create_bucket(Bucket=name)
    return name


def test_put_stream_writes_a_multipart_object_whole(moto_server, bucket):
    store = ObjectStore(moto_server.url, "us-east-1")
    chunks = [bytes([n]) * 3_000_001 for n in range(7)]  # 21 MB in odd-sized chunks: three parts
    assert store.put_stream(bucket, "big/object.bin", chunks) == 21_000_007
    body = s3_client(moto_server).get_object(Bucket=bucket, Key="big/object.bin")["Body"].read()
    assert body == b"".join(chunks)
    small = [b"a,b\n", b"1,2\n"]  # under one part: a plain PutObject
    assert store.put_stream(bucket, "small.csv", small, "text/csv") == 8
    assert store.get(bucket, "small.csv", max_bytes=8) == b"a,b\n1,2\n"


def test_get_refuses_an_object_one_byte_over_the_limit(moto_server, bucket):
    store = ObjectStore(moto_server.url, "us-east-1")
    store.put(bucket, "nine", b"123456789")
    assert store.get(bucket, "nine", max_bytes=9) == b"123456789"
    with pytest.raises(ObjectStoreError) as error:
        store.get(bucket, "nine", max_bytes=8)
    assert error.value.code == "ObjectTooLarge"
    assert str(error.value) == f"s3://{bucket}/nine is 9 bytes, more than the 8 allowed here."


def test_stream_reads_in_bounded_chunks(moto_server, bucket, monkeypatch):
    monkeypatch.setattr(objects, "CHUNK_BYTES", 4)
    store = ObjectStore(moto_server.url, "us-east-1")
    store.put(bucket, "ten", b"0123456789")
    assert list(store.stream(bucket, "ten")) == [b"0123", b"4567", b"89"]


def test_list_follows_every_page_and_keeps_to_the_prefix(moto_server, bucket):
    s3 = s3_client(moto_server)
    keys = [f"in/{n:04d}.csv" for n in range(1005)]  # more than one ListObjectsV2 page (1,000)
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x" * (len(key) % 7))
    s3.put_object(Bucket=bucket, Key="out/other.csv", Body=b"")
    listed = ObjectStore(moto_server.url, "us-east-1").list(bucket, "in/")
    assert listed == [(key, len(key) % 7) for key in keys]


def test_failures_name_the_object_and_s3s_code(moto_server, bucket):
    store = ObjectStore(moto_server.url, "us-east-1")
    with pytest.raises(ObjectStoreError) as error:
        store.get(bucket, "absent.csv", max_bytes=10)
    assert error.value.code == "NoSuchKey"
    assert f"s3://{bucket}/absent.csv does not exist (NoSuchKey)." in str(error.value)
    with pytest.raises(ObjectStoreError) as error:
        store.check_bucket("no-such-bucket-here")
    assert error.value.code == "NoSuchBucket"
    assert (
        str(error.value)
        == f"S3 ({moto_server.url}): the bucket no-such-bucket-here does not exist (NoSuchBucket)."
    )
    store.check_bucket(bucket)  # an existing bucket passes


def test_an_unreachable_endpoint_is_one_sentence(bucket):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ObjectStoreError) as error:
        ObjectStore(url, "us-east-1").put(bucket, "k", b"")
    assert error.value.code == "Unreachable"
    assert str(error.value).startswith(f"S3 ({url}): PutObject on s3://{bucket}/k failed: ")
