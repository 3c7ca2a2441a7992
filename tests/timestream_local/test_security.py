"""SigV4 verification on/off, hostile or broken input, and configuration errors at start."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys

import boto3
import pytest
from botocore.config import Config

from tests.services import ROOT, announced_port, start_timestream_local

TARGET = "Timestream_20181101."


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    service = start_timestream_local(
        tmp_path_factory.mktemp("secured") / "data",
        extra_args=["--access-key", "AKIDLOCAL", "--secret-key", "s3cr3t"],
    )
    yield service
    service.stop()


def _client(service, service_name="timestream-write", key="AKIDLOCAL", secret="s3cr3t"):  # noqa: S107
    return boto3.client(
        service_name,
        endpoint_url=service.url,
        region_name="eu-west-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def _post(service, body: bytes, headers: dict[str, str] | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    try:
        connection.request("POST", "/", body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def test_signed_requests_with_the_right_keys_work(secured):
    write = _client(secured)
    write.create_database(DatabaseName="securedb")
    assert write.describe_database(DatabaseName="securedb")["Database"]["DatabaseName"] == "securedb"
    query = _client(secured, "timestream-query")
    assert query.describe_endpoints()["Endpoints"][0]["Address"] == f"127.0.0.1:{secured.port}"


@pytest.mark.parametrize(
    ("key", "secret", "fragment"),
    [
        ("AKIDLOCAL", "wrong", "signature we calculated does not match"),
        ("SOMEONEELSE", "s3cr3t", "security token included in the request is invalid"),
    ],
)
def test_wrong_credentials_are_denied(secured, key, secret, fragment):
    client = _client(secured, key=key, secret=secret)
    with pytest.raises(client.exceptions.AccessDeniedException) as error:
        client.list_databases()
    assert fragment in error.value.response["Error"]["Message"]
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unsigned_and_tampered_requests_are_denied(secured):
    status, body = _post(secured, b"{}", {"X-Amz-Target": TARGET + "ListDatabases"})
    assert (status, body["__type"]) == (400, "AccessDeniedException")
    assert "not signed" in body["message"]

    # sign a request, then change its body: the signature no longer matches
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(
        method="POST",
        url=f"{secured.url}/",
        data=b'{"DatabaseName": "securedb"}',
        headers={"X-Amz-Target": TARGET + "DescribeDatabase", "Content-Type": "application/x-amz-json-1.0"},
    )
    SigV4Auth(Credentials("AKIDLOCAL", "s3cr3t"), "timestream", "us-east-1").add_auth(request)
    headers = dict(request.headers.items())
    status, body = _post(secured, request.body, headers)
    assert status == 200 and body["Database"]["DatabaseName"] == "securedb"
    status, body = _post(secured, b'{"DatabaseName": "otherdb"}', headers)
    assert (status, body["__type"]) == (400, "AccessDeniedException")


def _raw_signed_post(service, header_lines: list[tuple[str, str]], body: bytes) -> tuple[bytes, dict]:
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as sock:
        head = "".join(f"{name}: {value}\r\n" for name, value in header_lines)
        sock.sendall(
            f"POST / HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head_bytes, _, payload = reply.partition(b"\r\n\r\n")
    return head_bytes.split(b"\r\n")[0], json.loads(payload)


def test_signatures_verify_with_header_names_in_any_case_and_repeated_headers(secured):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = b'{"DatabaseName": "securedb"}'
    request = AWSRequest(
        method="POST",
        url=f"{secured.url}/",
        data=body,
        headers={"X-Amz-Target": TARGET + "DescribeDatabase", "Content-Type": "application/x-amz-json-1.0"},
    )
    request.headers["X-Amz-Meta-Tag"] = "one"  # a repeated header: SigV4 signs its values joined by ","
    request.headers["X-Amz-Meta-Tag"] = "two"
    SigV4Auth(Credentials("AKIDLOCAL", "s3cr3t"), "timestream", "us-east-1").add_auth(request)
    signed = [("Host", f"127.0.0.1:{secured.port}"), *request.headers.items()]

    def odd_case(name: str) -> str:
        return "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(name))

    for lines in (signed, [(odd_case(name), value) for name, value in signed]):
        status_line, answer = _raw_signed_post(secured, lines, body)
        assert status_line == b"HTTP/1.1 200 OK", answer
        assert answer["Database"]["DatabaseName"] == "securedb"
    # a repeated value changed (or dropped) breaks the signature
    for lines in (
        [(n, "three" if v == "two" else v) for n, v in signed],
        [(n, v) for n, v in signed if v != "two"],
    ):
        status_line, answer = _raw_signed_post(secured, lines, body)
        assert (status_line, answer["__type"]) == (b"HTTP/1.1 400 Bad Request", "AccessDeniedException")


def test_without_keys_any_credentials_are_accepted_and_the_log_says_so(timestream_local):
    client = _client(timestream_local, key="anything", secret="whatever")
    assert "Databases" in client.list_databases()
    assert "any credentials accepted" in timestream_local.log()


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"{not json", {"X-Amz-Target": TARGET + "ListDatabases"}, 400, "SerializationException"),
        (b"[1, 2]", {"X-Amz-Target": TARGET + "ListDatabases"}, 400, "SerializationException"),
        (b"{}", {"X-Amz-Target": TARGET + "DropEverything"}, 400, "UnknownOperationException"),
        (b"{}", {}, 400, "UnknownOperationException"),
        (b'{"DatabaseName": 5}', {"X-Amz-Target": TARGET + "DescribeDatabase"}, 400, "ValidationException"),
        (
            b'{"DatabaseName": "x", "TableName": "y", "Records": "many"}',
            {"X-Amz-Target": TARGET + "WriteRecords"},
            400,
            "ValidationException",
        ),
        (b'{"QueryString": ["SELECT 1"]}', {"X-Amz-Target": TARGET + "Query"}, 400, "ValidationException"),
        (b'{"MaxResults": 50}', {"X-Amz-Target": TARGET + "ListDatabases"}, 400, "ValidationException"),
        (
            b"[" * 100_000 + b"]" * 100_000,
            {"X-Amz-Target": TARGET + "ListDatabases"},
            400,
            "SerializationException",
        ),
    ],
)
def test_bad_input_gets_an_aws_error(timestream_local, body, headers, status, code):
    got_status, got = _post(timestream_local, body, headers)
    assert (got_status, got["__type"]) == (status, code)
    assert got["message"]


def test_wrongly_typed_write_records_are_rejected_per_record(timestream_local, timestream_write):
    timestream_write.create_database(DatabaseName="typesdb")
    timestream_write.create_table(DatabaseName="typesdb", TableName="t1x")
    body = json.dumps(
        {
            "DatabaseName": "typesdb",
            "TableName": "t1x",
            "Records": [
                {"MeasureName": "m", "MeasureValue": 5, "Time": "1"},
                {"MeasureName": "m", "MeasureValue": "5", "Time": 1700000000000},
                {"MeasureName": ["m"], "MeasureValue": "5", "Time": "1"},
                {"Dimensions": "city", "MeasureName": "m", "MeasureValue": "5", "Time": "1"},
            ],
        }
    ).encode()
    status, got = _post(timestream_local, body, {"X-Amz-Target": TARGET + "WriteRecords"})
    assert (status, got["__type"]) == (419, "RejectedRecordsException")
    assert [r["RecordIndex"] for r in got["RejectedRecords"]] == [0, 1, 2, 3]


def test_oversized_body_is_refused_without_reading_it(timestream_local):
    with socket.create_connection(("127.0.0.1", timestream_local.port), timeout=10) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: Timestream_20181101.ListDatabases\r\n"
            b"Content-Length: 999999999\r\n\r\n{"
        )
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, payload = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"limit is" in payload
    # the server is still healthy
    status, body = _post(timestream_local, b"{}", {"X-Amz-Target": TARGET + "ListDatabases"})
    assert status == 200 and "Databases" in body


def test_health_and_unknown_paths(timestream_local):
    connection = http.client.HTTPConnection("127.0.0.1", timestream_local.port, timeout=10)
    connection.request("GET", "/health")
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())) == (200, {"status": "ok"})
    connection.request("GET", "/elsewhere")
    response = connection.getresponse()
    assert response.status == 404
    response.read()
    connection.close()


def _serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "timestream_local", "serve", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_bad_configuration_stops_with_one_sentence(timestream_local, tmp_path):
    taken = _serve("--port", str(timestream_local.port), "--data-dir", str(tmp_path / "a"))
    assert taken.returncode == 2
    assert taken.stderr.strip().endswith("is already in use; choose another --port.")
    assert "Traceback" not in taken.stderr

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    unwritable = _serve("--port", "1", "--data-dir", str(blocker / "sub"))
    assert unwritable.returncode == 2
    assert "cannot write to the data directory" in unwritable.stderr
    assert len(unwritable.stderr.strip().splitlines()) == 1

    half = _serve("--access-key", "only-the-key", "--data-dir", str(tmp_path / "b"))
    assert half.returncode == 2
    assert "give both --access-key and --secret-key" in half.stderr

    busy = _serve("--port", "1", "--data-dir", str(timestream_local.data_dir))
    assert busy.returncode == 2
    assert "in use by another timestream_local process" in busy.stderr

    for port in ("65536", "-1"):
        out_of_range = _serve("--port", port, "--data-dir", str(tmp_path / "c"))
        assert out_of_range.returncode == 2
        assert out_of_range.stderr.strip() == (
            f"timestream_local: --port {port} is not a TCP port number (1-65535, or 0 for any free port)."
        )


def test_port_zero_listens_on_a_free_port_and_names_it(tmp_path):
    """--port 0: the port the log line names is the one that answers, and DescribeEndpoints gives
    that port, not 0."""
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "timestream_local", "serve", "--port", "0", "--data-dir", str(tmp_path / "d")],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        port = announced_port(process, log_path, "timestream_local")
        assert port > 0
        client = boto3.client(
            "timestream-query", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
            aws_access_key_id="any", aws_secret_access_key="any",
        )  # fmt: skip
        assert client.describe_endpoints()["Endpoints"][0]["Address"] == f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_help_works():
    result = _serve("--help")
    assert result.returncode == 0
    assert "--tier-interval" in result.stdout and "--access-key" in result.stdout
