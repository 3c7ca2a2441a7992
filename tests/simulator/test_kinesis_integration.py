"""Against a real local Kinesis (kinesalite): what the simulator writes is exactly what readers get."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict

import pytest

from tests.simulator.cli_helpers import ROOT, sent_count, simulate, stdout_records

pytestmark = pytest.mark.slow


def create_stream(client, shards: int = 3) -> str:
    name = f"pm25-{uuid.uuid4().hex[:8]}"
    client.create_stream(StreamName=name, ShardCount=shards)
    client.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    return name


def read_all(client, stream: str) -> dict[str, list[dict]]:
    """Every record in every shard, in shard order: shard id -> [{key, record}]."""
    shards = client.list_shards(StreamName=stream)["Shards"]
    out: dict[str, list[dict]] = {}
    for shard in shards:
        iterator = client.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records: list[dict] = []
        deadline = time.monotonic() + 60
        while iterator and time.monotonic() < deadline:
            response = client.get_records(ShardIterator=iterator, Limit=10000)
            records.extend(
                {"key": r["PartitionKey"], "record": json.loads(r["Data"])} for r in response["Records"]
            )
            if not response["Records"] and response.get("MillisBehindLatest", 0) == 0:
                break
            iterator = response.get("NextShardIterator")
        out[shard["ShardId"]] = records
    return out


def as_set(records: list[dict]) -> set[tuple]:
    return {tuple(sorted(record.items())) for record in records}


def check_stream_contents(shards: dict[str, list[dict]], expected: list[dict]) -> None:
    everything = [item["record"] for items in shards.values() for item in items]
    assert len(everything) == len(expected)
    assert as_set(everything) == as_set(expected)
    shard_of: dict[str, set[str]] = defaultdict(set)
    for shard, items in shards.items():
        per_station: dict[str, list[int]] = defaultdict(list)
        for item in items:
            record = item["record"]
            assert item["key"] == f"{record['city']}/{record['location']}"  # partition key: the station
            shard_of[item["key"]].add(shard)
            per_station[item["key"]].append(int(record["Time"]))
        for times in per_station.values():  # backfill order kept within each station
            assert all(a < b for a, b in itertools.pairwise(times))
    assert all(len(owners) == 1 for owners in shard_of.values())
    assert sum(1 for items in shards.values() if items) >= 2  # load spread over shards


def test_records_written_equal_records_read_back(kinesalite, kinesis_client):
    stream = create_stream(kinesis_client)
    start = str(int(time.time() * 1000) - 3_600_000)
    args = ("--start", start, "--count", "5000", "--seed", "21", "--cities", "Beijing", "Shanghai", "Lasa")
    result = simulate("--endpoint-url", kinesalite.url, "--stream", stream, *args)
    assert result.returncode == 0, result.stderr
    assert sent_count(result.stderr) == 5000
    check_stream_contents(read_all(kinesis_client, stream), stdout_records(*args))


def test_missing_stream_is_a_clear_configuration_error(kinesalite):
    result = simulate("--endpoint-url", kinesalite.url, "--stream", "no-such-stream", "--count", "1")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"simulator: error: Kinesis stream 'no-such-stream' does not exist in us-east-1 at {kinesalite.url}; "
        "create it or pass --stream"
    )


def wait_for(path, text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text()
        if text in content:
            return content
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not seen in {timeout} s:\n{path.read_text()}")


@pytest.mark.parametrize("phase", ["backfill", "live"])
def test_sigterm_flushes_buffered_records_and_exits_0(kinesalite, kinesis_client, tmp_path, phase):
    stream = create_stream(kinesis_client, shards=2)
    # Backfill: three hours for 115 stations (over a million records) is still running when the
    # signal arrives, with up to 499 records buffered. Live: stop between ticks.
    start = int(time.time() * 1000) - (3 * 3_600_000 if phase == "backfill" else 5_000)
    log = tmp_path / "simulator.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "simulator",
                "--endpoint-url",
                kinesalite.url,
                "--stream",
                stream,
                "--start",
                str(start),
                "--seed",
                "8",
                "--report-every",
                "0.5",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            wait_for(log, "% of the window" if phase == "backfill" else "live: ", timeout=30)
            if phase == "live":
                time.sleep(1.3)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    text = log.read_text()
    assert "Traceback" not in text
    assert "SIGTERM received: flushing" in text
    assert "done (stopped on request)" in text
    sent = sent_count(text)
    if phase == "backfill":
        assert "going live" not in text  # the signal really landed during the backfill
    assert sent > 115
    # Exactly what was reported as sent is in the stream, and it is the run's data prefix.
    check_stream_contents(
        read_all(kinesis_client, stream),
        stdout_records("--start", str(start), "--seed", "8", "--count", str(sent)),
    )
