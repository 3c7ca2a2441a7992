"""UNLOAD over HTTP with boto3, against a timestream_local whose S3 is moto's server: AWS's sample
flows (CSV with a header, GZIP; partitioned_by), the objects read back from moto and compared with
rows computed here from the records written; the manifest and metadata; each refusal; the limits.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import gzip
import io
import json
import time

import boto3
import duckdb
import msgspec
import pytest

from tests.conftest import s3_client
from tests.services import start_timestream_local
from tests.timestream_local.store_helpers import unique

STATIONS = {"s1": "Taipei", "s2": "Taipei", "s3": "Tainan"}


@pytest.fixture(scope="module")
def world(moto_server, tmp_path_factory):
    """A store on moto's S3 with one table of readings, a bucket, and the readings written."""
    service = start_timestream_local(
        tmp_path_factory.mktemp("unload") / "data", extra_args=["--s3-endpoint-url", moto_server.url]
    )
    kwargs = {"endpoint_url": service.url, "region_name": "us-east-1"}
    write, query = boto3.client("timestream-write", **kwargs), boto3.client("timestream-query", **kwargs)
    database = unique("unload")
    write.create_database(DatabaseName=database)
    write.create_table(DatabaseName=database, TableName="pm25")
    now = time.time_ns() // 1_000_000 // 1000 * 1000
    readings = [
        (station, city, now - i * 1000, round(10 + i * 1.5 + n, 2))
        for n, (station, city) in enumerate(STATIONS.items())
        for i in range(40)
    ]
    records = [
        {
            "Dimensions": [{"Name": "station", "Value": s}, {"Name": "city", "Value": c}],
            "MeasureName": "pm25",
            "MeasureValue": str(v),
            "MeasureValueType": "DOUBLE",
            "Time": str(t),
        }
        for s, c, t, v in readings
    ]
    for start in range(0, len(records), 100):
        write.write_records(DatabaseName=database, TableName="pm25", Records=records[start : start + 100])
    s3 = s3_client(moto_server)
    bucket = unique("unload").replace("_", "-")
    s3.create_bucket(Bucket=bucket)
    yield {"query": query, "s3": s3, "bucket": bucket, "database": database, "readings": readings}
    service.stop()


def _select(world) -> str:
    return (
        f'SELECT station, measure_value::double AS pm25, city FROM "{world["database"]}"."pm25" '
        "WHERE time > ago(1d)"
    )


def _answer(response) -> dict[str, str]:
    names = [column["Name"] for column in response["ColumnInfo"]]
    assert len(response["Rows"]) == 1
    return dict(zip(names, [d["ScalarValue"] for d in response["Rows"][0]["Data"]], strict=True))


def _object(world, url: str) -> bytes:
    bucket, key = url.removeprefix("s3://").split("/", 1)
    assert bucket == world["bucket"]
    return world["s3"].get_object(Bucket=bucket, Key=key)["Body"].read()


def test_csv_with_header_gzip_holds_every_row(world):
    prefix = unique("csv")
    response = world["query"].query(
        QueryString=f"UNLOAD ({_select(world)}) TO 's3://{world['bucket']}/{prefix}/' "
        "WITH (format = 'CSV', compression = 'GZIP', include_header = 'true')"
    )
    answer = _answer(response)
    assert answer["rows"] == str(len(world["readings"]))
    assert [c["Type"]["ScalarType"] for c in response["ColumnInfo"]] == ["BIGINT", "VARCHAR", "VARCHAR"]
    manifest = json.loads(_object(world, answer["manifestFile"]))
    assert answer["manifestFile"].startswith(f"s3://{world['bucket']}/{prefix}/")
    assert manifest["author"] == {"name": "Amazon Timestream", "manifest_file_version": "1.0"}
    assert manifest["query_metadata"]["total_row_count"] == len(world["readings"])
    assert manifest["query_metadata"]["result_format"] == "CSV"
    # the field names AWS's sample apps read the manifest with (amazon-timestream-tools' UnloadManifest)
    assert set(manifest) == {"result_files", "query_metadata", "author"}
    assert set(manifest["query_metadata"]) == {
        "total_content_length_in_bytes", "total_row_count", "result_format", "result_version",
    }  # fmt: skip
    assert manifest["query_metadata"]["total_content_length_in_bytes"] == sum(
        entry["file_metadata"]["content_length_in_bytes"] for entry in manifest["result_files"]
    )
    rows = []
    for entry in manifest["result_files"]:
        assert f"/{prefix}/results/" in entry["url"] and entry["url"].endswith(".csv.gz")
        body = _object(world, entry["url"])
        assert entry["file_metadata"]["content_length_in_bytes"] == len(body)
        lines = list(csv.reader(io.StringIO(gzip.decompress(body).decode())))
        assert lines[0] == ["station", "pm25", "city"]
        assert entry["file_metadata"]["row_count"] == len(lines) - 1
        rows += lines[1:]
    expected = sorted((s, v, c) for s, c, _t, v in world["readings"])
    assert sorted((s, float(v), c) for s, v, c in rows) == expected
    metadata = json.loads(_object(world, answer["metadataFile"]))
    assert [(c["Name"], c["Type"]["ScalarType"]) for c in metadata["ColumnInfo"]] == [
        ("station", "VARCHAR"), ("pm25", "DOUBLE"), ("city", "VARCHAR"),
    ]  # fmt: skip
    assert metadata["Author"] == {"Name": "Amazon Timestream", "MetadataFileVersion": "1.0"}


