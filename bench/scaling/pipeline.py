"""End-to-end ingest at one fleet size: simulator -> kinesalite -> forwarder -> timestream_local,
live at one reading per station per second, each component its own process as the local pipeline
runs them, so that /proc says how much CPU each one used.

While it runs, a probe asks the store every PROBE_EVERY seconds for the newest reading of a sample
of stations (one query, as a dashboard would): a reading's freshness is the time from its timestamp
to the first probe that saw it (an upper bound, at most PROBE_EVERY late). The first WARM_UP seconds
(processes starting, the forwarder finding its shards) are left out of every figure.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config

from catalogue import Catalogue
from scaling.panels import proc_status
from tests.services import LOCAL_CREDENTIALS, ROOT, start_kinesalite, start_timestream_local

NS = 1_000_000_000
PROBE_EVERY = 0.25
WARM_UP = 20.0
SAMPLE = 24  # stations the probe follows, spread over the fleet
SILENT_GAP_S = 10  # a station's newest reading jumping further ahead than this was silent meanwhile
STREAM = "bench-scale"
KINESIS_SHARD_RECORDS = 1000  # records/s one Kinesis shard takes (AWS's limit): shards for the fleet


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its waited-for children (Linux /proc), 0 when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far (/proc/stat)."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    total = sum(parts[:8])
    ticks = os.sysconf("SC_CLK_TCK")
    return (total - idle) / ticks, total / ticks


@dataclass
class IngestFigures:
    stations: int
    seconds: float  # measured (after the warm-up)
    shards: int
    cpu: dict[str, float] = field(default_factory=dict)  # cores used, per component
    machine: float = 0.0  # cores busy on the whole machine meanwhile
    generated: int = 0  # readings the simulator sent in the measured window (from the store's view)
    stored: int = 0  # readings stored with a timestamp in the measured window
    freshness: list[float] = field(default_factory=list)  # seconds, per reading seen by the probe
    thirds: list[float] = field(default_factory=list)  # freshness p50 in each third of the window
    simulator_behind: float = 0.0  # the simulator's own lag behind the clock at its last summary, s
    forwarder_lag: str = ""  # the forwarder's MillisBehindLatest at its last summary
    store_rss: int = 0
    errors: list[str] = field(default_factory=list)


def _start(argv: list[str], log_path: Path) -> subprocess.Popen:
    env = {**os.environ, **LOCAL_CREDENTIALS, "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as out:
        return subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _parse_time(text: str) -> int:
    """A query result's timestamp ('2026-03-01 12:00:00.000000000') as epoch ns."""
    day, clock = text.split(" ")
    whole, _, fraction = clock.partition(".")
    moment = dt.datetime.fromisoformat(f"{day}T{whole}+00:00")
    return int(moment.timestamp()) * NS + int((fraction or "0").ljust(9, "0"))


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Probe:
    """Follows the newest visible reading of a sample of stations."""

    def __init__(self, url: str, fleet: Catalogue) -> None:
        stations = fleet.stations
        step = max(1, len(stations) // SAMPLE)
        self.names = [s.name for s in stations[::step][:SAMPLE]]
        quoted = ", ".join("'" + n.replace("'", "''") + "'" for n in self.names)
        self.sql = (
            'SELECT location, max(time) AS newest FROM "iot"."pm25" '
            f"WHERE time > ago(2m) AND location IN ({quoted}) GROUP BY location"
        )
        self.client = boto3.client(
            "timestream-query",
            endpoint_url=url,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}),
        )
        self.newest: dict[str, int] = {}
        self.samples: list[tuple[int, float]] = []  # (reading time ns, freshness s)

    def poll(self, count_from_ns: int) -> None:
        sent = time.time_ns()
        answer = self.client.query(QueryString=self.sql)
        for row in answer["Rows"]:
            name, newest = (d.get("ScalarValue") for d in row["Data"])
            if newest is None:
                continue
            newest_ns = _parse_time(newest)
            previous = self.newest.get(name)
            self.newest[name] = max(newest_ns, previous or newest_ns)
            if previous is None or newest_ns <= previous:
                continue
            # every reading in (previous, newest] became visible by the time this probe was sent; a
            # longer gap is a station the simulator silenced (a sensor dropout, minutes long): its
            # missing seconds were never written, so only the newest reading counts (a pipeline
            # that fell behind shows in how late that reading is)
            first = previous + NS if newest_ns - previous <= SILENT_GAP_S * NS else newest_ns
            for reading_ns in range(first, newest_ns + 1, NS):
                if reading_ns >= count_from_ns:
                    self.samples.append((reading_ns, (sent - reading_ns) / NS))


def _create_stream(url: str, shards: int) -> None:
    kinesis = boto3.client("kinesis", endpoint_url=url, region_name="us-east-1")
    kinesis.create_stream(StreamName=STREAM, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=STREAM, WaiterConfig={"Delay": 0.2})


