"""Settings, and connecting to Kinesis and Timestream with checks that fail in one sentence.

``connect(settings)`` builds the two signed clients (the same code for AWS and the local stack:
only the endpoints differ), then checks that the stream exists and is active and that the table
exists. Anything wrong becomes a ConfigError whose message says what to fix.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import boto3
from botocore.exceptions import BotoCoreError

from forwarder.awsjson import AwsError, AwsJsonClient, Endpoint
from forwarder.reader import KinesisApi


class ConfigError(Exception):
    """Bad configuration: the message is one sentence saying what to fix."""


@dataclass(frozen=True)
class Settings:
    stream: str
    database: str
    table: str
    region: str
    kinesis_endpoint_url: str | None = None
    timestream_endpoint_url: str | None = None
    checkpoint_dir: Path = Path("forwarder-state")
    dead_letter: Path | None = None  # default: <checkpoint_dir>/dead-letter.jsonl
    flush_interval: float = 1.0
    start_position: str = "TRIM_HORIZON"
    multi_measure_name: str | None = None
    writers: int = 2
    summary_interval: float = 5.0
    max_pending: int = 20_000
    get_records_limit: int = 5_000
    checkpoint_interval: float = 1.0
    shard_refresh_interval: float = 10.0

    @property
    def dead_letter_path(self) -> Path:
        return self.dead_letter or self.checkpoint_dir / "dead-letter.jsonl"


def _check_url(option: str, url: str | None) -> None:
    if url is None:
        return
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{option} {url!r} is not an http(s) URL such as http://127.0.0.1:4567")
    try:
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigError(f"{option} {url!r} has an invalid port") from None


def _not_aws(service: str, url: str, option: str, error: AwsError) -> ConfigError | None:
    if not error.code.startswith("HTTP"):
        return None
    return ConfigError(
        f"{url} answered HTTP {error.status} without an AWS error, so it is not {service}; check {option}"
    )


def _reachability(service: str, url: str, option: str, error: AwsError) -> ConfigError:
    detail = error.message or error.code
    return ConfigError(
        f"cannot reach {service} at {url} ({detail}); check {option} and that the service is running"
    )


@dataclass
class Connections:
    kinesis: KinesisApi
    timestream: AwsJsonClient
    kinesis_url: str
    stream_created: str  # the stream's creation time, to notice a stream created again


def connect(s: Settings) -> Connections:
    """Clients for the stream and the table, after checking both; ConfigError says what to fix."""
    _check_url("--kinesis-endpoint-url", s.kinesis_endpoint_url)
    _check_url("--timestream-endpoint-url", s.timestream_endpoint_url)
    try:
        session = boto3.Session(region_name=s.region)
        credentials = session.get_credentials()
    except BotoCoreError as error:
        raise ConfigError(f"cannot load AWS credentials ({error})") from None
    if credentials is None:
        raise ConfigError(
            "no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, "
            "or run with an instance role"
        )
    kinesis_url = s.kinesis_endpoint_url or session.client("kinesis").meta.endpoint_url
    connections = s.writers + 16
    kinesis = KinesisApi(
        AwsJsonClient(
            credentials=credentials,
            signing_name="kinesis",
            target_prefix="Kinesis_20131202",
            json_version="1.1",
            region=s.region,
            endpoint=Endpoint(kinesis_url),
            max_connections=connections,
        ),
        s.stream,
    )
    if s.timestream_endpoint_url:
        endpoint = Endpoint(s.timestream_endpoint_url)
    else:
        endpoint = Endpoint(discover=_discoverer(session))
    timestream = AwsJsonClient(
        credentials=credentials,
        signing_name="timestream",
        target_prefix="Timestream_20181101",
        json_version="1.0",
        region=s.region,
        endpoint=endpoint,
        max_connections=connections,
    )
    created = _check_stream(s, kinesis, kinesis_url)
    _check_table(s, timestream)
    return Connections(kinesis, timestream, kinesis_url, created)


def _discoverer(session: boto3.Session):
    """Timestream on AWS answers on per-account cell endpoints found with DescribeEndpoints."""

    def discover() -> tuple[str, float]:
        try:
            answer = session.client("timestream-write").describe_endpoints()
        except Exception as error:  # botocore raises many kinds here; all mean "try again"
            raise AwsError("NetworkError", f"Timestream endpoint discovery failed: {error}") from None
        endpoint = answer["Endpoints"][0]
        return f"https://{endpoint['Address']}", float(endpoint.get("CachePeriodInMinutes", 1)) * 60

    return discover


def _check_stream(s: Settings, kinesis: KinesisApi, url: str) -> str:
    deadline = time.monotonic() + 60
    while True:
        try:
            summary = kinesis.describe()
        except AwsError as error:
            if error.code == "ResourceNotFoundException":
                raise ConfigError(
                    f"Kinesis stream {s.stream!r} does not exist in {s.region} at {url}; create it or fix --stream"
                ) from None
            if error.network:
                raise _reachability("Kinesis", url, "--kinesis-endpoint-url", error) from None
            raise _not_aws("Kinesis", url, "--kinesis-endpoint-url", error) or ConfigError(
                f"Kinesis refused to describe stream {s.stream!r} ({error})"
            ) from None
        status = summary.get("StreamStatus")
        if status in ("ACTIVE", "UPDATING"):
            return str(summary.get("StreamCreationTimestamp", ""))
        if status == "DELETING":
            raise ConfigError(
                f"Kinesis stream {s.stream!r} is being deleted; create it again or fix --stream"
            )
        if time.monotonic() > deadline:
            raise ConfigError(f"Kinesis stream {s.stream!r} is still {status} after 60 s; try again later")
        time.sleep(0.5)


def _check_table(s: Settings, timestream: AwsJsonClient) -> None:
    try:
        timestream.call("DescribeTable", {"DatabaseName": s.database, "TableName": s.table})
    except AwsError as error:
        url = s.timestream_endpoint_url or "the discovered Timestream endpoint"
        if error.code == "ResourceNotFoundException":
            raise ConfigError(
                f"Timestream table {s.database}.{s.table} does not exist ({error.message}); "
                "create it or fix --database/--table"
            ) from None
        if error.network:
            raise _reachability("Timestream", url, "--timestream-endpoint-url", error) from None
        not_timestream = _not_aws("Timestream", url, "--timestream-endpoint-url", error)
        if not_timestream is not None:
            raise not_timestream from None
        if error.code == "AccessDeniedException":
            raise ConfigError(
                f"Timestream denied access to {s.database}.{s.table} ({error.message}); note that "
                "Timestream for LiveAnalytics takes no new customers, so use the local store there"
            ) from None
        raise ConfigError(f"Timestream refused to describe {s.database}.{s.table} ({error})") from None
