"""HTTP/1.1 framing for the server: request heads and bodies read off a socket, answers written whole.

What a JSON API needs and no more: keep-alive (HTTP/1.1 by default, HTTP/1.0 when asked), pipelined
requests, Content-Length bodies, `Expect: 100-continue`. The standard library's http.server spent
~120 µs of Python per request on its email-package header parser, buffered line reads and header-
by-header writes; this takes a request in one recv and answers it in one send (~30 µs). A connection
is only reused after its request's body was read in full; anything else (an unread, refused or short
body) closes it.
"""

from __future__ import annotations

import re
import socket
import time
from email.utils import formatdate
from http import HTTPStatus

MAX_HEAD_BYTES = 64 * 1024  # request line and headers
MAX_HEADERS = 100
RECV_BYTES = 64 * 1024
SERVER = "timestream_local"

_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_REQUEST_LINE = re.compile(rf"({_TCHARS}) ([^\x00-\x20\x7f]+) HTTP/(\d)\.(\d)")
_HEADER_NAMES = re.compile(rf"{_TCHARS}(?:\n{_TCHARS})*")  # the names, one a line
_REASONS = {status.value: status.phrase for status in HTTPStatus}  # 419 has none: "HTTP/1.1 419 "
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class BadRequest(Exception):
    """The request cannot be framed: answer `status` and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class TlsOnPlainPort(BadRequest):
    """The client opened TLS (https) on this plain-HTTP port: refused at once, not left waiting."""

    def __init__(self) -> None:
        super().__init__(400, "This port speaks plain HTTP: use an http:// endpoint, not https://.")


class BodyError(Exception):
    """The request body cannot be read (chunked, too large, short, ...); the connection will close."""


def _tokens(value: str) -> set[str]:
    return {token.strip(" \t") for token in value.lower().split(",")}


class Request:
    """One request's head. Header names are lower-cased; a repeated header's values are joined
    with "," (as SigV4 canonicalises them)."""

    __slots__ = ("_expects_continue", "_unread_body", "close", "headers", "method", "target", "version")

    def __init__(self, method: str, target: str, version: str, headers: dict[str, str]) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        # HTTP/1.1 keeps a connection open unless told otherwise; HTTP/1.0 closes it unless asked not to
        tokens = _tokens(headers["connection"]) if "connection" in headers else set()
        self.close = "close" in tokens if version == "HTTP/1.1" else "keep-alive" not in tokens
        self._expects_continue = version == "HTTP/1.1" and headers.get("expect", "").lower() == "100-continue"
        self._unread_body = "transfer-encoding" in headers or headers.get("content-length", "0") != "0"


def _parse_head(head: str) -> Request:
    lines = head.split("\n")
    if len(lines) > MAX_HEADERS + 1:
        raise BadRequest(431, f"The request has more than {MAX_HEADERS} headers.")
    match = _REQUEST_LINE.fullmatch(lines[0].rstrip("\r"))
    if match is None:
        raise BadRequest(400, "The request line is malformed.")
    method, target, major, minor = match.groups()
    if major != "1":
        raise BadRequest(505, f"HTTP/{major}.{minor} is not supported; use HTTP/1.1.")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise BadRequest(400, "A request header line has no colon.")
        name = name.lower()
        value = value.strip(" \t\r")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    # every name a token: no empty names, no space before the colon, no obs-fold continuation lines
    if headers and _HEADER_NAMES.fullmatch("\n".join(headers)) is None:
        raise BadRequest(400, "A request header name is malformed.")
    return Request(method, target, "HTTP/1.0" if minor == "0" else "HTTP/1.1", headers)


class Connection:
    """One client socket: reads requests one after another (pipelined ones too) and writes answers."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""  # bytes received and not yet consumed
        self._date = (0, "")  # the Date header's text for one second: formatted once per second

    def _date_text(self) -> str:
        second = int(time.time())
        if self._date[0] != second:
            self._date = (second, formatdate(second, usegmt=True))
        return self._date[1]

    def read_request(self) -> Request | None:
        """The next request's head; None when the client closed the connection between requests.

        Raises BadRequest for a malformed or oversized head, ConnectionAbortedError when the client
        closes the connection in the middle of one, and TimeoutError after the socket's timeout.
        """
        buffer = self._buffer
        searched = 0
        while True:
            if buffer[:1] in (b"\r", b"\n"):  # blank lines before a request line are ignored (RFC 9112)
                buffer = buffer.lstrip(b"\r\n")
            # the head ends at an empty line; lines end with CRLF or, leniently, a bare LF
            end, skip = buffer.find(b"\n\r\n", searched), 3
            bare = buffer.find(b"\n\n", searched, None if end < 0 else end)
            if bare >= 0:
                end, skip = bare, 2
            if end >= 0:
                break
            if len(buffer) > MAX_HEAD_BYTES:
                raise BadRequest(431, f"The request head is larger than {MAX_HEAD_BYTES} bytes.")
            searched = max(0, len(buffer) - 2)
            chunk = self._sock.recv(RECV_BYTES)
            if not chunk:
                self._buffer = b""
                if buffer:
                    raise ConnectionAbortedError("the client closed the connection in a request head")
                return None
            if not buffer and chunk[:1] == b"\x16":  # a TLS handshake record, never an HTTP method
                self._buffer = b""
                raise TlsOnPlainPort
            buffer += chunk
        if end > MAX_HEAD_BYTES:
            raise BadRequest(431, f"The request head is larger than {MAX_HEAD_BYTES} bytes.")
        self._buffer = buffer[end + skip :]
        return _parse_head(buffer[:end].decode("latin-1"))

    def read_body(self, request: Request, limit: int) -> bytes:
        """The request's Content-Length body (b"" without one). Raises BodyError, leaving the body
        unread, for a chunked body, a bad Content-Length or one over `limit` bytes, or when the
        client ends the connection before the whole body arrived. Answers `Expect: 100-continue`."""
        if "transfer-encoding" in request.headers:
            raise BodyError("Chunked request bodies are not supported; send a Content-Length.")
        raw_length = request.headers.get("content-length")
        if raw_length is None:
            return b""
        try:
            length = int(raw_length)
        except ValueError as error:
            raise BodyError("The Content-Length header is not a number.") from error
        if length < 0:
            raise BodyError("The Content-Length header is negative.")
        if length > limit:
            raise BodyError(f"The request body is {length} bytes; the limit is {limit} bytes.")
        if request._expects_continue and length > len(self._buffer):
            request._expects_continue = False
            self._sock.sendall(_CONTINUE)
        buffer = self._buffer
        if len(buffer) < length:
            parts, received = [buffer], len(buffer)
            while received < length:
                chunk = self._sock.recv(min(length - received, RECV_BYTES))
                if not chunk:
                    self._buffer = b""
                    raise BodyError("The request body is shorter than its Content-Length.")
                parts.append(chunk)
                received += len(chunk)
            buffer = b"".join(parts)
        self._buffer = buffer[length:]
        request._unread_body = False
        return buffer[:length]

    def send(
        self,
        request: Request | None,
        status: int,
        payload: bytes,
        headers: str = "",
    ) -> bool:
        """Answer `request` (None: a request that could not be framed); `headers` are extra header
        lines, each ending in CRLF. Returns whether the connection stays open for another request."""
        keep_open = request is not None and not request.close and not request._unread_body
        if not keep_open:
            connection = "Connection: close\r\n"
        elif request is not None and request.version == "HTTP/1.0":
            connection = "Connection: keep-alive\r\n"
        else:
            connection = ""
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\nServer: {SERVER}\r\nDate: {self._date_text()}\r\n"
            f"{headers}Content-Length: {len(payload)}\r\n{connection}\r\n"
        )
        if request is not None and request.method == "HEAD":
            payload = b""
        self._sock.sendall(head.encode("latin-1") + payload)
        return keep_open
