"""The command line: --help, and bad configuration ending with one clear sentence (no traceback)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.forwarder.helpers import create_stream, create_table, unique
from tests.services import ROOT, free_port


def run_forwarder(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "forwarder", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_help_explains_every_option():
    result = run_forwarder("--help")
    assert result.returncode == 0
    for option in (
        "--stream", "--database", "--table", "--region", "--kinesis-endpoint-url", "--timestream-endpoint-url",
        "--checkpoint-dir", "--dead-letter", "--flush-interval", "--start-position", "--multi-measure",
        "--writers", "--max-pending", "--summary-interval", "TRIM_HORIZON", "LATEST", "SIGTERM", "MeasureValueType",
    ):  # fmt: skip
        assert option in result.stdout, option


@pytest.fixture(scope="module")
def resources(kinesalite, timestream_local):
    import boto3

    kinesis = boto3.client("kinesis", endpoint_url=kinesalite.url, region_name="us-east-1")
    write = boto3.client("timestream-write", endpoint_url=timestream_local.url, region_name="us-east-1")
    stream, table = unique("cli"), unique("pm25").replace("-", "_")
    create_stream(kinesis, stream, 1)
    create_table(write, table)
    return stream, table


def config(kinesalite, timestream_local, tmp_path, stream: str, table: str, **override: str) -> list[str]:
    options = {
        "--stream": stream,
        "--database": "iot",
        "--table": table,
        "--region": "us-east-1",
        "--kinesis-endpoint-url": kinesalite.url,
        "--timestream-endpoint-url": timestream_local.url,
        "--checkpoint-dir": str(tmp_path / "checkpoints"),
    }
    options.update(override)
    return [part for option, value in options.items() for part in (option, value)]


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            {"--stream": "no-such-stream"},
            "forwarder: Kinesis stream 'no-such-stream' does not exist in us-east-1 at {kinesis}; "
            "create it or fix --stream",
        ),
        (
            {"--table": "no_such_table"},
            "forwarder: Timestream table iot.no_such_table does not exist (",
        ),
        (
            {"--database": "no_such_db"},
            "forwarder: Timestream table no_such_db.{table} does not exist (",
        ),
        (
            {"--kinesis-endpoint-url": "CLOSED"},
            "forwarder: cannot reach Kinesis at CLOSED (Connection refused); check --kinesis-endpoint-url "
            "and that the service is running",
        ),
        (
            {"--timestream-endpoint-url": "CLOSED"},
            "forwarder: cannot reach Timestream at CLOSED (Connection refused); check --timestream-endpoint-url "
            "and that the service is running",
        ),
        (
            {"--kinesis-endpoint-url": "127.0.0.1:4567"},
            "forwarder: --kinesis-endpoint-url '127.0.0.1:4567' is not an http(s) URL such as http://127.0.0.1:4567",
        ),
        (
            {"--checkpoint-dir": "FILE"},
            "forwarder: cannot keep checkpoints in FILE: ",
        ),
        (
            {"--dead-letter": "DIR"},
            "forwarder: cannot write the dead-letter file DIR: ",
        ),
    ],
    ids=[
        "missing-stream",
        "missing-table",
        "missing-database",
        "kinesis-down",
        "timestream-down",
        "not-a-url",
        "checkpoint-dir-is-a-file",
        "dead-letter-is-a-folder",
    ],
)
def test_bad_configuration_ends_with_one_clear_sentence(
    override, message, kinesalite, timestream_local, resources, tmp_path
):
    stream, table = resources
    closed = closed_port_url()
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    substitutions = {"CLOSED": closed, "FILE": str(a_file), "DIR": str(tmp_path)}
    override = {key: substitutions.get(value, value) for key, value in override.items()}
    expected = message.format(kinesis=kinesalite.url, table=table)
    for placeholder, value in substitutions.items():
        expected = expected.replace(placeholder, value)
    result = run_forwarder(*config(kinesalite, timestream_local, tmp_path, stream, table, **override))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(expected), lines[0]
    assert "Traceback" not in result.stderr


def test_a_missing_required_option_is_named():
    result = run_forwarder("--database", "iot", "--table", "pm25", "--region", "us-east-1")
    assert result.returncode == 2
    assert "the following arguments are required: --stream" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_flush_interval_must_be_positive():
    result = run_forwarder("--stream", "s", "--database", "iot", "--table", "t", "--flush-interval", "0")
    assert result.returncode == 2
    assert "argument --flush-interval: '0' must be greater than 0" in result.stderr
