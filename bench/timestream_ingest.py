"""WriteRecords ingest rate of timestream_local through its HTTP API, from one client.

Starts a fresh server (or uses --url), creates a table and sends batches of 100 PM2.5 records
(115 stations, one record per station per second, as the simulator does) for --seconds, then prints
records/s against the goal (>= 50,000 records/s). Two clients are measured:
  * boto3's timestream-write client (keep-alive connection, parameter validation off), the way the
    forwarder writes, and
  * a lean client: one keep-alive HTTP connection, the JSON body encoded with msgspec and SigV4-signed
    with botocore's signer (what a compiled SDK such as Go's or Java's spends per call is closer to
    this), also into a table whose composite partition key REQUIRES a dimension.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import msgspec
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.services import LOCAL_CREDENTIALS, start_timestream_local  # noqa: E402

GOAL = 50_000
STATIONS = 115
BATCH = 100


def batches(start_ms: int, prefix: str = "station"):
    """Endless 100-record batches: station i at second s, in time order, as the forwarder sends them."""
    n = 0
    while True:
        records = []
        for _ in range(BATCH):
            second, station = divmod(n, STATIONS)
            records.append(
                {
                    "Dimensions": [
                        {"Name": "city", "Value": f"city{station % 12}"},
                        {"Name": "location", "Value": f"{prefix}{station}"},
                    ],
                    "MeasureValue": str(20 + (n * 7919) % 200),
                    "Time": str(start_ms + second * 1000),
                }
            )
            n += 1
        yield records


COMMON = {"MeasureName": "pm2.5", "MeasureValueType": "BIGINT", "TimeUnit": "MILLISECONDS"}


def run_boto3(url: str, database: str, table: str, seconds: float, start_ms: int) -> tuple[int, float]:
    client = boto3.client(
        "timestream-write",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )
    source = batches(start_ms)
    sent = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        client.write_records(
            DatabaseName=database, TableName=table, CommonAttributes=COMMON, Records=next(source)
        )
        sent += BATCH
    return sent, time.perf_counter() - began


def run_lean(
    url: str, database: str, table: str, seconds: float, start_ms: int, prefix: str = "station"
) -> tuple[int, float]:
    source = batches(start_ms, prefix)
    began = time.perf_counter()

    def until_time_is_up():
        while time.perf_counter() - began < seconds:
            yield next(source)

    sent = run_lean_records(url, database, table, until_time_is_up())
    return sent, time.perf_counter() - began


def run_lean_records(url: str, database: str, table: str, record_batches) -> int:
    """Send each batch of records (with COMMON as common attributes) on one keep-alive connection,
    signed with SigV4; returns how many records were sent."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    signer = SigV4Auth(
        Credentials(LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"], LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]),
        "timestream",
        "us-east-1",
    )
    sent = 0
    for records in record_batches:
        body = msgspec.json.encode(
            {
                "DatabaseName": database,
                "TableName": table,
                "CommonAttributes": COMMON,
                "Records": records,
            }
        )
        request = AWSRequest(
            method="POST",
            url=url + "/",
            data=body,
            headers={
                "X-Amz-Target": "Timestream_20181101.WriteRecords",
                "Content-Type": "application/x-amz-json-1.0",
            },
        )
        signer.add_auth(request)
        connection.request("POST", "/", body=body, headers=dict(request.headers.items()))
        response = connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise SystemExit(f"WriteRecords failed: {response.status} {payload[:300]!r}")
        sent += len(records)
    connection.close()
    return sent


def run_lean_pipelined(
    url: str, database: str, table: str, seconds: float, start_ms: int, connections: int = 2
) -> tuple[int, float]:
    """The lean client with several keep-alive connections in threads of this one process, so the
    client prepares the next request while the server handles the previous one."""
    with ThreadPoolExecutor(max_workers=connections) as pool:
        began = time.perf_counter()
        futures = [
            pool.submit(run_lean, url, database, table, seconds, start_ms, f"c{k}-station")
            for k in range(connections)
        ]
        sent = sum(f.result()[0] for f in futures)
    return sent, time.perf_counter() - began


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None where that is not available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="an already running timestream_local (default: start a fresh one)")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each client writes (default: 5)")
    args = parser.parse_args()

    os.environ.update(LOCAL_CREDENTIALS)
    service = None
    with tempfile.TemporaryDirectory(prefix="tsl-bench-") as scratch:
        url = args.url
        if url is None:
            service = start_timestream_local(Path(scratch) / "data")
            url = service.url
        try:
            admin = boto3.client("timestream-write", endpoint_url=url, region_name="us-east-1")
            database = f"bench{int(time.time())}"
            admin.create_database(DatabaseName=database)
            # start far enough back that `seconds` of data at 115 records/s never reaches the future
            start_ms = int(time.time() * 1000) - 5 * 3600 * 1000
            print(
                f"timestream_local WriteRecords ingest, {BATCH}-record batches, {STATIONS} stations, one client"
            )
            print(f"  (load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
            # the last table's partition key requires the "location" dimension every record has: the
            # check costs the streaming path a scan of one column per batch
            required = {
                "CompositePartitionKey": [
                    {"Type": "DIMENSION", "Name": "location", "EnforcementInRecord": "REQUIRED"}
                ]
            }
            runners = (
                ("boto3", run_boto3, None),
                ("lean HTTP", run_lean, None),
                ("lean HTTP, 2 connections", run_lean_pipelined, None),
                ("lean HTTP, REQUIRED key", run_lean, required),
            )
            for number, (name, runner, schema) in enumerate(runners):
                table = f"ingest{number}"
                admin.create_table(
                    DatabaseName=database, TableName=table, **({"Schema": schema} if schema else {})
                )
                cpu_before = cpu_seconds(service.process.pid) if service else None
                sent, elapsed = runner(url, database, table, args.seconds, start_ms)
                cpu_after = cpu_seconds(service.process.pid) if service else None
                line = (
                    f"  {name:<25} {sent:>8,} records in {elapsed:5.2f} s = {sent / elapsed:>9,.0f} records/s"
                    f"  (goal >= {GOAL:,}: {sent / elapsed / GOAL:.2f}x)"
                )
                if cpu_before is not None and cpu_after is not None:
                    per_record = (cpu_after - cpu_before) / sent
                    line += (
                        f"; server CPU {per_record * 1e6:.1f} us/record (one core: {1 / per_record:,.0f}/s)"
                    )
                print(line)
        finally:
            if service is not None:
                service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
