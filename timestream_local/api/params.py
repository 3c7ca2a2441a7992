"""What every API handler shares: the call as handlers see it, parameter checks with AWS's length
limits and messages, and the NextToken paging of List* actions.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from timestream_local.exceptions import SerializationException, ValidationException

Params = dict[str, Any]

# AWS's length limits of the string parameters, checked before anything else reads them. ResourceARN:
# the Query API's 2048 (the Write API's is 1011); both APIs' tag actions share their names and this
# endpoint, and no resource here has an ARN longer than 1011 characters, so a Write API call with a
# longer one is still refused (ResourceNotFoundException instead of ValidationException).
_LENGTHS = {
    "DatabaseName": (3, 256), "TableName": (3, 256), "KmsKeyId": (1, 2048), "ResourceARN": (1, 2048),
    "QueryString": (1, 262_144), "QueryId": (1, 64), "NextToken": (1, 2048), "ClientToken": (32, 128),
    "ScheduledQueryArn": (1, 2048),
}  # fmt: skip


def parse_body(body: bytes) -> Params:
    """A request body as parameters; an empty body means no parameters."""
    if not body.strip():
        return {}
    try:
        params = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise SerializationException(f"The request body is not valid JSON: {error}") from error
    if not isinstance(params, dict):
        raise SerializationException("The request body must be a JSON object.")
    return params


class Call:
    """One request as a handler sees it: the body as received (WriteRecords logs it as is), its
    parameters (parsed on first use) and, for queries, the client connection's DuckDB cursor with
    the statements prepared on it (``statements()``, made on first use)."""

    __slots__ = ("_params", "body", "statements")

    def __init__(self, body: bytes, statements: Callable[[], Any] | None = None) -> None:
        self.body = body
        self.statements = statements
        self._params: Params | None = None

    @property
    def params(self) -> Params:
        if self._params is None:
            self._params = parse_body(self.body)
        return self._params


def string(params: Params, key: str, required: bool = True) -> str | None:
    """A string parameter within AWS's length limit for it; ValidationException otherwise."""
    value = params.get(key)
    if value is None:
        if required:
            raise ValidationException(
                f"1 validation error detected: Value null at '{key}' failed to satisfy "
                "constraint: Member must not be null"
            )
        return None
    if not isinstance(value, str):
        raise ValidationException(f"{key} must be a string.")
    low, high = _LENGTHS.get(key, (0, 2048))
    if not low <= len(value) <= high:
        raise ValidationException(
            f"1 validation error detected: Value at '{key[0].lower()}{key[1:]}' failed to satisfy constraint: "
            f"Member must have length between {low} and {high} (got {len(value)})"
        )
    return value


def page_args(params: Params, limit: int) -> tuple[int, int]:
    """Where a List* page starts (its NextToken) and how many items it holds (MaxResults)."""
    max_results = params.get("MaxResults")
    if max_results is None:
        max_results = limit
    if isinstance(max_results, bool) or not isinstance(max_results, int) or not 1 <= max_results <= limit:
        raise ValidationException(f"MaxResults must be an integer between 1 and {limit}.")
    token = string(params, "NextToken", required=False)
    start = 0
    if token is not None:
        try:
            start = int(base64.urlsafe_b64decode(str(token).encode()).decode())
        except (ValueError, binascii.Error, UnicodeDecodeError) as error:
            raise ValidationException("The NextToken is not valid.") from error
    return start, max_results


def page(items: list[Any], start: int, size: int) -> tuple[list[Any], str | None]:
    """The items of one page and the NextToken of the next one (None on the last page)."""
    chunk = items[start : start + size]
    token = None
    if start + size < len(items):
        token = base64.urlsafe_b64encode(str(start + size).encode()).decode()
    return chunk, token
