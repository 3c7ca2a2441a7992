"""AWS JSON error answers -> AwsError with the right code and retry class."""

from __future__ import annotations

import socket

import pytest
from botocore.credentials import Credentials

from forwarder.awsjson import AwsError, AwsJsonClient, Endpoint, _error_from
from tests.services import free_port


def test_error_codes_are_read_from_the_body_or_the_header():
    error = _error_from(
        400, b'{"__type":"com.amazonaws.timestream.v20181101#ValidationException","message":"bad"}', {}
    )
    assert (error.code, error.message, error.status) == ("ValidationException", "bad", 400)
    error = _error_from(
        400, b'{"Message":"Rate exceeded"}', {"x-amzn-ErrorType": "ThrottlingException:http://x"}
    )
    assert (error.code, error.message) == ("ThrottlingException", "Rate exceeded")
    error = _error_from(502, b"<html>Bad Gateway</html>", {})
    assert (error.code, error.message) == ("HTTP502", "<html>Bad Gateway</html>")


def test_throttling_server_and_network_errors_are_retried_record_problems_are_not():
    assert AwsError("ThrottlingException", "", 400).retryable
    assert AwsError("ProvisionedThroughputExceededException", "", 400).retryable
    assert AwsError("InternalServerException", "", 500).retryable
    assert AwsError("HTTP503", "", 503).retryable
    assert AwsError("NetworkError", "Connection refused").retryable
    assert not AwsError("ValidationException", "", 400).retryable
    assert not AwsError("RejectedRecordsException", "", 419).retryable
    assert not AwsError("ResourceNotFoundException", "", 400).retryable


def _client(url: str, read_timeout: float) -> AwsJsonClient:
    return AwsJsonClient(
        credentials=Credentials("local", "local-secret"),
        signing_name="timestream",
        target_prefix="Timestream_20181101",
        json_version="1.0",
        region="us-east-1",
        endpoint=Endpoint(url),
        read_timeout=read_timeout,
    )


def test_no_answer_in_time_is_told_apart_from_no_connection():
    """A read timeout (the request went out, a record may be to blame) versus a refused connection
    (the store is down): both are network errors, only the first is marked timed_out."""
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = _client(f"http://127.0.0.1:{silent.getsockname()[1]}", read_timeout=0.3)
        with pytest.raises(AwsError) as waited:
            client.call("WriteRecords", {})
    assert (waited.value.code, waited.value.timed_out) == ("NetworkError", True)
    assert waited.value.message.startswith("Read timeout on endpoint URL")

    client = _client(f"http://127.0.0.1:{free_port()}", read_timeout=0.3)
    with pytest.raises(AwsError) as refused:
        client.call("WriteRecords", {})
    assert (refused.value.code, refused.value.message, refused.value.timed_out) == (
        "NetworkError",
        "Connection refused",
        False,
    )
