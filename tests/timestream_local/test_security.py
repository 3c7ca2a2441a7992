"""SigV4 verification on/off, hostile or broken input, and configuration errors at start."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

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


def _client(service, service_name="timestream-write", key="AKIDLOCAL", secret="s3cr3t", region="us-east-1"):  # noqa: S107
    return boto3.client(
        service_name,
        endpoint_url=service.url,
        region_name=region,
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
    assert query.describe_endpoints()["Endpoints"][0]["Address"] == f"http://127.0.0.1:{secured.port}"


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


class _PartialSigV4(SigV4Auth):
    """botocore's own SigV4 signer, leaving the named headers out of SignedHeaders."""

    def __init__(self, *args, leave_out: tuple[str, ...] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.leave_out = leave_out

    def headers_to_sign(self, request):
        headers = super().headers_to_sign(request)
        for name in self.leave_out:
            del headers[name]
        return headers


def _signed_post(
    service,
    action: str,
    body: dict,
    *,
    signing_name: str = "timestream",
    region: str = "us-east-1",
    leave_out: tuple[str, ...] = (),
    unsigned_payload: bool = False,
    send_as: str | None = None,
    send_body: dict | None = None,
):
    """Sign `action` with `body` as a client would, then send it (as `send_as`, with `send_body`)."""
    data = json.dumps(body).encode()
    request = AWSRequest(
        method="POST",
        url=f"{service.url}/",
        data=data,
        headers={"X-Amz-Target": TARGET + action, "Content-Type": "application/x-amz-json-1.0"},
    )
    if unsigned_payload:  # botocore then signs "UNSIGNED-PAYLOAD" instead of the body's hash
        request.context["payload_signing_enabled"] = False
    signer = _PartialSigV4(Credentials("AKIDLOCAL", "s3cr3t"), signing_name, region, leave_out=leave_out)
    signer.add_auth(request)
    headers = dict(request.headers.items())
    if send_as is not None:
        headers["X-Amz-Target"] = TARGET + send_as
    return _post(service, json.dumps(send_body).encode() if send_body is not None else data, headers)


def _database_names(service) -> list[str]:
    return [db["DatabaseName"] for db in _client(service).list_databases()["Databases"]]


@pytest.mark.parametrize(
    ("signing_name", "region", "message"),
    [
        ("timestream", "eu-west-1", "Credential should be scoped to a valid region, not 'eu-west-1'"),
        ("timestream", "us-east-2", "Credential should be scoped to a valid region, not 'us-east-2'"),
        ("s3", "us-east-1", "Credential should be scoped to correct service: 'timestream', not 's3'"),
        ("dynamodb", "eu-west-1", "Credential should be scoped to correct service: 'timestream'"),
    ],
)
def test_signatures_scoped_to_another_region_or_service_are_denied(secured, signing_name, region, message):
    name = f"scope_{signing_name}_{region.replace('-', '_')}"
    status, answer = _signed_post(
        secured, "CreateDatabase", {"DatabaseName": name}, signing_name=signing_name, region=region
    )
    assert (status, answer["__type"]) == (400, "AccessDeniedException")
    assert answer["message"].startswith(message)
    assert name not in _database_names(secured)
    # the same request signed for the server's scope is accepted
    status, answer = _signed_post(secured, "CreateDatabase", {"DatabaseName": name})
    assert status == 200 and answer["Database"]["DatabaseName"] == name


def test_boto3_clients_of_another_region_are_denied_and_the_message_names_both_regions(secured):
    for service_name in ("timestream-write", "timestream-query"):
        client = _client(secured, service_name, region="eu-west-1")
        with pytest.raises(client.exceptions.AccessDeniedException) as error:
            client.describe_endpoints()
        assert error.value.response["Error"]["Message"] == (
            "Credential should be scoped to a valid region, not 'eu-west-1' "
            "(this server's region is 'us-east-1')."
        )


def test_a_server_started_with_region_accepts_that_region_only(tmp_path):
    service = start_timestream_local(
        tmp_path / "eu",
        extra_args=["--access-key", "AKIDLOCAL", "--secret-key", "s3cr3t", "--region", "eu-west-1"],
    )
    try:
        write = _client(service, region="eu-west-1")
        arn = write.create_database(DatabaseName="eudb")["Database"]["Arn"]
        assert arn.startswith("arn:aws:timestream:eu-west-1:")
        query = _client(service, "timestream-query", region="eu-west-1")
        assert query.describe_endpoints()["Endpoints"][0]["Address"] == f"http://127.0.0.1:{service.port}"
        status, answer = _signed_post(
            service, "DescribeDatabase", {"DatabaseName": "eudb"}, region="us-east-1"
        )
        assert (status, answer["__type"]) == (400, "AccessDeniedException")
        assert answer["message"].startswith("Credential should be scoped to a valid region, not 'us-east-1'")
        assert "SigV4 verified for access key AKIDLOCAL in region eu-west-1" in service.log()
    finally:
        service.stop()


def test_a_signature_that_does_not_cover_the_operation_cannot_be_replayed_as_another(secured):
    _client(secured).create_database(DatabaseName="replaydb")
    signed = {"DatabaseName": "replayed"}
    # signed without X-Amz-Target, sent as the harmless DescribeDatabase...
    status, answer = _signed_post(secured, "DescribeDatabase", signed, leave_out=("x-amz-target",))
    assert (status, answer["__type"]) == (400, "AccessDeniedException")
    assert answer["message"] == (
        "The signature must cover the host, x-amz-date, x-amz-target headers; SignedHeaders lacks x-amz-target."
    )
    # ...and replayed as CreateDatabase: refused, nothing created
    status, answer = _signed_post(
        secured, "DescribeDatabase", signed, leave_out=("x-amz-target",), send_as="CreateDatabase"
    )
    assert (status, answer["__type"]) == (400, "AccessDeniedException")
    assert "SignedHeaders lacks x-amz-target" in answer["message"]
    assert "replayed" not in _database_names(secured)
    # with the operation signed, changing it breaks the signature
    status, answer = _signed_post(secured, "DescribeDatabase", {"DatabaseName": "replaydb"})
    assert status == 200 and answer["Database"]["DatabaseName"] == "replaydb"
    status, answer = _signed_post(secured, "DescribeDatabase", signed, send_as="CreateDatabase")
    assert (status, answer["__type"]) == (400, "AccessDeniedException")
    assert "signature we calculated does not match" in answer["message"]
    assert "replayed" not in _database_names(secured)


@pytest.mark.parametrize(
    ("leave_out", "lacking"),
    [
        (("x-amz-date",), "x-amz-date"),
        (("host",), "host"),
        (("host", "x-amz-date", "x-amz-target"), "host, x-amz-date, x-amz-target"),
    ],
)
def test_host_and_date_must_be_signed(secured, leave_out, lacking):
    status, answer = _signed_post(
        secured, "CreateDatabase", {"DatabaseName": "unsigned_hdr"}, leave_out=leave_out
    )
    assert (status, answer["__type"]) == (400, "AccessDeniedException")
    assert answer["message"].endswith(f"SignedHeaders lacks {lacking}.")
    assert "unsigned_hdr" not in _database_names(secured)


def test_an_unsigned_payload_cannot_carry_an_unsigned_body(secured):
    """botocore signs "UNSIGNED-PAYLOAD" when payload signing is off: the body is then not covered,
    so a captured request could carry any body. The server refuses such a signature."""
    status, answer = _signed_post(
        secured,
        "CreateDatabase",
        {"DatabaseName": "harmless"},
        unsigned_payload=True,
        send_body={"DatabaseName": "smuggled"},
    )
    assert (status, answer["__type"]) == (400, "AccessDeniedException")
    assert answer["message"] == (
        "x-amz-content-sha256 UNSIGNED-PAYLOAD is not accepted: the signature must cover the request body "
        "(sign with its SHA-256 hash)."
    )
    status, answer = _signed_post(
        secured, "CreateDatabase", {"DatabaseName": "harmless"}, unsigned_payload=True
    )
    assert (status, answer["__type"]) == (400, "AccessDeniedException")
    assert not {"harmless", "smuggled"} & set(_database_names(secured))


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
        assert client.describe_endpoints()["Endpoints"][0]["Address"] == f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_help_works():
    result = _serve("--help")
    assert result.returncode == 0
    assert "--tier-interval" in result.stdout and "--access-key" in result.stdout
