"""The InfluxDB comparison's ingest side (bench/peer_influxdb.py): what each client sends, and the
server-CPU figure printed beside the rates. Expected bodies are written by hand from InfluxDB 1.x's
line-protocol reference (tag values escape commas, equals signs and spaces with a backslash; `i`
marks an integer field) and from the WriteRecords request shape."""

from __future__ import annotations

import os
import time

import pytest

from bench import peer_influxdb
from bench.peer_influxdb import Ingest, influx_lines, timestream_records

ROWS = [
    ("Shenzhen", "huaqiao city", 1_764_892_800_000, 57),
    ("Beijing", "a,b=c", 1_764_892_801_000, 0),
]


def test_influx_lines_escape_tag_values_and_mark_integer_fields():
    assert influx_lines(ROWS) == (
        b"pm25,city=Shenzhen,location=huaqiao\\ city value=57i 1764892800000\n"
        b"pm25,city=Beijing,location=a\\,b\\=c value=0i 1764892801000"
    )


def test_timestream_records_carry_both_dimensions_and_the_value_and_time_as_strings():
    assert timestream_records(ROWS[:1]) == [
        {
            "Dimensions": [
                {"Name": "city", "Value": "Shenzhen"},
                {"Name": "location", "Value": "huaqiao city"},
            ],
            "MeasureValue": "57",
            "Time": "1764892800000",
        }
    ]


def test_ingest_counts_the_servers_cpu_per_record_and_the_rate(monkeypatch):
    monkeypatch.setattr(peer_influxdb, "SETTLE_S", 0.0)
    records = 1_000
    with Ingest(os.getpid(), records) as ingest:  # this process stands in for the server
        began = time.process_time()
        while time.process_time() - began < 0.3:  # 0.3 s of CPU: 300 us per record
            pass
    assert ingest.cpu_us == pytest.approx(300, abs=60)  # /proc's clock ticks are 10 ms
    assert records / 5 < ingest.rate <= records / 0.3  # timed over the busy loop: at least 0.3 s of wall time