def test_partitioned_by_writes_one_folder_per_value_without_the_column(world):
    prefix = unique("part")
    answer = _answer(
        world["query"].query(
            QueryString=f"UNLOAD ({_select(world)}) TO 's3://{world['bucket']}/{prefix}' "
            "WITH (partitioned_by = ARRAY['city'], compression = 'NONE', field_delimiter = '|')"
        )
    )
    manifest = json.loads(_object(world, answer["manifestFile"]))
    by_city: dict[str, list] = {}
    for entry in manifest["result_files"]:
        folder = entry["url"].split("/results/", 1)[1].split("/")[0]
        city = folder.removeprefix("city=")
        assert entry["url"].endswith(".csv")
        by_city.setdefault(city, []).extend(
            csv.reader(io.StringIO(_object(world, entry["url"]).decode()), delimiter="|")
        )
    expected: dict[str, list] = {}
    for s, c, _t, v in world["readings"]:
        expected.setdefault(c, []).append((s, v))
    assert sorted(by_city) == sorted(expected)
    for city, rows in by_city.items():
        assert sorted((s, float(v)) for s, v in rows) == sorted(
            expected[city]
        )  # two columns: city is the folder
    metadata = json.loads(_object(world, answer["metadataFile"]))
    assert [c["Name"] for c in metadata["ColumnInfo"]] == ["station", "pm25"]


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ("colour = 'red'", "UNLOAD option 'colour' is unknown"),
        ("format = 'JSON'", "UNLOAD option format is 'JSON'"),
        ("compression = 'ZSTD'", "UNLOAD option compression is 'ZSTD'"),
        ("include_header = 'yes'", "UNLOAD option include_header is 'yes'"),
        ("field_delimiter = '||'", "UNLOAD option field_delimiter is '||'"),
        ("partitioned_by = ARRAY['nope']", "partitioned_by names 'nope', which is not in the select list"),
        ("partitioned_by = ARRAY['station']", "must be the last columns of the select list"),
        ("max_file_size = '15MB'", "UNLOAD option max_file_size is '15MB'"),
        ("max_file_size = '79GB'", "UNLOAD option max_file_size is '79GB'"),
    ],
)
def test_bad_options_are_refused_by_name(world, options, says):
    with pytest.raises(world["query"].exceptions.ValidationException) as error:
        world["query"].query(
            QueryString=f"UNLOAD ({_select(world)}) TO 's3://{world['bucket']}/x/' WITH ({options})"
        )
    assert says in error.value.response["Error"]["Message"]


@pytest.mark.parametrize("size", ["16MB", "78GB"])
def test_max_file_size_at_its_limits_is_accepted(world, size):
    answer = _answer(
        world["query"].query(
            QueryString=f"UNLOAD ({_select(world)}) TO 's3://{world['bucket']}/{unique('lim')}/' "
            f"WITH (max_file_size = '{size}')"
        )
    )
    assert answer["rows"] == str(len(world["readings"]))


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("'http://bucket/x/'", "is malformed"),
        ("'s3://no-such-bucket-here/x/'", "bucket 'no-such-bucket-here' cannot be written"),
    ],
)
def test_bad_locations_are_refused(world, target, says):
    with pytest.raises(world["query"].exceptions.ValidationException) as error:
        world["query"].query(QueryString=f"UNLOAD ({_select(world)}) TO {target}")
    assert says in error.value.response["Error"]["Message"]


def test_parquet_holds_the_values_with_their_types(world, tmp_path):
    prefix = unique("parquet")
    select = (
        f'SELECT station, measure_value::double AS pm25, time, city FROM "{world["database"]}"."pm25" '
        "WHERE time > ago(1d)"
    )
    answer = _answer(
        world["query"].query(
            QueryString=f"UNLOAD ({select}) TO 's3://{world['bucket']}/{prefix}/' "
            "WITH (format = 'PARQUET', partitioned_by = ARRAY['city'])"
        )
    )
    manifest = json.loads(_object(world, answer["manifestFile"]))
    assert manifest["query_metadata"]["result_format"] == "PARQUET"
    rows = set()
    for n, entry in enumerate(manifest["result_files"]):
        city = entry["url"].split("/results/city=", 1)[1].split("/")[0]
        assert entry["url"].endswith(".parquet")
        path = tmp_path / f"{n}.parquet"
        path.write_bytes(_object(world, entry["url"]))
        connection = duckdb.connect()
        relation = connection.execute(f"SELECT * FROM read_parquet('{path}')")
        assert [(d[0], str(d[1])) for d in relation.description] == [
            ("station", "VARCHAR"), ("pm25", "DOUBLE"), ("time", "TIMESTAMP_NS"),
        ]  # fmt: skip
        found = relation.fetchall()
        assert entry["file_metadata"]["row_count"] == len(found)
        rows |= {(s, v, t.replace(tzinfo=dt.UTC).timestamp(), city) for s, v, t in found}
    expected = {(s, v, t / 1000, c) for s, c, t, v in world["readings"]}
    assert rows == expected


