"""Shared fixtures: real local services, started once per test session."""

from __future__ import annotations

import os

import boto3
import botocore.config
import pytest

from tests.services import (
    LOCAL_CREDENTIALS,
    Service,
    start_kinesalite,
    start_moto,
    start_timestream_local,
)


@pytest.fixture(autouse=True, scope="session")
def _local_credentials():
    """Every boto3 client in the tests talks to local services with throwaway credentials."""
    saved = {key: os.environ.get(key) for key in LOCAL_CREDENTIALS}
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ.pop("AWS_PROFILE", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def kinesalite(tmp_path_factory) -> Service:
    service = start_kinesalite(tmp_path_factory.mktemp("kinesalite") / "data")
    yield service
    service.stop()


@pytest.fixture(scope="session")
def timestream_local(tmp_path_factory) -> Service:
    service = start_timestream_local(tmp_path_factory.mktemp("timestream") / "data")
    yield service
    service.stop()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory) -> Service:
    """moto in server mode: AWS's control plane (CloudFormation, EC2, IAM, SSM) and S3."""
    try:
        moto = start_moto(tmp_path_factory.mktemp("moto"))
    except RuntimeError as error:
        pytest.fail(str(error))
    yield moto
    moto.stop()


def s3_client(moto: Service):
    """A boto3 S3 client on moto's server (path-style addressing, as the store uses)."""
    return boto3.client(
        "s3",
        endpoint_url=moto.url,
        region_name="us-east-1",
        config=botocore.config.Config(s3={"addressing_style": "path"}),
    )


@pytest.fixture
def kinesis_client(kinesalite):
    return boto3.client("kinesis", endpoint_url=kinesalite.url, region_name="us-east-1")


@pytest.fixture
def timestream_write(timestream_local):
    return boto3.client("timestream-write", endpoint_url=timestream_local.url, region_name="us-east-1")


@pytest.fixture
def timestream_query(timestream_local):
    return boto3.client("timestream-query", endpoint_url=timestream_local.url, region_name="us-east-1")
