"""AWS JSON error answers -> AwsError with the right code and retry class."""

from __future__ import annotations

from forwarder.awsjson import AwsError, _error_from


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
