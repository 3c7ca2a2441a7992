"""Fixtures shared by the store's test modules."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

from tests.services import start_timestream_local


@pytest.fixture(scope="module")
def query(tmp_path_factory):
    """A timestream-query client on a store of the module's own (the language tests need no tables
    of the session's store, and a module's server keeps its caches to itself)."""
    service = start_timestream_local(tmp_path_factory.mktemp("query") / "data")
    client = boto3.client(
        "timestream-query", endpoint_url=service.url, region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}),
    )  # fmt: skip
    yield client
    service.stop()