def run(
    data_dir: Path,
    fleet: Catalogue,
    catalogue_file: Path,
    seconds: float,
    work: Path,
    log: Callable[[str], None],
) -> IngestFigures:
    stations = len(fleet.stations)
    shards = max(1, math.ceil(stations / KINESIS_SHARD_RECORDS))
    figures = IngestFigures(stations=stations, seconds=0.0, shards=shards)
    kinesalite = start_kinesalite(work / "kinesis")
    store = start_timestream_local(data_dir)  # the default tier interval: moves and clustering as deployed
    processes: dict[str, subprocess.Popen] = {}
    try:
        _create_stream(kinesalite.url, shards)
        python = sys.executable
        processes["forwarder"] = _start(
            [
                python, "-m", "forwarder", "--stream", STREAM, "--database", "iot", "--table", "pm25",
                "--region", "us-east-1", "--kinesis-endpoint-url", kinesalite.url,
                "--timestream-endpoint-url", store.url, "--checkpoint-dir", str(work / "checkpoints"),
                "--dead-letter", str(work / "dead-letters.jsonl"), "--summary-interval", "10",
            ],
            work / "forwarder.log",
        )  # fmt: skip
        total = WARM_UP + seconds
        processes["simulator"] = _start(
            [
                python, "-m", "simulator", "--catalogue", str(catalogue_file), "--endpoint-url", kinesalite.url,
                "--stream", STREAM, "--duration", f"{total + 2:.0f}s", "--seed", "1", "--report-every", "10",
            ],
            work / "simulator.log",
        )  # fmt: skip
        pids = {
            "simulator": processes["simulator"].pid,
            "kinesalite": kinesalite.process.pid,
            "forwarder": processes["forwarder"].pid,
            "timestream_local": store.process.pid,
        }
        probe = Probe(store.url, fleet)
        started = time.monotonic()
        window_start = time.time_ns() + int(WARM_UP * NS)
        before: dict[str, float] = {}
        busy_before = (0.0, 0.0)
        own_before = 0.0
        next_note = started + 30
        while time.monotonic() - started < total:
            if not before and time.monotonic() - started >= WARM_UP:
                before = {name: cpu_seconds(pid) for name, pid in pids.items()}
                busy_before = machine_busy()
                own_before = time.process_time()
                measured_from = time.monotonic()
            for name, process in processes.items():
                if process.poll() is not None:
                    raise SystemExit(
                        f"the {name} stopped early:\n{(work / f'{name}.log').read_text()[-2000:]}"
                    )
            try:
                probe.poll(window_start)
            except Exception as error:  # a probe that fails is a figure, not the end of the run
                figures.errors.append(f"probe: {error}")
            if time.monotonic() >= next_note:
                next_note += 30
                log(
                    f"  {time.monotonic() - started:.0f} of {total:.0f} s, {len(probe.samples):,} readings probed"
                )
            time.sleep(PROBE_EVERY)
        elapsed = time.monotonic() - measured_from
        busy_after = machine_busy()
        figures.cpu = {name: (cpu_seconds(pid) - before[name]) / elapsed for name, pid in pids.items()}
        figures.cpu["probe (this bench)"] = (time.process_time() - own_before) / elapsed
        figures.machine = (busy_after[0] - busy_before[0]) / elapsed
        figures.seconds = elapsed
        figures.store_rss = proc_status(store.process.pid).get("VmRSS", 0)
        _summarise(figures, probe, window_start, work, store.url)
    finally:
        for process in processes.values():
            _stop(process)
        store.stop()
        kinesalite.stop()
    return figures


def _summarise(figures: IngestFigures, probe: Probe, window_start: int, work: Path, url: str) -> None:
    """Freshness, the components' own lag reports and the readings of the window that were stored."""
    window_end = time.time_ns()
    figures.freshness = [f for _t, f in probe.samples]
    third = (window_end - window_start) / 3
    for k in range(3):
        low, high = window_start + k * third, window_start + (k + 1) * third
        figures.thirds.append(_percentile([f for t, f in probe.samples if low <= t < high], 0.5))
    figures.simulator_behind = _last_behind((work / "simulator.log").read_text(errors="replace"))
    figures.forwarder_lag = _last_lag((work / "forwarder.log").read_text(errors="replace"))
    # the readings of the measured window that reached the store (the last 10 s may be on their way)
    query = boto3.client("timestream-query", endpoint_url=url, region_name="us-east-1")
    low_s, high_s = window_start // NS + 1, window_end // NS - 10
    answer = query.query(
        QueryString=f'SELECT count(*) FROM "iot"."pm25" WHERE time >= from_milliseconds({low_s * 1000}) '
        f"AND time < from_milliseconds({high_s * 1000})"
    )
    figures.stored = int(answer["Rows"][0]["Data"][0]["ScalarValue"])
    figures.generated = figures.stations * max(0, high_s - low_s)


_BEHIND = re.compile(r"live: .*?, ([\d.]+) s behind")
_LAG = re.compile(r"\| lag ([^|]+) \|")


def _last_behind(text: str) -> float:
    lines = [line for line in text.splitlines() if "live: " in line and " records in " in line]
    if not lines:
        return 0.0
    found = _BEHIND.search(lines[-1])
    return float(found.group(1)) if found else 0.0


def _last_lag(text: str) -> str:
    found = _LAG.findall(text)
    return found[-1].strip() if found else "?"
