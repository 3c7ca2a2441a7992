"""Timestream goes away mid-stream: the forwarder warns, keeps the records, and loses none of them,
even when it is itself killed during the outage (its checkpoints never passed unwritten records).
"""

from __future__ import annotations

import re
import signal
import time

import boto3

from tests.forwarder.helpers import (
    create_stream,
    create_table,
    forwarder_command,
    put,
    reading,
    scalar,
    start_forwarder,
    stop,
    unique,
    wait_until,
)
from tests.services import start_timestream_local


def test_an_outage_of_the_store_is_retried_with_warnings_and_loses_nothing(
    kinesalite, kinesis_client, tmp_path
):
    store = start_timestream_local(tmp_path / "store")
    port = store.port
    try:
        write = boto3.client("timestream-write", endpoint_url=store.url, region_name="us-east-1")
        query = boto3.client("timestream-query", endpoint_url=store.url, region_name="us-east-1")
        stream, table = unique("outage"), "pm25"
        create_stream(kinesis_client, stream, 2)
        create_table(write, table)
        base = (int(time.time()) - 3600) * 1000

        def batch(first: int, count: int) -> list:
            return [
                (reading(f"st-{n % 20}", base + n * 1000, n % 300), f"st-{n % 20}")
                for n in range(first, first + count)
            ]

        state = tmp_path / "state"
        argv = forwarder_command(stream, table, kinesalite, store, state)
        process = start_forwarder(argv, tmp_path / "forwarder.log")
        put(kinesis_client, stream, batch(0, 1000))
        count_sql = f'SELECT COUNT(*) FROM "iot"."{table}"'
        wait_until(lambda: scalar(query, count_sql) == "1000", 60, "the first records")

        store.stop()  # the store goes away...
        put(kinesis_client, stream, batch(1000, 1000))  # ...while records keep coming
        log_path = tmp_path / "forwarder.log"
        warning = re.compile(
            r"WARNING forwarder.writer: WriteRecords of \d+ records failed \(NetworkError: Connection refused\); "
            r"retrying in [\d.]+ s, keeping them until written"
        )
        wait_until(lambda: warning.search(log_path.read_text()), 30, "a visible warning")
        process.send_signal(signal.SIGKILL)  # and the forwarder dies during the outage
        process.wait(timeout=10)
        put(kinesis_client, stream, batch(2000, 500))

        store = start_timestream_local(tmp_path / "store", port=port)  # the store is back
        query = boto3.client("timestream-query", endpoint_url=store.url, region_name="us-east-1")
        process = start_forwarder(argv, log_path)  # (started earlier, it would refuse: store unreachable)
        wait_until(lambda: scalar(query, count_sql) == "2500", 90, "every record after the outage")
        code = stop(process, signal.SIGTERM)
        assert code == 0
        total = scalar(query, f'SELECT SUM(measure_value::bigint) FROM "iot"."{table}"')
        assert int(total) == sum(n % 300 for n in range(2500))
    finally:
        if process.poll() is None:
            process.kill()
        store.stop()
