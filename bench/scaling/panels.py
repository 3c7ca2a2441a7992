"""The nine "PM2.5 Analysis 1" panels over HTTP at one fleet size, or at two sizes side by side.

A real server on the built data directory answers the dashboard's nine queries, sent with boto3 as
Grafana's plugin sends them, in rounds (one warm-up); figures are medians. The panels ask for the
last 30 s, 5 min or 2 h before "now", so before each round the seconds that passed since the data's
end are written for every station through WriteRecords (the lean client), as a live fleet would
have: every round sees full windows and the newest rows arrive through the flusher, as they do.

Two sizes are compared side by side (``measure_side_by_side``): a server on each data directory,
their rounds alternating, so that the machine's slow and fast phases (±20 % from minute to minute
on this shared VM) fall on both sizes alike instead of deciding the ratio.
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

    @property
    def next_second(self) -> int:
        return self._next

    def close(self) -> None:
        self._writer.close()


_SERVED_QUERY = re.compile(r"POST \S+ Query -> 200 in ([\d.]+) ms")


def served_times(log_path: Path, count: int, repeat: int, extra_first: int = 0) -> list[float]:
    """Median seconds the server itself spent on each panel (its request log: ``extra_first``
    queries before the rounds, then per round the sync query and the panels; the first round is
    the warm-up). The server logs a request after answering it, so the last line may come a moment
    after the reply."""
    per_round = count + 1
    deadline = time.monotonic() + 5
    while True:
        served = [float(ms) / 1000 for ms in _SERVED_QUERY.findall(log_path.read_text())][extra_first:]
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
    next_second: int = 0  # the first second not yet written by the top-ups


@dataclass(frozen=True)
class Target:
    """A built data directory to measure: its fleet and the first second its rows do not hold."""

    data_dir: Path
    fleet: Catalogue
    next_second: int


class _Rig:
    """One server on one data directory, with its client and its top-ups."""

    def __init__(self, target: Target, lead_s: float) -> None:
        self.service = start_timestream_local(
            target.data_dir, extra_args=["--tier-interval", "3600", "--log-level", "DEBUG"]
        )
        try:
            self.client = boto3.client(
                "timestream-query",
                endpoint_url=self.service.url,
                region_name="us-east-1",
                config=Config(retries={"max_attempts": 1}),
            )
            newest = self.client.query(QueryString='SELECT to_nanoseconds(max(time)) FROM "iot"."pm25"')
            stored = newest["Rows"][0]["Data"][0].get("ScalarValue")  # rows a live ingest added count too
            start = max(target.next_second, int(stored) // NS + 1 if stored else 0)
            self.topup = TopUp(self.service.url, target.fleet, start, lead_s)
        except BaseException:
            self.service.stop()
            raise

    def prepare_round(self) -> None:
        """Write the seconds since the last round, then commit them before the timing."""
        self.topup.catch_up()
        self.client.query(QueryString=SYNC)

    def time_query(self, sql: str) -> tuple[float, int]:
        began = time.perf_counter()
        answer = self.client.query(QueryString=sql)
        return time.perf_counter() - began, len(answer["Rows"])

    def finish(
        self, samples: list[list[float]], rows: list[int], repeat: int, titles: list[str]
    ) -> PanelFigures:
        try:
            self.topup.close()
            status = proc_status(self.service.process.pid)
            server = served_times(self.service.log_path, len(samples), repeat, extra_first=1)
        finally:
            self.service.stop()
        return PanelFigures(
            http=[statistics.median(s) for s in samples],
            server=server,
            rows=rows,
            rss=status.get("VmRSS", 0),
            peak_rss=status.get("VmHWM", 0),
            topped_up=self.topup.written,
            titles=titles,
            next_second=self.topup.next_second,
        )


def measure_side_by_side(
    targets: list[Target], repeat: int, lead_s: float, log: Callable[[str], None]
) -> list[PanelFigures]:
    """The nine panels on every target at once, one server each: each round tops a target up and
    asks its nine panels, then the next target's, the target going first alternating between
    rounds, so that a slow or fast phase of the machine (seconds to minutes long) falls on all of
    them alike. Whole rounds, not single panels, alternate: switching servers for every query
    would give each query cold CPU caches (measured: ~1.5 ms more per panel at 115 stations,
    which would flatter the ratio). With one target, that target alone."""
    queries = panel_queries()
    titles = [title for title, _ in queries]
    rigs: list[_Rig] = []
    try:
        for target in targets:
            rigs.append(_Rig(target, lead_s))
        samples = [[[] for _ in queries] for _ in rigs]
        rows = [[0] * len(queries) for _ in rigs]
        for round_no in range(repeat + 1):
            order = list(range(len(rigs)))
            if round_no % 2:
                order.reverse()
            for k in order:  # one target's whole round, then the other's: each keeps its caches warm
                rigs[k].prepare_round()
                for i, (_title, sql) in enumerate(queries):
                    elapsed, rows[k][i] = rigs[k].time_query(sql)
                    if round_no:  # the first round warms up
                        samples[k][i].append(elapsed)
        figures = [rig.finish(samples[k], rows[k], repeat, titles) for k, rig in enumerate(rigs)]
        rigs.clear()
    finally:
        for rig in rigs:
            rig.service.stop()
    log(
        f"  panels measured ({', '.join(f'{f.topped_up:,}' for f in figures)} records written between rounds)"
    )
    return figures


def measure(
    data_dir: Path, fleet: Catalogue, end_ns: int, repeat: int, lead_s: float, log: Callable[[str], None]
) -> PanelFigures:
    """The nine panels on one built data directory (its rows end at ``end_ns``)."""
    return measure_side_by_side([Target(data_dir, fleet, end_ns // NS)], repeat, lead_s, log)[0]
