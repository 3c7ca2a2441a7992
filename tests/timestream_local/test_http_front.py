"""The HTTP/1.1 framing, byte for byte through a raw socket: keep-alive and pipelining, connection
closing, Expect: 100-continue, and broken or hostile input (answered, then the connection closed).

Answers are parsed here by hand, independently of the server's code and of http.client.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time

import pytest

from tests.services import start_timestream_local

LIST = b"X-Amz-Target: Timestream_20181101.ListDatabases\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server of its own at DEBUG level, so that its per-request and per-connection lines can be read."""
    service = start_timestream_local(
        tmp_path_factory.mktemp("http-front") / "data", extra_args=["--log-level", "DEBUG"]
    )
    yield service
    service.stop()


class Wire:
    """One raw client connection."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def __enter__(self) -> Wire:
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("the server closed the connection")
        self.buffer += chunk

    def head(self) -> tuple[int, dict[str, str]]:
        """The next answer's status and headers (names lower-cased)."""
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        assert re.fullmatch(r"HTTP/1\.1 \d{3} .*", status_line), status_line
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
        return int(status_line.split(" ")[1]), headers

    def answer(self) -> tuple[int, dict[str, str], dict]:
        """The next answer: status, headers and its JSON body."""
        status, headers = self.head()
        length = int(headers["content-length"])
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, headers, json.loads(body)

    def closed(self) -> bool:
        """True when the server has closed the connection (nothing more arrives but EOF)."""
        self.sock.settimeout(3)
        try:
            return not self.buffer and self.sock.recv(1) == b""
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True


def _post(body: bytes = b"{}", headers: bytes = LIST, version: bytes = b"HTTP/1.1") -> bytes:
    return (
        b"POST / " + version + b"\r\nHost: x\r\n" + headers + b"Content-Length: %d\r\n\r\n" % len(body) + body
    )


def _post_head(fields: bytes) -> bytes:
    """A ListDatabases request's head up to `fields`, which end it (and may start a body)."""
    return b"POST / HTTP/1.1\r\nHost: x\r\n" + LIST + fields


def _get(target: bytes = b"/health", headers: bytes = b"", version: bytes = b"HTTP/1.1") -> bytes:
    return b"GET " + target + b" " + version + b"\r\nHost: x\r\n" + headers + b"\r\n"


def _log_after(service, mark: int) -> str:
    time.sleep(0.2)  # the server writes its line after the answer
    return service.log()[mark:]


def _refused(wire: Wire, message: str) -> None:
    """The next answer is a 400 ValidationException containing `message`, and the connection closes."""
    status, headers, body = wire.answer()
    assert (status, body["__type"], headers["connection"]) == (400, "ValidationException", "close")
    assert message in body["message"]
    assert wire.closed()


def test_pipelined_requests_are_answered_in_order_on_one_connection(server):
    with Wire(server.port) as wire:
        wire.send(_get() + _post() + _get(b"/elsewhere") + _post(b"{not json"))
        answers = [wire.answer() for _ in range(4)]
        assert [status for status, _, _ in answers] == [200, 200, 404, 400]
        assert answers[0][2] == {"status": "ok"}
        assert "Databases" in answers[1][2]
        assert answers[3][2]["__type"] == "SerializationException"
        for _, headers, _ in answers:
            assert headers["content-type"] == "application/x-amz-json-1.0"
            assert headers["server"] == "timestream_local"
            assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", headers["date"])
            assert "connection" not in headers  # HTTP/1.1: kept open
        assert len({headers["x-amzn-requestid"] for _, headers, _ in answers}) == 4
        # still open: one more request, sent in two pieces split inside the head
        request = _post()
        wire.send(request[:10])
        time.sleep(0.05)
        wire.send(request[10:])
        assert wire.answer()[0] == 200


def test_http_1_0_closes_unless_asked_to_keep_alive(server):
    with Wire(server.port) as wire:
        wire.send(_get(version=b"HTTP/1.0"))
        status, headers, body = wire.answer()
        assert (status, body, headers["connection"]) == (200, {"status": "ok"}, "close")
        assert wire.closed()
    with Wire(server.port) as wire:
        wire.send(_get(version=b"HTTP/1.0", headers=b"Connection: Keep-Alive\r\n"))
        status, headers, _ = wire.answer()
        assert (status, headers["connection"]) == (200, "keep-alive")
        wire.send(_post(version=b"HTTP/1.0", headers=LIST + b"Connection: keep-alive\r\n"))
        assert wire.answer()[0] == 200
        wire.send(_get(version=b"HTTP/1.0"))
        assert wire.answer()[0] == 200
        assert wire.closed()


