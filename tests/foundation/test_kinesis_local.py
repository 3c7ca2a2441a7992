"""tools/kinesis-local.js: kinesalite on loopback that survives clients dying mid-request."""

from __future__ import annotations

import socket
import time

import boto3

from tests.services import start_kinesalite


def test_a_client_dying_mid_request_does_not_stop_the_server(tmp_path):
    service = start_kinesalite(tmp_path / "data")
    try:
        for _ in range(3):  # a request whose body never finishes, then the connection drops
            with socket.create_connection(("127.0.0.1", service.port)) as sock:
                sock.sendall(
                    b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n"
                    b'X-Amz-Target: Kinesis_20131202.ListStreams\r\nContent-Length: 1000\r\n\r\n{"Lim'
                )
                time.sleep(0.2)
                # SO_LINGER 0: closing sends a reset, as a killed process's socket does.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        time.sleep(0.5)
        assert service.process.poll() is None, service.log()
        assert "disconnected in the middle of a request" in service.log()
        fresh = boto3.client("kinesis", endpoint_url=service.url, region_name="us-east-1")
        assert fresh.list_streams()["StreamNames"] == []
    finally:
        service.stop()


def test_the_server_listens_on_loopback_only(tmp_path):
    service = start_kinesalite(tmp_path / "data")
    try:
        assert "listening on http://127.0.0.1:" in service.log()
    finally:
        service.stop()
