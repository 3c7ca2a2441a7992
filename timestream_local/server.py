"""The HTTP front: AWS JSON 1.0 over POST /; each request goes to urls.Router, which routes it by
`X-Amz-Target: Timestream_20181101.<Action>` to its API's handler.

GET /health answers 200 {"status": "ok"}. With an access/secret key pair configured every POST must
carry a valid SigV4 signature made with it, scoped to service timestream and the server's region, and
covering host, x-amz-date, x-amz-target and the body (timestream_local.sigv4); without, any
credentials are accepted. The HTTP/1.1 framing (keep-alive, Expect: 100-continue, Content-Length
bodies) is timestream_local.http1's.

Connections are served by a fixed set of threads started with the server (``--max-connections``):
no thread is created while the server runs, so a query that filled the process's memory cap cannot
leave it unable to take the next connection, and the number of connections held open is bounded.
While every thread is busy a new connection waits in the queue, then in the kernel's backlog.
"""

from __future__ import annotations

import itertools
import logging
import queue
import socket
import socketserver
import sys
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import msgspec

from timestream_local.exceptions import (
    InternalServerException,
    TimestreamError,
    UnknownOperationException,
    ValidationException,
)
from timestream_local.http1 import BadRequest, BodyError, Connection, Request, TlsOnPlainPort
from timestream_local.sigv4 import SigV4Verifier
from timestream_local.urls import Router, action_of

if TYPE_CHECKING:
    from timestream_local.query.prepared import PreparedStatements

log = logging.getLogger("timestream_local.server")

CONTENT_TYPE = "application/x-amz-json-1.0"
MAX_BODY_BYTES = 8 * 1024 * 1024


class TimestreamHTTPServer(socketserver.TCPServer):
    allow_reuse_address = True
    request_queue_size = 128

    router: Router
    verifier: SigV4Verifier | None = None
    _request_ids = itertools.count(1)
    _request_prefix = uuid.uuid4().hex[:20]

    def __init__(self, address: Any, handler: Any, max_connections: int) -> None:
        super().__init__(address, handler)
        self._waiting: queue.Queue[tuple[socket.socket, Any]] = queue.Queue(maxsize=max_connections)
        self._stopping = threading.Event()
        for number in range(max_connections):
            name = f"tsl-connection-{number + 1}"
            threading.Thread(target=self._serve_connections, name=name, daemon=True).start()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Hand the connection to a free thread; while none is free and the queue is full, wait
        (the kernel's backlog holds later connections meanwhile)."""
        while not self._stopping.is_set():
            try:
                self._waiting.put((request, client_address), timeout=0.2)
                return
            except queue.Full:
                continue
        self.shutdown_request(request)

    def _serve_connections(self) -> None:
        while True:
            request, client_address = self._waiting.get()
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)

    def shutdown(self) -> None:
        self._stopping.set()
        super().shutdown()

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


class RequestHandler(socketserver.BaseRequestHandler):
    """One client connection: its requests one after another, with one DuckDB cursor for all of them
    (and the statements prepared on it)."""

    timeout = 120  # an idle keep-alive connection is closed after this many seconds
    request: socket.socket
    server: TimestreamHTTPServer

    def setup(self) -> None:
        self.request.settimeout(self.timeout)
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        self.connection = Connection(self.request)
        self._statements: PreparedStatements | None = None

    def handle(self) -> None:
        keep_open = True
        while keep_open:
            try:
                request = self.connection.read_request()
            except BadRequest as error:  # answered in AWS's error shape; the connection closes
                if isinstance(error, TlsOnPlainPort):
                    log.warning(
                        "a client from %s opened TLS (https) on this plain-HTTP port; give it the endpoint "
                        "http://%s:%s (boto3 with endpoint discovery on takes it from DescribeEndpoints)",
                        self.client_address[0], *self.server.server_address[:2],
                    )  # fmt: skip
                body = {"__type": ValidationException.code, "message": error.message}
                self._send(None, error.status, body, note=f": {error.message}")
                return
            if request is None:
                return
            started = time.perf_counter()
            if request.method == "POST":
                keep_open = self._post(request, started)
            elif request.method == "GET":
                keep_open = self._get(request, started)
            else:
                request.close = True
                error = UnknownOperationException(
                    f"HTTP method {request.method} is not supported; use POST /."
                )
                keep_open = self._send_error(request, error, "-", started)

    def finish(self) -> None:
        if self._statements is not None:
            self._statements.cursor.close()
            self._statements = None

    def _statements_factory(self) -> PreparedStatements:
        if self._statements is None:
            self._statements = self.server.router.open_statements()
        return self._statements

    def _send(
        self,
        request: Request | None,
        status: int,
        body: dict[str, Any],
        action: str = "-",
        started: float | None = None,
        note: str = "",
    ) -> bool:
        """Answer with a JSON body; returns whether the connection stays open."""
        payload = msgspec.json.encode(body)
        headers = f"Content-Type: {CONTENT_TYPE}\r\nx-amzn-RequestId: {self.server.request_id()}\r\n"
        keep_open = self.connection.send(request, status, payload, headers)
        if log.isEnabledFor(logging.DEBUG):
            elapsed = "" if started is None else f" in {(time.perf_counter() - started) * 1000:.1f} ms"
            method, target = ("-", "-") if request is None else (request.method, request.target)
            log.debug("%s %s %s -> %d%s%s", method, target, action, status, elapsed, note)
        return keep_open

    def _send_error(self, request: Request, error: TimestreamError, action: str, started: float) -> bool:
        body = error.body()
        body.setdefault("Message", error.message)
        return self._send(
            request, error.status, body, action, started, f": {error.code}: {error.message[:300]}"
        )

    def _get(self, request: Request, started: float) -> bool:
        if urlsplit(request.target).path == "/health":
            return self._send(request, 200, {"status": "ok"}, "health", started)
        body = {"__type": "NotFound", "message": "Only GET /health and POST / exist."}
        return self._send(request, 404, body, "-", started)

    def _post(self, request: Request, started: float) -> bool:
        target = request.headers.get("x-amz-target", "")
        action = action_of(target)
        try:  # outside the catch-all below: a client gone mid-body is handle_error's debug line
            body = self.connection.read_body(request, MAX_BODY_BYTES)
        except BodyError as error:
            return self._send_error(request, ValidationException(str(error)), action, started)
        try:
            if self.server.verifier is not None:
                split = urlsplit(request.target)
                self.server.verifier.verify("POST", split.path, split.query, request.headers, body)
            result = self.server.router.dispatch(target, body, self._statements_factory)
        except TimestreamError as error:
            return self._send_error(request, error, action, started)
        except Exception:
            log.exception("internal error while handling %s", action)
            error = InternalServerException("Internal server error; see the server log.")
            return self._send_error(request, error, action, started)
        return self._send(request, 200, result, action, started)


def make_server(
    host: str,
    port: int,
    router_factory: Any,
    verifier: SigV4Verifier | None,
    max_connections: int,
) -> TimestreamHTTPServer:
    """Bind the server (raises OSError when the port is taken). router_factory(address) -> Router."""
    server_class = TimestreamHTTPServer
    if ":" in host:
        server_class = type(
            "TimestreamHTTPServer6", (TimestreamHTTPServer,), {"address_family": socket.AF_INET6}
        )
    server = server_class((host, port), RequestHandler, max_connections)
    server.verifier = verifier
    bound_host, bound_port = server.server_address[:2]
    display_host = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    server.router = router_factory(f"{display_host}:{bound_port}")
    return server