def test_connection_close_is_honoured(server):
    with Wire(server.port) as wire:
        # a second request is already on its way; the server must not answer it
        wire.send(_post(headers=LIST + b"connection: Close\r\n") + _get())
        status, headers, body = wire.answer()
        assert (status, headers["connection"]) == (200, "close")
        assert "Databases" in body
        assert wire.closed()


def test_expect_100_continue_is_answered_before_the_body_is_sent(server):
    body = b'{"MaxResults": 5}'
    with Wire(server.port) as wire:
        wire.send(_post_head(b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)))
        status, headers = wire.head()  # the body has not been sent yet
        assert (status, headers) == (100, {})
        wire.send(body)
        status, _, answer = wire.answer()
        assert status == 200 and "Databases" in answer
        wire.send(_get())  # the connection is still usable
        assert wire.answer()[0] == 200


def test_expect_100_continue_with_a_body_over_the_limit_gets_the_refusal_instead(server):
    with Wire(server.port) as wire:
        wire.send(_post_head(b"Expect: 100-continue\r\nContent-Length: 99999999\r\n\r\n"))
        _refused(wire, "limit is")


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"BLAH\r\n\r\n", 400),
        (b"GET /health\r\n\r\n", 400),
        (b"GET /health HTTP/1.1 extra\r\n\r\n", 400),
        (b"GET  /health HTTP/1.1\r\n\r\n", 400),
        (b"GET /health HTTX/1.1\r\n\r\n", 400),
        (b"GET /he\x00alth HTTP/1.1\r\n\r\n", 400),
        (b"GET /health HTTP/2.0\r\n\r\n", 505),
        (b"GET /health HTTP/1.1\r\nNo colon here\r\n\r\n", 400),
        (b"GET /health HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length : 2\r\n\r\n{}", 400),
        (b"GET /health HTTP/1.1\r\n: no name\r\n\r\n", 400),
        (b"GET /health HTTP/1.1\r\nX-A: 1\r\n  folded onto the line before\r\n\r\n", 400),
    ],
)
def test_a_malformed_head_is_answered_400_and_the_connection_closed(server, request_bytes, status):
    mark = len(server.log())
    with Wire(server.port) as wire:
        wire.send(request_bytes + _get())  # the request after it must not be answered
        got, headers, body = wire.answer()
        assert (got, body["__type"], headers["connection"]) == (status, "ValidationException", "close")
        assert body["message"]
        assert wire.closed()
    log = _log_after(server, mark)
    assert f"-> {status}: " in log
    assert "Traceback" not in log


def test_oversized_heads_get_431_and_the_server_carries_on(server):
    huge = b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * (65 * 1024) + b"\r\n\r\n"
    many = b"GET /health HTTP/1.1\r\n" + b"".join(b"X-H%d: %d\r\n" % (i, i) for i in range(101)) + b"\r\n"
    endless = b"GET /health HTTP/1.1\r\n" + b"X-Filler: 0123456789\r\n" * 4000  # no end of head at all
    for request_bytes in (huge, many, endless):
        with Wire(server.port) as wire:
            wire.send(request_bytes)
            status, headers, body = wire.answer()
            assert (status, headers["connection"]) == (431, "close")
            assert body["__type"] == "ValidationException"
            assert wire.closed()
    # just under the limits is fine
    with Wire(server.port) as wire:
        wire.send(
            b"GET /health HTTP/1.1\r\n" + b"".join(b"X-H%d: %d\r\n" % (i, i) for i in range(100)) + b"\r\n"
        )
        assert wire.answer()[0] == 200


