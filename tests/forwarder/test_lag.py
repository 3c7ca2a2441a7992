"""The summary's lag follows what is written: a stalled store (SIGSTOP) makes it grow, while reading
goes on; once the store answers again it falls back."""

from __future__ import annotations

import re
import signal
import threading
import time

import boto3

from tests.forwarder.helpers import (
    create_stream,
    create_table,
    forwarder_command,
    put,
    reading,
    start_forwarder,
    stop,
    unique,
    wait_until,
)
from tests.services import start_timestream_local

SUMMARY = re.compile(r"in [\d,]+ rec/s \| written ([\d,]+) .* \| lag ([\d.]+) (ms|s|min) \|")
UNIT_S = {"ms": 0.001, "s": 1.0, "min": 60.0}


def summaries(log_text: str) -> list[tuple[int, float]]:
    """(written, lag in seconds) of every summary line."""
    return [
        (int(written.replace(",", "")), float(value) * UNIT_S[unit])
        for written, value, unit in SUMMARY.findall(log_text)
    ]


def test_a_stalled_writer_shows_a_growing_lag(kinesalite, kinesis_client, tmp_path):
    store = start_timestream_local(tmp_path / "store")
    stopped = False
    feeding = threading.Event()
    try:
        write = boto3.client("timestream-write", endpoint_url=store.url, region_name="us-east-1")
        stream, table = unique("lag"), "pm25"
        create_stream(kinesis_client, stream, 1)
        create_table(write, table)

        def feed() -> None:  # 20 readings a second, as a small live fleet sends them
            while not feeding.is_set():
                now_ms = int(time.time() * 1000)
                put(
                    kinesis_client,
                    stream,
                    [(reading(f"st-{n}", now_ms, 10 + n), f"st-{n}") for n in range(20)],
                )
                feeding.wait(1.0)

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        log = tmp_path / "forwarder.log"
        process = start_forwarder(
            forwarder_command(stream, table, kinesalite, store, tmp_path / "state"), log
        )
        try:
            wait_until(lambda: any(w > 0 for w, _ in summaries(log.read_text())), 30, "records written")
            healthy = summaries(log.read_text())[-1][1]
            assert healthy < 2.5, log.read_text()
            store.process.send_signal(signal.SIGSTOP)  # the store hangs: writes neither succeed nor fail
            stopped = True
            mark = len(summaries(log.read_text()))
            time.sleep(7)
            stalled = summaries(log.read_text())[mark:]
            assert len(stalled) >= 5, log.read_text()
            written = {w for w, _ in stalled[1:]}
            assert len(written) == 1, "records were still written while the store was stopped"
            lags = [lag for _, lag in stalled]
            assert lags[-1] >= 5.0, lags  # the oldest unwritten record's age
            assert lags[-1] > lags[1] > 0, lags
            store.process.send_signal(signal.SIGCONT)
            stopped = False
            wait_until(lambda: summaries(log.read_text())[-1][1] < 2.5, 40, "the lag to fall back")
        finally:
            if stopped:  # let the forwarder finish its writes before it is stopped
                store.process.send_signal(signal.SIGCONT)
                stopped = False
            feeding.set()
            feeder.join(timeout=10)
            stop(process)
    finally:
        if stopped:
            store.process.send_signal(signal.SIGCONT)
        store.stop()
