"""The HTTP front: AWS JSON 1.0 over POST /, routed by `X-Amz-Target: Timestream_20181101.<Action>`.

GET /health answers 200 {"status": "ok"}. With an access/secret key pair configured every POST must
carry a valid SigV4 signature made with it; without, any credentials are accepted.
"""

from __future__ import annotations

import itertools
import json
import logging
import socket
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from timestream_local.exceptions import (
    InternalServerException,
    TimestreamError,
    UnknownOperationException,
    ValidationException,
)
from timestream_local.responses import Backend
from timestream_local.sigv4 import SigV4Verifier

log = logging.getLogger("timestream_local.server")

TARGET_PREFIX = "Timestream_20181101."
CONTENT_TYPE = "application/x-amz-json-1.0"
MAX_BODY_BYTES = 8 * 1024 * 1024


class TimestreamHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    backend: Backend
    verifier: SigV4Verifier | None = None
    _request_ids = itertools.count(1)
    _request_prefix = uuid.uuid4().hex[:20]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request is not a server error: one debug line, no traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            log.debug("connection from %s ended: %s", client_address[0], error)
        else:
            log.exception("unexpected error on the connection from %s", client_address[0])

    def request_id(self) -> str:
        """A unique request id (uuid4 per request costs an urandom call; a counter does not)."""
        number = next(self._request_ids)
        text = f"{self._request_prefix}{number:012x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:32]}"


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "timestream_local"
    sys_version = ""
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024  # headers and body leave in one write
    timeout = 120  # an idle keep-alive connection is closed after this many seconds
    server: TimestreamHTTPServer

    def setup(self) -> None:
        super().setup()
        self._cursor: Any = None

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if self._cursor is not None:
                self._cursor.close()
                self._cursor = None

    def _cursor_factory(self) -> Any:
        if self._cursor is None:
            self._cursor = self.server.backend.store.cursor()
        return self._cursor

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Per-request lines are written by _send (with the action and timing)."""

    def _send(
        self,
        status: int,
        body: dict[str, Any],
        action: str = "-",
        started: float | None = None,
        note: str = "",
    ) -> None:
        payload = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", self.server.request_id())
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)
        if log.isEnabledFor(logging.DEBUG):
            elapsed = "" if started is None else f" in {(time.perf_counter() - started) * 1000:.1f} ms"
            log.debug("%s %s %s -> %d%s%s", self.command, self.path, action, status, elapsed, note)

    def _send_error(self, error: TimestreamError, action: str, started: float) -> None:
        body = error.body()
        body.setdefault("Message", error.message)
        self._send(error.status, body, action, started, f": {error.code}: {error.message[:300]}")

    def do_GET(self) -> None:
        started = time.perf_counter()
        if urlsplit(self.path).path == "/health":
            self._send(200, {"status": "ok"}, "health", started)
        else:
            self._send(
                404, {"__type": "NotFound", "message": "Only GET /health and POST / exist."}, "-", started
            )

    def _reject_method(self) -> None:
        started = time.perf_counter()
        self.close_connection = True
        error = UnknownOperationException(f"HTTP method {self.command} is not supported; use POST /.")
        self._send_error(error, "-", started)

    do_PUT = do_DELETE = do_PATCH = _reject_method

    def do_POST(self) -> None:
        started = time.perf_counter()
        target = self.headers.get("X-Amz-Target", "")
        action = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else (target or "-")
        try:
            body = self._read_body()
            if self.server.verifier is not None:
                split = urlsplit(self.path)
                self.server.verifier.verify("POST", split.path, split.query, dict(self.headers.items()), body)
            if not target.startswith(TARGET_PREFIX):
                raise UnknownOperationException(
                    f"Missing or unknown X-Amz-Target header '{target}'; expected {TARGET_PREFIX}<Action>."
                )
            result = self.server.backend.dispatch_body(action, body, self._cursor_factory)
        except TimestreamError as error:
            self._send_error(error, action, started)
            return
        except Exception:
            log.exception("internal error while handling %s", action)
            self._send_error(
                InternalServerException("Internal server error; see the server log."), action, started
            )
            return
        self._send(200, result, action, started)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise ValidationException("Chunked request bodies are not supported; send a Content-Length.")
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            return b""
        try:
            length = int(raw_length)
        except ValueError as error:
            self.close_connection = True
            raise ValidationException("The Content-Length header is not a number.") from error
        if length < 0:
            self.close_connection = True
            raise ValidationException("The Content-Length header is negative.")
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the unread body makes the connection unusable
            raise ValidationException(
                f"The request body is {length} bytes; the limit is {MAX_BODY_BYTES} bytes."
            )
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            raise ValidationException("The request body is shorter than its Content-Length.")
        return body


def make_server(
    host: str, port: int, backend_factory: Any, verifier: SigV4Verifier | None
) -> TimestreamHTTPServer:
    """Bind the server (raises OSError when the port is taken). backend_factory(address) -> Backend."""
    server_class = TimestreamHTTPServer
    if ":" in host:
        server_class = type(
            "TimestreamHTTPServer6", (TimestreamHTTPServer,), {"address_family": socket.AF_INET6}
        )
    server = server_class((host, port), RequestHandler)
    server.verifier = verifier
    bound_host, bound_port = server.server_address[:2]
    display_host = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    server.backend = backend_factory(f"{display_host}:{bound_port}")
    return server
