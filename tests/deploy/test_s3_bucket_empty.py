"""plugins/modules/s3_bucket_empty.py against moto's S3 (a real server, reached over HTTP through boto3).

What the bucket holds is counted independently with ListObjectVersions.
"""

from __future__ import annotations

import json
import uuid

import pytest
from ansible.module_utils.testing import patch_module_args

from tests.conftest import s3_client
from tests.deploy.test_timestream_modules import PLUGINS, _load


@pytest.fixture(scope="module")
def module():
    return _load("pm25_s3_bucket_empty", PLUGINS / "modules" / "s3_bucket_empty.py")


@pytest.fixture
def s3(moto_server):
    return s3_client(moto_server)


@pytest.fixture
def run(capsys, moto_server, module):
    def _run(bucket: str, check: bool = False) -> dict:
        arguments = {
            "region": "us-east-1",
            "endpoint_url": moto_server.url,
            "bucket": bucket,
            "_ansible_check_mode": check,
        }
        capsys.readouterr()
        with patch_module_args(arguments), pytest.raises(SystemExit):
            module.main()
        return json.loads(capsys.readouterr().out)

    return _run


def held(s3, bucket: str) -> int:
    count = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        count += len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
    return count


def new_bucket(s3, objects: int) -> str:
    bucket = f"empty-test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    for number in range(objects):
        s3.put_object(Bucket=bucket, Key=f"reports/{number:05d}.json", Body=b"{}")
    return bucket


@pytest.mark.parametrize("objects", [1000, 1001], ids=["one-batch", "one-past-a-batch"])
def test_every_object_goes_in_batches_of_1000_and_the_bucket_stays(run, s3, objects):
    bucket = new_bucket(s3, objects)
    checked = run(bucket, check=True)
    assert (checked["changed"], checked["deleted"], checked["versioned"]) == (True, objects, False)
    assert held(s3, bucket) == objects

    emptied = run(bucket)
    assert (emptied["changed"], emptied["deleted"]) == (True, objects)
    assert held(s3, bucket) == 0
    s3.head_bucket(Bucket=bucket)  # the bucket itself stays

    again = run(bucket)
    assert (again["changed"], again["deleted"]) == (False, 0)


def test_a_versioned_bucket_loses_every_version_and_delete_marker(run, s3):
    bucket = new_bucket(s3, 0)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"1", b"2", b"3"):
        s3.put_object(Bucket=bucket, Key="report.json", Body=body)
    s3.delete_object(Bucket=bucket, Key="report.json")
    s3.put_object(Bucket=bucket, Key="other.json", Body=b"4")
    # (Not with versioning suspended: moto's DeleteObjects then ignores VersionId and fails on the
    # delete marker, where S3 deletes the version asked for.)
    assert held(s3, bucket) == 5  # three versions and a delete marker of one key, one version of another

    emptied = run(bucket)
    assert (emptied["changed"], emptied["deleted"], emptied["versioned"]) == (True, 5, True)
    assert held(s3, bucket) == 0
    s3.delete_bucket(Bucket=bucket)  # S3 now lets its owner delete it


def test_a_missing_bucket_is_already_empty(run):
    result = run(f"never-made-{uuid.uuid4().hex[:12]}")
    assert (result["changed"], result["deleted"]) == (False, 0)
