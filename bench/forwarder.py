"""Forwarder figures: end-to-end throughput from local Kinesis (4 shards) to the local store.

Goals (issue 5): >= 10,000 records/s sustained, and a one-hour backlog at the reference rate
(115 stations x 1 record/s = 414,000 records) drained in under 60 s. Prints figures, asserts
nothing. It starts its own kinesalite and timestream_local, loads the backlog into a 4-shard
stream with PutRecords (500 per call), then runs the forwarder (the same code as
``python -m forwarder``, in this process) until every record is written, and reports the drain
time, the rate over the run and its steady middle part, and where the CPU time went (kinesalite,
timestream_local, the forwarder).

    .venv/bin/python bench/forwarder.py [--records 414000] [--writers 2,1]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from catalogue import load_catalogue  # noqa: E402
from forwarder.connect import Settings  # noqa: E402
from forwarder.runner import Forwarder  # noqa: E402
from tests.services import LOCAL_CREDENTIALS, start_kinesalite, start_timestream_local  # noqa: E402

STREAM = "bench-forwarder"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), 0 where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def backlog(count: int):
    """(data, partition key) for `count` readings: 115 stations, one reading per second each, past hour."""
    stations = load_catalogue().stations
    start_ms = (int(time.time()) - count // len(stations) - 60) * 1000
    for n in range(count):
        station = stations[n % len(stations)]
        second = n // len(stations)
        record = {
            "city": station.city,
            "location": station.name,
            "MeasureName": "pm2.5",
            "MeasureValue": str(station.baseline + (n * 7919) % 11 - 5),
            "MeasureValueType": "BIGINT",
            "Time": str(start_ms + second * 1000),
        }
        yield json.dumps(record, separators=(",", ":")).encode(), station.name


def load(kinesis, count: int) -> float:
    started = time.monotonic()
    batch: list[dict] = []
    loaded = 0

    def send() -> None:
        nonlocal batch
        while batch:
            answer = kinesis.put_records(StreamName=STREAM, Records=batch)
            batch = [
                entry for entry, result in zip(batch, answer["Records"], strict=True) if "ErrorCode" in result
            ]
            if batch:
                time.sleep(0.05)

    for data, key in backlog(count):
        batch.append({"Data": data, "PartitionKey": key})
        if len(batch) == 500:
            send()
            loaded += 500
            if loaded % 50_000 == 0:
                print(
                    f"  loaded {loaded:,} records ({loaded / (time.monotonic() - started):,.0f} rec/s)",
                    flush=True,
                )
    send()
    return time.monotonic() - started


def prepare(kinesalite, store, count: int, tables: list[str]) -> None:
    kinesis = boto3.client("kinesis", endpoint_url=kinesalite.url, region_name="us-east-1")
    write = boto3.client("timestream-write", endpoint_url=store.url, region_name="us-east-1")
    write.create_database(DatabaseName="iot")
    for table in tables:
        write.create_table(
            DatabaseName="iot",
            TableName=table,
            RetentionProperties={
                "MemoryStoreRetentionPeriodInHours": 24,
                "MagneticStoreRetentionPeriodInDays": 7,
            },
        )
    kinesis.create_stream(StreamName=STREAM, ShardCount=4)
    kinesis.get_waiter("stream_exists").wait(StreamName=STREAM, WaiterConfig={"Delay": 0.2})
    print(f"loading {count:,} records (115 stations x {count // 115:,} s) into a 4-shard kinesalite stream")
    seconds = load(kinesis, count)
    print(f"  loaded in {seconds:.1f} s ({count / seconds:,.0f} rec/s through PutRecords)")


class Timed:
    """Wraps a client's call() to add up the time spent per operation (calls, seconds)."""

    def __init__(self, client) -> None:
        self._call = client.call
        self.totals: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        client.call = self.call

    def call(self, operation: str, payload: dict) -> dict:
        started = time.perf_counter()
        try:
            return self._call(operation, payload)
        finally:
            with self._lock:
                entry = self.totals.setdefault(operation, [0, 0.0])
                entry[0] += 1
                entry[1] += time.perf_counter() - started