def test_files_are_split_at_max_file_size(world, moto_server):
    """max_file_size's smallest value (16MB) needs a large result over HTTP; here the writer itself,
    on moto's S3, splits 200 rows at 100 bytes: every file within the size, all rows kept in order."""
    from timestream_local.api import unload as writer
    from timestream_local.api.registry import StoredResult
    from timestream_local.query.unload import parse_unload
    from timestream_local.storage.objects import ObjectStore

    prefix = unique("split")
    statement = parse_unload(
        f"UNLOAD (SELECT 1) TO 's3://{world['bucket']}/{prefix}/' WITH (compression = 'NONE')"
    )
    statement = dataclasses.replace(statement, max_file_size=100)
    columns = [
        {"Name": "n", "Type": {"ScalarType": "BIGINT"}},
        {"Name": "s", "Type": {"ScalarType": "VARCHAR"}},
    ]
    rows = [
        msgspec.json.encode({"Data": [{"ScalarValue": str(i)}, {"ScalarValue": f"r{i}"}]}) for i in range(200)
    ]
    result = StoredResult("", columns, [msgspec.Raw(row) for row in rows], 0)
    answer = writer.write(ObjectStore(moto_server.url, "us-east-1"), statement, "QID", result)
    manifest = json.loads(_object(world, answer["manifestFile"]))
    assert len(manifest["result_files"]) > 1
    seen = []
    for entry in manifest["result_files"]:
        body = _object(world, entry["url"])
        assert len(body) <= 100
        lines = list(csv.reader(io.StringIO(body.decode())))
        assert entry["file_metadata"]["row_count"] == len(lines)
        seen += lines
    assert seen == [[str(i), f"r{i}"] for i in range(200)]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("", {"ServerSideEncryption": "AES256"}),  # SSE_S3 is the default
        ("encryption = 'SSE_KMS', ", {"ServerSideEncryption": "aws:kms"}),
        (
            "encryption = 'SSE_KMS', kms_key = 'arn:aws:kms:us-east-1:123456789012:key/unload-key', ",
            {
                "ServerSideEncryption": "aws:kms",
                "SSEKMSKeyId": "arn:aws:kms:us-east-1:123456789012:key/unload-key",
            },
        ),
    ],
)
def test_every_object_is_encrypted_as_the_statement_asks(world, options, expected):
    """The result files, the manifest and the metadata all carry the asked server-side encryption
    (it was checked, then not passed to S3)."""
    prefix = unique("sse")
    for fmt in ("CSV", "PARQUET"):
        answer = _answer(
            world["query"].query(
                QueryString=f"UNLOAD ({_select(world)}) TO 's3://{world['bucket']}/{prefix}/{fmt}/' "
                f"WITH ({options}format = '{fmt}')"
            )
        )
        manifest = json.loads(_object(world, answer["manifestFile"]))
        urls = [answer["manifestFile"], answer["metadataFile"], *(e["url"] for e in manifest["result_files"])]
        for url in urls:
            key = url.removeprefix(f"s3://{world['bucket']}/")
            head = world["s3"].head_object(Bucket=world["bucket"], Key=key)
            assert {name: head.get(name) for name in expected} == expected, (fmt, url)


def test_an_unload_after_a_comment_is_run_as_an_unload(world):
    """A saved query often starts with a comment; the statement after it is still an UNLOAD (it was
    sent to the SELECT translator, which refused the word UNLOAD)."""
    prefix = unique("commented")
    response = world["query"].query(
        QueryString=f"-- the weekly export\n/* {prefix} */ UNLOAD ({_select(world)}) "
        f"TO 's3://{world['bucket']}/{prefix}/' WITH (format = 'CSV')"
    )
    answer = _answer(response)
    assert answer["rows"] == str(len(world["readings"]))
    manifest = json.loads(_object(world, answer["manifestFile"]))
    rows = [
        (station, float(value), city)
        for entry in manifest["result_files"]  # GZIP unless asked otherwise, as on AWS
        for station, value, city in csv.reader(
            io.StringIO(gzip.decompress(_object(world, entry["url"])).decode())
        )
    ]
    assert sorted(rows) == sorted((s, v, c) for s, c, _t, v in world["readings"])
