"""A record the store fails on every time ("poison") is isolated and dead-lettered with the store's
answer, and its shard flows on; a store that fails *every* write is an outage, and then nothing is
set aside.

Real parts: kinesalite, the forwarder's CLI, and timestream_local over HTTP behind a small
fault-injecting proxy written here. The proxy passes every request to the real store and its answer
back, except that it answers 500 InternalServerException to WriteRecords calls carrying the marker
dimension value (or to every WriteRecords call while told to fail everything).
"""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3

from tests.forwarder.helpers import (
    checkpoints,
    create_stream,
    create_table,
    dead_letters,
    forwarder_command,
    put,
    query,
    reading,
    scalar,
    start_forwarder,
    stop,
    unique,
    wait_until,
)
from tests.services import start_timestream_local

MARKER = "poison-7f3a"
MESSAGE = "injected failure: the store cannot store this record"
REASON = (
    f"HTTP 500 InternalServerException: {MESSAGE} (failed alone 3 times, the store storing other "
    "records in between)"
)


class FaultInjectingProxy:
    """Forwards each request to the store on `port` unchanged, except for the failures it injects."""

    def __init__(self, port: int, marker: bytes) -> None:
        self.port_behind = port
        self.marker = marker
        self.fail_everything = False
        self.lock = threading.Lock()
        self.refused: list[int] = []  # records per WriteRecords call answered with the injected 500
        self.refused_with_marker = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._forward(b"")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("X-Amz-Target", "").endswith(".WriteRecords"):
                    poisoned = proxy.marker in body
                    if poisoned or proxy.fail_everything:
                        with proxy.lock:
                            proxy.refused.append(len(json.loads(body)["Records"]))
                            proxy.refused_with_marker += poisoned
                        answer = json.dumps({"__type": "InternalServerException", "message": MESSAGE})
                        self._answer(500, answer.encode(), "application/x-amz-json-1.0")
                        return
                self._forward(body)

            def _forward(self, body: bytes) -> None:
                connection = http.client.HTTPConnection("127.0.0.1", proxy.port_behind, timeout=30)
                try:
                    headers = {name: value for name, value in self.headers.items() if name.lower() != "host"}
                    connection.request(self.command, self.path, body=body or None, headers=headers)
                    response = connection.getresponse()
                    payload = response.read()
                    self._answer(response.status, payload, response.getheader("Content-Type", "text/plain"))
                finally:
                    connection.close()

            def _answer(self, status: int, payload: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1})
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class Sensors:
    """Live readings, one every `interval` seconds, as the simulator sends them, until stopped."""

    def __init__(self, kinesis, stream: str, base_ms: int, interval: float = 0.1) -> None:
        self.kinesis, self.stream, self.base_ms, self.interval = kinesis, stream, base_ms, interval
        self.sent: dict[tuple[str, int], int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(self.interval):
            location, time_ms, value = f"live-{n % 4}", self.base_ms + n * 1000, 500 + n % 97
            put(self.kinesis, self.stream, [(reading(location, time_ms, value), location)])
            self.sent[(location, time_ms)] = value
            n += 1

    def stop(self) -> dict[tuple[str, int], int]:
        self._stop.set()
        self._thread.join(timeout=30)
        return self.sent


def stored_rows(timestream_query, table: str) -> list[tuple[str, int, int]]:
    rows = query(
        timestream_query,
        f'SELECT location, to_milliseconds(time), measure_value::bigint FROM "iot"."{table}"',
    )
    return sorted((location, int(ms), int(value)) for location, ms, value in rows)


def expected_rows(*parts: dict[tuple[str, int], int]) -> list[tuple[str, int, int]]:
    return sorted((location, ms, value) for part in parts for (location, ms), value in part.items())


def _setup(kinesis_client, tmp_path, shards: int):
    store = start_timestream_local(tmp_path / "store")
    proxy = FaultInjectingProxy(store.port, MARKER.encode())
    write = boto3.client("timestream-write", endpoint_url=store.url, region_name="us-east-1")
    query_client = boto3.client("timestream-query", endpoint_url=store.url, region_name="us-east-1")
    stream, table = unique("poison"), "pm25"
    create_stream(kinesis_client, stream, shards)
    create_table(write, table)
    return store, proxy, query_client, stream, table


def test_a_record_the_store_always_fails_on_is_dead_lettered_and_its_shard_flows_on(
    kinesalite, kinesis_client, tmp_path
):
    """One shard and one writer thread: the hardest case (nothing else can write meanwhile)."""
    store, proxy, timestream_query, stream, table = _setup(kinesis_client, tmp_path, shards=1)
    process = None
    sensors = None
    try:
        base = (int(time.time()) - 3600) * 1000
        good = {(f"st-{n % 10}", base + n * 1000): n % 300 for n in range(200)}
        records = [(reading(location, ms, value), location) for (location, ms), value in good.items()]
        poison = [reading(MARKER, base + 500_000 + n, 1) for n in range(2)]
        records.insert(60, (poison[0], MARKER))
        records.insert(141, (poison[1], MARKER))
        answers = put(kinesis_client, stream, records)
        poison_sequences = [answers[60]["SequenceNumber"], answers[141]["SequenceNumber"]]

        state = tmp_path / "state"
        log_path = tmp_path / "forwarder.log"
        argv = forwarder_command(stream, table, kinesalite, proxy, state, "--writers", "1")
        process = start_forwarder(argv, log_path)
        sensors = Sensors(kinesis_client, stream, base + 1_000_000)
        dead_letter_path = state / "dead-letter.jsonl"
        wait_until(lambda: len(dead_letters(dead_letter_path)) >= 2, 90, "two dead letters", interval=0.5)
        live = sensors.stop()
        sensors = None
        # the shard flows on: everything up to the last record sent is written and checkpointed
        last = kinesis_client.put_record(
            StreamName=stream, Data=json.dumps(reading("last", base, 7)).encode(), PartitionKey="last"
        )
        live[("last", base)] = 7
        total = len(good) + len(live)
        count_sql = f'SELECT COUNT(*) FROM "iot"."{table}"'
        wait_until(lambda: scalar(timestream_query, count_sql) == str(total), 60, "every good record")
        shard = last["ShardId"]
        wait_until(
            lambda: checkpoints(state).get(shard) == ("SEQUENCE", last["SequenceNumber"]),
            30,
            "the checkpoint",
        )
        assert stop(process, signal.SIGTERM) == 0

        # every good record exactly once, with its value; no poison record in the store
        assert stored_rows(timestream_query, table) == expected_rows(good, live)
        lines = sorted(dead_letters(dead_letter_path), key=lambda line: int(line["sequence_number"]))
        assert [line["sequence_number"] for line in lines] == poison_sequences  # each once
        assert [json.loads(line["record"]) for line in lines] == poison
        assert [line["reason"] for line in lines] == [REASON, REASON]
        assert {line["shard_id"] for line in lines} == {shard}
        assert proxy.refused_with_marker == len(proxy.refused)  # only calls with the marker failed
        assert "a record keeps failing alone; dead-lettering it: " + REASON in log_path.read_text()
    finally:
        if sensors is not None:
            sensors.stop()
        if process is not None and process.poll() is None:
            process.kill()
        proxy.close()
        store.stop()


def test_a_store_failing_every_write_sets_nothing_aside_and_the_poison_record_only_after(
    kinesalite, kinesis_client, tmp_path
):
    """While every WriteRecords gets a 500 (disk full, a broken store) the forwarder keeps every
    record and backs off; once the store writes again, only the poison record is set aside."""
    store, proxy, timestream_query, stream, table = _setup(kinesis_client, tmp_path, shards=2)
    proxy.fail_everything = True
    process = None
    sensors = None
    try:
        base = (int(time.time()) - 3600) * 1000
        good = {(f"st-{n % 10}", base + n * 1000): n % 300 for n in range(300)}
        records = [(reading(location, ms, value), location) for (location, ms), value in good.items()]
        poison = reading(MARKER, base + 500_000, 1)
        records.insert(150, (poison, MARKER))
        answers = put(kinesis_client, stream, records)

        state = tmp_path / "state"
        log_path = tmp_path / "forwarder.log"
        argv = forwarder_command(stream, table, kinesalite, proxy, state)
        process = start_forwarder(argv, log_path)
        sensors = Sensors(kinesis_client, stream, base + 1_000_000)
        wait_until(lambda: len(proxy.refused) >= 6, 60, "six refused WriteRecords calls")
        time.sleep(3)  # and the outage goes on
        assert dead_letters(state / "dead-letter.jsonl") == []
        assert scalar(timestream_query, f'SELECT COUNT(*) FROM "iot"."{table}"') == "0"
        assert process.poll() is None
        # the writers share one backoff (0.1 s doubling): a handful of calls, not one per queued batch
        assert len(proxy.refused) <= 20

        proxy.fail_everything = False  # the store works again
        dead_letter_path = state / "dead-letter.jsonl"
        wait_until(
            lambda: dead_letters(dead_letter_path), 90, "the poison record's dead letter", interval=0.5
        )
        live = sensors.stop()
        sensors = None
        total = len(good) + len(live)
        count_sql = f'SELECT COUNT(*) FROM "iot"."{table}"'
        wait_until(lambda: scalar(timestream_query, count_sql) == str(total), 60, "every good record")
        assert stop(process, signal.SIGTERM) == 0

        assert stored_rows(timestream_query, table) == expected_rows(good, live)
        (line,) = dead_letters(dead_letter_path)
        assert (line["sequence_number"], line["shard_id"]) == (
            answers[150]["SequenceNumber"],
            answers[150]["ShardId"],
        )
        assert json.loads(line["record"]) == poison
        assert line["reason"] == REASON
        assert "(the store has stored nothing since: an outage, not a bad record)" in log_path.read_text()
    finally:
        if sensors is not None:
            sensors.stop()
        if process is not None and process.poll() is None:
            process.kill()
        proxy.close()
        store.stop()