def test_chunked_bodies_are_refused_and_the_connection_closed(server):
    with Wire(server.port) as wire:
        wire.send(_post_head(b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"))
        _refused(wire, "Chunked request bodies are not supported")


def test_a_body_shorter_than_its_content_length_is_refused_when_the_client_stops_sending(server):
    mark = len(server.log())
    with Wire(server.port) as wire:
        wire.send(_post_head(b"Content-Length: 100\r\n\r\n{}"))
        wire.sock.shutdown(socket.SHUT_WR)  # the client will send nothing more
        _refused(wire, "The request body is shorter than its Content-Length.")
    log = _log_after(server, mark)
    assert "POST / ListDatabases -> 400 in " in log
    assert "Traceback" not in log


def test_a_client_that_disconnects_mid_request_costs_one_debug_line(server):
    mark = len(server.log())
    for partial in (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Le", _post(b'{"MaxResults": 5}')[:-5]):
        with Wire(server.port) as wire:
            wire.send(partial)
            time.sleep(0.1)
            wire.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        # SO_LINGER 0: the close resets the connection
    log = _log_after(server, mark)
    assert "Traceback" not in log
    assert len(re.findall(r"DEBUG timestream_local\.server: connection from 127\.0\.0\.1 ended: ", log)) == 2
    with Wire(server.port) as wire:  # the server is fine
        wire.send(_get())
        assert wire.answer()[0] == 200


def test_header_names_in_any_case_and_the_debug_line_format(server):
    mark = len(server.log())
    with Wire(server.port) as wire:
        wire.send(
            b"POST / HTTP/1.1\r\nhOsT: x\r\nx-AMZ-TARGET: Timestream_20181101.ListDatabases\r\n"
            b"CONTENT-length: 2\r\n\r\n{}"
        )
        status, _, body = wire.answer()
        assert status == 200 and "Databases" in body
    # the line a dev script greps for timings
    assert re.search(r"POST / ListDatabases -> 200 in ([\d.]+) ms", _log_after(server, mark))


@pytest.mark.parametrize("method", [b"PUT", b"DELETE", b"OPTIONS"])
def test_other_methods_get_unknown_operation_and_close(server, method):
    with Wire(server.port) as wire:
        wire.send(method + b" / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}" + _get())
        status, headers, body = wire.answer()
        assert (status, body["__type"], headers["connection"]) == (400, "UnknownOperationException", "close")
        assert wire.closed()


def test_a_get_with_a_body_closes_the_connection_rather_than_misread_the_body(server):
    with Wire(server.port) as wire:
        wire.send(b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 18\r\n\r\nGET /x HTTP/1.1\r\n\r\n")
        status, headers, body = wire.answer()
        assert (status, body, headers["connection"]) == (200, {"status": "ok"}, "close")
        assert wire.closed()


def test_connections_beyond_max_connections_wait_for_a_free_thread(tmp_path):
    """--max-connections 2: two idle keep-alive connections hold both threads; a third is accepted
    by the kernel but answered only once one of the two closes. No thread is made per connection."""
    service = start_timestream_local(tmp_path / "data", extra_args=["--max-connections", "2"])
    try:
        with Wire(service.port) as first, Wire(service.port) as second, Wire(service.port) as third:
            for wire in (first, second):
                wire.send(_post())
                assert wire.answer()[0] == 200
            third.send(_post())
            third.sock.settimeout(1.5)
            with pytest.raises(TimeoutError):
                third.head()  # both threads are busy with their idle connections
            first.sock.close()
            third.sock.settimeout(10)
            assert third.answer()[0] == 200
            second.send(_post())  # still served
            assert second.answer()[0] == 200
        with open(f"/proc/{service.process.pid}/status") as status:
            threads_before = int(re.search(r"Threads:\s+(\d+)", status.read()).group(1))
        for _ in range(5):
            with Wire(service.port) as wire:
                wire.send(_post())
                assert wire.answer()[0] == 200
        with open(f"/proc/{service.process.pid}/status") as status:
            assert int(re.search(r"Threads:\s+(\d+)", status.read()).group(1)) == threads_before
    finally:
        service.stop()


@pytest.mark.parametrize(("value", "accepted"), [("1", True), ("1024", True), ("0", False), ("1025", False)])
def test_max_connections_is_checked_at_the_limits(tmp_path, value, accepted):
    if accepted:
        service = start_timestream_local(tmp_path / "data", extra_args=["--max-connections", value])
        try:
            with Wire(service.port) as wire:
                wire.send(_post())
                assert wire.answer()[0] == 200
        finally:
            service.stop()
        return
    argv = [sys.executable, "-m", "timestream_local", "serve", "--port", "0", "--data-dir", str(tmp_path / "d"),
            "--max-connections", value]  # fmt: skip
    result = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"'{value}' is not a whole number from 1 to 1024" in result.stderr