def drain(forwarder: Forwarder, count: int, processes: dict[str, int]) -> dict:
    """Run the forwarder until `count` records are settled; progress marks and CPU use."""
    timings = {"Kinesis": Timed(forwarder.kinesis.client), "Timestream": Timed(forwarder.timestream)}
    cpu_before = {name: cpu_seconds(pid) for name, pid in processes.items()}
    cpu_before["forwarder"] = time.process_time()
    started = time.monotonic()
    thread = threading.Thread(target=forwarder.run, daemon=True)
    thread.start()
    marks: list[tuple[float, int]] = []
    queued: list[int] = []
    next_note = started + 10
    while time.monotonic() < started + 900:
        counts = forwarder.stats.snapshot()
        done = counts.written + counts.duplicates + counts.dead_lettered
        marks.append((time.monotonic() - started, done))
        queued.append(forwarder.queued_batches)
        if done >= count:
            break
        if time.monotonic() >= next_note:
            print(f"  {done:,} records written after {time.monotonic() - started:.0f} s", flush=True)
            next_note += 10
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in processes.items()}
    cpu["forwarder"] = time.process_time() - cpu_before["forwarder"]
    forwarder.request_stop()
    thread.join(timeout=60)
    return {
        "elapsed": elapsed,
        "marks": marks,
        "cpu": cpu,
        "counts": forwarder.stats.snapshot(),
        "queued": sum(queued) / max(len(queued), 1),
        "timings": timings,
    }


def report(count: int, result: dict) -> None:
    elapsed, marks, cpu, counts = result["elapsed"], result["marks"], result["cpu"], result["counts"]
    done = counts.written + counts.duplicates
    low = next((t for t, n in marks if n >= 0.1 * count), 0.0)
    high = next((t for t, n in marks if n >= 0.9 * count), elapsed)
    steady = 0.8 * count / max(high - low, 1e-9)
    print()
    print(f"records written          {done:,} of {count:,} (dead-lettered {counts.dead_lettered:,})")
    print(f"drain time               {elapsed:.1f} s for {count:,} records")
    print(
        f"end-to-end throughput    {done / elapsed:,.0f} rec/s over the run, {steady:,.0f} rec/s steady (10-90 %)"
    )
    print(f"  vs goal 10,000 rec/s   ratio {steady / 10_000:.2f}")
    hour = 115 * 3600
    print(
        f"one-hour backlog ({hour:,} records) drains in {hour / steady:.1f} s at the steady rate (goal < 60 s)"
    )
    print(f"retries                  {counts.retries:,}")
    print(
        f"batches waiting for a writer, on average: {result['queued']:.1f} "
        "(near 0: reading is the bottleneck; high: writing is)"
    )
    for service, timed in result["timings"].items():
        for operation, (calls, seconds) in sorted(timed.totals.items()):
            print(
                f"  {service} {operation}: {calls:,} calls, {1000 * seconds / max(calls, 1):.1f} ms each on average"
            )
    total = sum(cpu.values()) or 1e-9
    print(f"CPU seconds during the drain ({os.cpu_count()} cores = {os.cpu_count()} CPU-s per second):")
    for name, value in cpu.items():
        print(f"  {name:<18} {value:6.1f} s  ({value / elapsed:.2f} cores, {100 * value / total:.0f} %)")
    print(
        "  per record: "
        + ", ".join(f"{name} {1e6 * value / max(done, 1):.0f} us" for name, value in cpu.items())
    )


def run(count: int, writer_counts: list[int]) -> None:
    os.environ.update(LOCAL_CREDENTIALS)
    work = Path(tempfile.mkdtemp(prefix="bench-forwarder-"))
    kinesalite = start_kinesalite(work / "kinesis")
    store = start_timestream_local(work / "timestream")
    tables = [f"pm25_{n}" for n in range(len(writer_counts))]
    try:
        prepare(kinesalite, store, count, tables)
        logging.basicConfig(level=logging.WARNING, format="  %(levelname)s %(name)s: %(message)s")
        for table, writers in zip(tables, writer_counts, strict=True):
            settings = Settings(
                stream=STREAM,
                database="iot",
                table=table,
                region="us-east-1",
                kinesis_endpoint_url=kinesalite.url,
                timestream_endpoint_url=store.url,
                checkpoint_dir=work / f"checkpoints-{table}",
                writers=writers,
                summary_interval=3600,
            )
            forwarder = Forwarder(settings)
            forwarder.open()
            print(f"\n== draining the whole stream into iot.{table} with --writers {writers}")
            processes = {"kinesalite": kinesalite.process.pid, "timestream_local": store.process.pid}
            report(count, drain(forwarder, count, processes))
    finally:
        store.stop()
        kinesalite.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--records", type=int, default=115 * 3600, help="backlog size (default: one hour, 414,000)"
    )
    parser.add_argument(
        "--writers",
        default="2,1",
        help="forwarder WriteRecords threads; a comma-separated list drains the same backlog once per value, "
        "each into its own table (default: 2,1 - the forwarder's default, then one writer)",
    )
    args = parser.parse_args()
    run(args.records, [int(n) for n in args.writers.split(",")])


if __name__ == "__main__":
    main()
