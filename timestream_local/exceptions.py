"""Errors in AWS's shape: each carries the error code Timestream uses and an HTTP status.

The HTTP layer turns one into ``{"__type": code, "message": message}`` (AWS JSON 1.0).
"""

from __future__ import annotations

from typing import Any


class TimestreamError(Exception):
    code = "InternalServerException"
    status = 500

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra  # additional top-level fields of the error body (e.g. RejectedRecords)

    def body(self) -> dict[str, Any]:
        return {"__type": self.code, "message": self.message, **self.extra}


class ValidationException(TimestreamError):
    code = "ValidationException"
    status = 400


class ResourceNotFoundException(TimestreamError):
    code = "ResourceNotFoundException"
    status = 400


class ConflictException(TimestreamError):
    code = "ConflictException"
    status = 400


class RejectedRecordsException(TimestreamError):
    code = "RejectedRecordsException"
    status = 419


class AccessDeniedException(TimestreamError):
    code = "AccessDeniedException"
    status = 400  # AWS's API reference lists HTTP 400 for Timestream's AccessDeniedException


class ServiceQuotaExceededException(TimestreamError):
    code = "ServiceQuotaExceededException"
    status = 402


class InvalidEndpointException(TimestreamError):
    code = "InvalidEndpointException"
    status = 421


class UnknownOperationException(TimestreamError):
    code = "UnknownOperationException"
    status = 400


class InternalServerException(TimestreamError):
    code = "InternalServerException"
    status = 500


class QueryExecutionException(TimestreamError):
    """A query that ran but failed at run time (e.g. it hit the query timeout or was cancelled)."""

    code = "QueryExecutionException"
    status = 400


class ThrottlingException(TimestreamError):
    code = "ThrottlingException"
    status = 400


class SerializationException(TimestreamError):
    """The request body is not valid JSON (what AWS JSON 1.0 services answer for a malformed body)."""

    code = "SerializationException"
    status = 400
