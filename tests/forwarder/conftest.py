"""The forwarder tests get their own kinesalite.

kinesalite allows 10 open shards per account; the project's shared instance is used by other test
packages too, and these tests split shards and use 4-shard streams. Each test's streams are deleted
when it ends, so the budget is never exceeded.
"""

from __future__ import annotations

import boto3
import pytest

from tests.services import Service, start_kinesalite


@pytest.fixture(scope="package")
def kinesalite(tmp_path_factory) -> Service:
    service = start_kinesalite(tmp_path_factory.mktemp("forwarder-kinesalite") / "data")
    yield service
    service.stop()


@pytest.fixture(autouse=True)
def _delete_streams_afterwards(request):
    """Delete the streams a test created (those of module-scoped fixtures stay)."""
    if "kinesalite" not in request.fixturenames:
        yield
        return
    service = request.getfixturevalue("kinesalite")
    kinesis = boto3.client("kinesis", endpoint_url=service.url, region_name="us-east-1")
    before = set(kinesis.list_streams()["StreamNames"])
    yield
    for name in set(kinesis.list_streams()["StreamNames"]) - before:
        kinesis.delete_stream(StreamName=name)
