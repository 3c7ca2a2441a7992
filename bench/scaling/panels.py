"""The nine "PM2.5 Analysis 1" panels over HTTP at one fleet size.

A real server on the built data directory answers the dashboard's nine queries, sent with boto3 as
Grafana's plugin sends them, in rounds (one warm-up); figures are medians. The panels ask for the
last 30 s, 5 min or 2 h before "now", so before each round the seconds that passed since the data's
end are written for every station through WriteRecords (the lean client), as a live fleet would
have: every round sees full windows and the newest rows arrive through the flusher, as they do.
"""

from __future__ import annotations

import re
import statistics
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config
from timestream_query import panel_queries

from catalogue import Catalogue
from scaling.lean import LeanWriter, reading
from tests.services import start_timestream_local

NS = 1_000_000_000
SYNC = 'SELECT count(*) FROM "iot"."pm25" WHERE time > ago(1s)'


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in bytes (Linux /proc)."""
    found = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return found


def value(baseline: int, number: int, second: int) -> int:
    return baseline + zlib.crc32(f"{number}:{second}".encode()) % 11 - 5


class TopUp:
    """Writes every station's readings for the seconds from ``next_second`` up to now + ``lead_s``."""

    def __init__(self, url: str, fleet: Catalogue, next_second: int, lead_s: float) -> None:
        self._writer = LeanWriter(url)
        self._stations = [(n, s.city, s.name, s.baseline) for n, s in enumerate(fleet.stations)]
        self._next = next_second
        self._lead = lead_s
        self.written = 0

    def catch_up(self) -> None:
        target = int(time.time() + self._lead) + 1
        records = (
            reading(city, name, value(baseline, n, second), second * 1000)
            for second in range(self._next, target)
            for n, city, name, baseline in self._stations
        )
        self.written += self._writer.write_all(records)
        self._next = max(self._next, target)

    def close(self) -> None:
        self._writer.close()


_SERVED_QUERY = re.compile(r"POST \S+ Query -> 200 in ([\d.]+) ms")


def served_times(log_path: Path, count: int, repeat: int) -> list[float]:
    """Median seconds the server itself spent on each panel (its request log: per round the sync
    query, then the panels; the first round is the warm-up). The server logs a request after
    answering it, so the last line may come a moment after the reply."""
    per_round = count + 1
    deadline = time.monotonic() + 5
    while True:
        served = [float(ms) / 1000 for ms in _SERVED_QUERY.findall(log_path.read_text())]
        if len(served) >= (repeat + 1) * per_round or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    rounds = [served[r * per_round + 1 : (r + 1) * per_round] for r in range(1, repeat + 1)]
    if len(served) < (repeat + 1) * per_round:
        raise SystemExit(f"the server logged {len(served)} queries, expected {(repeat + 1) * per_round}")
    return [statistics.median(run[i] for run in rounds) for i in range(count)]


@dataclass
class PanelFigures:
    http: list[float]  # seconds, median per panel
    server: list[float]  # the server's own time per panel (its request log)
    rows: list[int]  # rows of each panel's answer
    rss: int = 0
    peak_rss: int = 0
    topped_up: int = 0
    titles: list[str] = field(default_factory=list)


def measure(
    data_dir: Path, fleet: Catalogue, end_ns: int, repeat: int, lead_s: float, log: Callable[[str], None]
) -> PanelFigures:
    queries = panel_queries()
    service = start_timestream_local(data_dir, extra_args=["--tier-interval", "3600", "--log-level", "DEBUG"])
    try:
        client = boto3.client(
            "timestream-query",
            endpoint_url=service.url,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}),
        )
        topup = TopUp(service.url, fleet, end_ns // NS, lead_s)
        samples: list[list[float]] = [[] for _ in queries]
        rows = [0] * len(queries)
        try:
            for round_no in range(repeat + 1):
                topup.catch_up()
                client.query(QueryString=SYNC)  # commits the rows just written, before the timing
                for i, (_title, sql) in enumerate(queries):
                    began = time.perf_counter()
                    answer = client.query(QueryString=sql)
                    elapsed = time.perf_counter() - began
                    if round_no:
                        samples[i].append(elapsed)
                    rows[i] = len(answer["Rows"])
        finally:
            topup.close()
        status = proc_status(service.process.pid)
        server = served_times(service.log_path, len(queries), repeat)
    finally:
        service.stop()
    log(f"  panels measured ({topup.written:,} records written between rounds)")
    return PanelFigures(
        http=[statistics.median(s) for s in samples],
        server=server,
        rows=rows,
        rss=status.get("VmRSS", 0),
        peak_rss=status.get("VmHWM", 0),
        topped_up=topup.written,
        titles=[title for title, _ in queries],
    )
