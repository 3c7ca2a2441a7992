"""Simulator figures (printed, never asserted): records/s to stdout and to local Kinesis, and CPU
per simulated second in live mode (goal: under 2% of one core for 115 stations at 1 reading/s).

Run: .venv/bin/python bench/simulator.py [--live-seconds 20] [--records 300000]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from catalogue import load_catalogue  # noqa: E402
from simulator.model import FleetModel  # noqa: E402
from simulator.runner import Runner, Schedule, StopSignal  # noqa: E402
from simulator.sinks import KinesisSink, StdoutSink  # noqa: E402
from tests.services import LOCAL_CREDENTIALS, start_kinesalite  # noqa: E402

HOUR_MS = 3_600_000


def fleet() -> FleetModel:
    catalogue = load_catalogue()
    return FleetModel(catalogue.stations, seed=1, timezone=catalogue.timezone)


def backfill_rate(sink, records: int) -> tuple[float, float]:
    """(records/s, CPU seconds) generating ``records`` past readings into ``sink``."""
    now_ms = int(time.time() * 1000)
    schedule = Schedule.build(1000, now_ms, start_ms=now_ms - 48 * HOUR_MS, live_ms=0, count=records)
    stop = StopSignal()
    cpu, wall = time.process_time(), time.perf_counter()
    report = Runner(fleet(), sink, schedule, stop, report_every=3600).run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stop.close()
    return report.records / wall, cpu


def live_cpu(sink, seconds: float) -> tuple[float, int]:
    """(CPU seconds per simulated second, records) for ``seconds`` of live running."""
    now_ms = int(time.time() * 1000)
    schedule = Schedule.build(1000, now_ms, live_ms=int(seconds * 1000))
    stop = StopSignal()
    runner = Runner(fleet(), sink, schedule, stop, report_every=3600)
    cpu, wall = time.process_time(), time.perf_counter()
    report = runner.run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stop.close()
    return cpu / wall, report.records


def model_rate(ticks: int = 2000) -> float:
    """Readings per CPU second of the value model alone (no encoding, no sink)."""
    model = fleet()
    start = int(time.time() * 1000) - 24 * HOUR_MS
    began = time.process_time()
    readings = sum(len(model.readings_at(start + k * 1000)) for k in range(ticks))
    return readings / (time.process_time() - began)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=300_000, help="records for the stdout figure")
    parser.add_argument("--kinesis-records", type=int, default=60_000, help="records for the Kinesis figure")
    parser.add_argument("--live-seconds", type=float, default=20.0, help="seconds of live running per sink")
    args = parser.parse_args()
    logging.getLogger("simulator").setLevel(logging.WARNING)
    os.environ.update(LOCAL_CREDENTIALS)

    print(f"value model alone:           {model_rate():>10,.0f} readings per CPU second")
    with open(os.devnull, "wb") as devnull:
        rate, cpu = backfill_rate(StdoutSink(devnull), args.records)
    print(
        f"stdout sink (to /dev/null):  {rate:>10,.0f} records/s   ({args.records:,} records, {cpu:.1f} CPU s)"
    )

    with tempfile.TemporaryDirectory() as folder:
        service = start_kinesalite(Path(folder) / "data")
        try:
            client = boto3.client("kinesis", endpoint_url=service.url, region_name="us-east-1")
            stream = f"bench-{uuid.uuid4().hex[:6]}"
            client.create_stream(StreamName=stream, ShardCount=4)
            client.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.1})
            kinesis_rate, cpu = backfill_rate(KinesisSink(client, stream), args.kinesis_records)
            print(
                f"local Kinesis (kinesalite):  {kinesis_rate:>10,.0f} records/s   "
                f"({args.kinesis_records:,} records in PutRecords of 500, 4 shards, {cpu:.1f} simulator CPU s; "
                f"{kinesis_rate / rate:.2f} x stdout)"
            )
            share, records = live_cpu(KinesisSink(client, stream), args.live_seconds)
            print(
                f"live, 115 stations at 1/s to Kinesis: {share:.4f} CPU s per simulated second = "
                f"{100 * share:.2f}% of one core (goal < 2%; {records:,} records in {args.live_seconds:.0f} s)"
            )
        finally:
            service.stop()
    with open(os.devnull, "wb") as devnull:
        share, records = live_cpu(StdoutSink(devnull), args.live_seconds)
    print(
        f"live, 115 stations at 1/s to stdout:  {share:.4f} CPU s per simulated second = "
        f"{100 * share:.2f}% of one core (goal < 2%; {records:,} records in {args.live_seconds:.0f} s)"
    )


if __name__ == "__main__":
    main()
