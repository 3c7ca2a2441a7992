"""A small client for AWS JSON-protocol APIs (Kinesis, Timestream Write), signed with SigV4.

botocore's generic response parser costs about 60 us per Kinesis record, more than everything
else the forwarder does per record together, so the forwarder speaks the JSON protocol itself:
botocore still supplies the credentials (environment, profile, instance role), the SigV4 signer
and the HTTP connection pool, and the same code serves AWS and the local stack. Only the endpoint
differs.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError, HTTPClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.httpsession import URLLib3Session

# Error codes that mean "try again later", whatever the HTTP status says.
RETRYABLE_CODES = frozenset(
    {
        "NetworkError",
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "InternalServerException",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "KMSThrottlingException",
        "InvalidEndpointException",
        "ExpiredTokenException",
    }
)


class AwsError(Exception):
    """An error answer (or no answer) from an AWS API."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 0,
        body: dict[str, Any] | None = None,
        *,
        timed_out: bool = False,
    ) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.status = status
        self.body = body or {}
        self.timed_out = timed_out  # sent, but no answer within the read timeout

    @property
    def retryable(self) -> bool:
        """Throttling, server-side and network trouble; a 4xx answer with another code is final."""
        return self.code in RETRYABLE_CODES or not 400 <= self.status < 500

    @property
    def network(self) -> bool:
        return self.code == "NetworkError"


def _error_from(status: int, content: bytes, headers: Any) -> AwsError:
    try:
        body = json.loads(content) if content else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("__type") or headers.get("x-amzn-ErrorType") or f"HTTP{status}")
    code = code.rsplit("#", 1)[-1].split(":", 1)[0]
    message = str(body.get("message") or body.get("Message") or content[:200].decode("utf-8", "replace"))
    return AwsError(code, message, status, body)


def _network_reason(error: BotoCoreError) -> str:
    """A short cause ("Connection refused", "Read timeout ...") instead of botocore's object dump."""
    cause = str(getattr(error, "kwargs", {}).get("error") or "")
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", cause)
    if found:
        return found.group(1).strip()
    return str(error)


class Endpoint:
    """Where requests go: a fixed URL, or one discovered (and re-discovered when it expires)."""

    def __init__(
        self, url: str | None = None, discover: Callable[[], tuple[str, float]] | None = None
    ) -> None:
        if (url is None) == (discover is None):
            raise ValueError("give exactly one of url and discover")
        self._url = url
        self._discover = discover
        self._expires = 0.0
        self._lock = threading.Lock()

    def url(self) -> str:
        if self._discover is None:
            return self._url or ""
        with self._lock:
            if self._url is None or time.monotonic() >= self._expires:
                url, ttl = self._discover()
                self._url, self._expires = url, time.monotonic() + ttl
            return self._url

    def invalidate(self) -> None:
        if self._discover is not None:
            with self._lock:
                self._expires = 0.0


class AwsJsonClient:
    """``call("GetRecords", {...})`` -> the decoded JSON answer, or AwsError."""

    def __init__(
        self,
        *,
        credentials: Any,
        signing_name: str,
        target_prefix: str,
        json_version: str,
        region: str,
        endpoint: Endpoint,
        max_connections: int = 10,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
    ) -> None:
        self._credentials = credentials
        self._signing_name = signing_name
        self._target_prefix = target_prefix
        self._content_type = f"application/x-amz-json-{json_version}"
        self._region = region
        self.endpoint = endpoint
        # botocore opens sockets without TCP_NODELAY: a request's headers and body then leave as two
        # packets and the second waits for the server's delayed ACK (40 ms per call on Linux).
        self._http = URLLib3Session(
            timeout=(connect_timeout, read_timeout),
            max_pool_connections=max_connections,
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )

    def call(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(payload, separators=(",", ":")).encode()
        try:
            url = self.endpoint.url()
            request = AWSRequest(
                method="POST",
                url=url.rstrip("/") + "/",
                data=body,
                headers={
                    "Content-Type": self._content_type,
                    "X-Amz-Target": f"{self._target_prefix}.{operation}",
                },
            )
            SigV4Auth(self._credentials.get_frozen_credentials(), self._signing_name, self._region).add_auth(
                request
            )
            response = self._http.send(request.prepare())
        except ReadTimeoutError as error:  # the request went out; the answer did not come in time
            raise AwsError("NetworkError", _network_reason(error), timed_out=True) from None
        except (HTTPClientError, BotoConnectionError) as error:  # refused, reset, DNS...
            raise AwsError("NetworkError", _network_reason(error)) from None
        except AwsError:
            raise
        except BotoCoreError as error:  # e.g. credentials that cannot be refreshed
            raise AwsError("ClientError", str(error)) from None
        content = response.content
        if response.status_code != 200:
            error = _error_from(response.status_code, content, response.headers)
            if error.code == "InvalidEndpointException":
                self.endpoint.invalidate()
            raise error
        try:
            answer = json.loads(content) if content else {}
        except ValueError:
            raise AwsError(
                "InvalidResponse", f"{operation} answered with something that is not JSON", 200
            ) from None
        if not isinstance(answer, dict):
            raise AwsError("InvalidResponse", f"{operation} answered with JSON that is not an object", 200)
        return answer

    def close(self) -> None:
        self._http.close()
