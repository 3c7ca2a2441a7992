"""The "PM2.5 Air Quality" dashboard over 7 days of history: its queries on the hourly rollup next to
the same answers computed from the raw readings.

In one run, against a fresh timestream_local (its own free port and temporary data dir):
  1. the playbook's own role (roles/pipeline_resources, through ansible-playbook, as `make demo`
     runs it) creates the database, the readings table iot.pm25, the rollup table iot.pm25_hourly
     and the scheduled query pm25-hourly-rollup. Two settings differ from `make demo`: the readings
     table takes magnetic-store writes (the history is written after the fact, most of it older than
     the memory store's 24 h) and keeps its magnetic data a day longer than the history, so that no
     reading expires during the run;
  2. the project's simulator (`python -m simulator --sink timestream --backfill ...`) writes --days
     of history for the catalogue's 115 stations over HTTP, one reading per station every
     --interval seconds (default 10 s: ~7 M readings in ~3 minutes here; the real fleet sends one a
     second, 10x as many, which would make the raw side's work ~10x and leave the rollup's the same);
  3. the scheduled query rolls them up: ExecuteScheduledQuery once for each past hour, as
     `python -m local_pipeline rollup-catch-up` does (local_pipeline/rollup.py), timed;
  4. each panel's query (the rawQuery of dashboards/pm25-air-quality.json, sent as Grafana's
     Timestream plugin sends it: the dashboard uses no $__ macros) is timed against a query written
     here that computes the same answer from the raw readings (RAW_QUERIES), over HTTP with boto3,
     interleaved panel by panel, --repeat rounds after a warm-up round, medians;
  5. both answers are compared (IAQI and category exactly, means to 1e-9 relative); a mismatch is
     printed loudly (the exit status stays 0, as for every `make bench` script).
The raw queries end where the rollup does, at the start of the current hour (the hourly rollup holds
whole past hours only), so both answer the same question. Rows read are the rows in each query's
window of the table it reads (timestream_local's CumulativeBytesScanned counts the answer's bytes,
not the data read). Prints figures only; no pass/fail.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalogue import Catalogue, load_catalogue  # noqa: E402
from dashboards.air_quality_queries import DAY_OFFSET  # noqa: E402
from dashboards.aqi import category_sql, iaqi_sql  # noqa: E402
from dashboards.queries import quote_identifier, quote_literal  # noqa: E402
from dashboards.timestream_rows import QueryResult, run_query  # noqa: E402
from local_pipeline.rollup import HOUR, RUN_OFFSET, find_arn  # noqa: E402
from tests.services import LOCAL_CREDENTIALS, start_timestream_local  # noqa: E402

DASHBOARD = ROOT / "dashboards" / "pm25-air-quality.json"
ROLLUP_NAME = "pm25-hourly-rollup"  # roles/pipeline_resources/defaults/main.yml
MEASURE = "pm2.5"  # the simulator's measure name
REL_TOLERANCE = 1e-9
# What the local play passes for AWS's required parts of a scheduled query (roles/local_stack/tasks/start.yml).
LOCAL_ROLLUP_VARS = {
    "pipeline_resources_rollup_execution_role_arn": "arn:aws:iam::000000000000:role/pm25-rollup-local",
    "pipeline_resources_rollup_topic_arn": "arn:aws:sns:us-east-1:000000000000:pm25-rollup-local",
    "pipeline_resources_rollup_error_bucket": "pm25-rollup-errors",
}
PLAYBOOK = """\
- name: Create the pipeline's Timestream resources for bench/air_quality.py
  hosts: localhost
  gather_facts: false
  roles:
    - role: pipeline_resources
"""


# ------------------------------------------------------------------------ the raw-readings queries

# The readings each raw query reads: the dashboard's window, ending where the hourly rollup ends.
RAW_WINDOW_24H = "time >= bin(now(), 1h) - 24h AND time < bin(now(), 1h)"
RAW_WINDOW_7D = f"time >= bin(now() + {DAY_OFFSET}, 1d) - {DAY_OFFSET} - 6d AND time < bin(now(), 1h)"
# The rows the dashboard's queries read in the rollup table (their WHERE clauses).
ROLLUP_WINDOW_24H = "time >= bin(now(), 1h) - 24h"
ROLLUP_WINDOW_7D = f"time >= bin(now() + {DAY_OFFSET}, 1d) - {DAY_OFFSET} - 6d"


def _raw_city_means_24h(source: str) -> str:
    """CTEs: each city's mean of its raw readings over the last 24 whole hours, then its IAQI."""
    return (
        "city_24h AS (\n"
        "  SELECT city, AVG(measure_value::bigint) AS pm25_24h\n"
        f"  FROM {source}\n"
        f"  WHERE measure_name = {quote_literal(MEASURE)} AND {RAW_WINDOW_24H}\n"
        "  GROUP BY city\n"
        "),\n"
        "city_iaqi AS (\n"
        f"  SELECT city, pm25_24h, {iaqi_sql('pm25_24h')} AS iaqi\n"
        "  FROM city_24h\n"
        ")"
    )


def raw_queries(catalogue: Catalogue, database: str = "iot", table: str = "pm25") -> list[str]:
    """The dashboard's three panels, each computed from the raw readings (same columns, same order)."""
    source = f"{quote_identifier(database)}.{quote_identifier(table)}"
    means = _raw_city_means_24h(source)
    city_table = (
        f"WITH {means}\n"
        "SELECT city, ROUND(pm25_24h, 1) AS pm25_24h, iaqi,\n"
        f"  {category_sql('iaqi')} AS category\n"
        "FROM city_iaqi\n"
        "ORDER BY iaqi DESC, city"
    )
    cases = ",\n  ".join(
        f"CASE WHEN city = {quote_literal(city.name)} THEN iaqi ELSE NULL END AS {city.alias}"
        for city in catalogue.cities
    )
    pivot = f"SELECT\n  {cases}\nFROM (\nWITH {means}\nSELECT city, iaqi FROM city_iaqi\n)"
    day = f"bin(time + {DAY_OFFSET}, 1d) - {DAY_OFFSET}"
    trend = (
        "SELECT city, CREATE_TIME_SERIES(day, pm25_daily) AS pm25_daily\n"
        "FROM (\n"
        f"  SELECT city, {day} AS day, ROUND(AVG(measure_value::bigint), 1) AS pm25_daily\n"
        f"  FROM {source}\n"
        f"  WHERE measure_name = {quote_literal(MEASURE)} AND {RAW_WINDOW_7D}\n"
        f"  GROUP BY city, {day}\n"
        ")\n"
        "GROUP BY city\n"
        "ORDER BY city"
    )
    return [city_table, pivot, trend]


def window_counts(
    database: str = "iot", table: str = "pm25", rollup: str = "pm25_hourly"
) -> list[tuple[str, str]]:
    """Per panel, (rows the rollup query reads, rows the raw query reads) as COUNT(*) queries."""
    raw = f"{quote_identifier(database)}.{quote_identifier(table)}"
    derived = f"{quote_identifier(database)}.{quote_identifier(rollup)}"

    def count(source: str, measure: str, window: str) -> str:
        return f"SELECT COUNT(*) FROM {source} WHERE measure_name = {quote_literal(measure)} AND {window}"

    day = (count(derived, "pm25_hourly", ROLLUP_WINDOW_24H), count(raw, MEASURE, RAW_WINDOW_24H))
    week = (count(derived, "pm25_hourly", ROLLUP_WINDOW_7D), count(raw, MEASURE, RAW_WINDOW_7D))
    return [day, day, week]


def dashboard_panels() -> list[tuple[str, str]]:
    """(title, rawQuery) of each panel of the generated dashboard JSON, as Grafana sends them."""
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    panels = [(p["title"], t["rawQuery"]) for p in board["panels"] for t in p.get("targets", [])]
    for title, sql in panels:
        if "$__" in sql:
            raise SystemExit(
                f"bench/air_quality.py: the panel {title!r} now uses a Grafana macro ($__...); teach "
                "dashboard_panels() to expand it as the Timestream plugin does before timing it."
            )
    return panels


# ------------------------------------------------------------------------------ answers agree?


def differences(rollup: QueryResult, raw: QueryResult) -> list[str]:
    """Where two answers differ: columns, row count, or values (floats to 1e-9 relative, else exactly).

    Rows are matched after sorting both by their non-float parts (the pivot's rows come in no order)."""
    if rollup.columns != raw.columns:
        return [f"columns {rollup.columns} vs {raw.columns}"]
    if len(rollup.rows) != len(raw.rows):
        return [f"{len(rollup.rows)} rows vs {len(raw.rows)}"]
    found: list[str] = []
    for left, right in zip(sorted(rollup.rows, key=_row_key), sorted(raw.rows, key=_row_key), strict=True):
        if not _same(left, right):
            found.append(f"{left} vs {right}")
    return found


def _row_key(row: Any) -> str:
    def exact(value: Any) -> Any:
        if isinstance(value, float):
            return "float"
        if isinstance(value, list | tuple):
            return [exact(v) for v in value]
        return value

    return repr(exact(row))


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=REL_TOLERANCE)
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right, strict=True))
    return left == right and type(left) is type(right)


# ---------------------------------------------------------------------------------- the steps


def create_resources(url: str, days: int, work: Path, log: Callable[[str], None]) -> None:
    """The database, both tables and the scheduled query, by the playbook's role pipeline_resources."""
    playbook = work / "resources.yml"
    playbook.write_text(PLAYBOOK, encoding="utf-8")
    extra = {
        "pipeline_resources_manage_kinesis": False,
        "pipeline_resources_timestream_endpoint_url": url,
        "pipeline_resources_access_key": LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "pipeline_resources_secret_key": LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "pipeline_resources_magnetic_store_writes": True,
        "pipeline_resources_magnetic_store_retention_days": days + 1,
        **LOCAL_ROLLUP_VARS,
    }
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
    }
    log("creating the database, tables and scheduled query with roles/pipeline_resources ...")
    done = subprocess.run(
        [str(bin_dir / "ansible-playbook"), str(playbook), "-e", json.dumps(extra)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(
            f"bench/air_quality.py: ansible-playbook could not create the resources (exit {done.returncode}):\n"
            + (done.stdout + done.stderr)[-3000:]
        )


def load_history(url: str, days: int, interval: float, seed: int, log: Callable[[str], None]) -> float:
    """Write the history with the project's simulator; returns its wall time in seconds."""
    log(
        f"loading {days} days of history (one reading per station every {interval:g} s) with the simulator ..."
    )
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "--sink", "timestream", "--endpoint-url", url,
         "--backfill", f"{days}d", "--duration", "0", "--interval", f"{interval:g}",
         "--seed", str(seed), "--report-every", "15", "--log-level", "info"],
        cwd=ROOT, env={**os.environ, **LOCAL_CREDENTIALS}, check=False,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(
            f"bench/air_quality.py: the simulator stopped with exit {done.returncode} (see above)"
        )
    return time.perf_counter() - began


def hour_start(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


class Rollup:
    """The scheduled query, run for each whole past hour not yet rolled up (and timed)."""

    def __init__(self, client: Any, first_hour: datetime) -> None:
        self.client = client
        self.arn = find_arn(client, ROLLUP_NAME)
        self.next_hour = first_hour
        self.seconds: list[float] = []

    def catch_up(self, log: Callable[[str], None] | None = None) -> int:
        """ExecuteScheduledQuery at minute 5 after each past hour, as its schedule would have; returns how many."""
        current = hour_start(datetime.now(UTC))
        hours = []
        while self.next_hour < current:
            hours.append(self.next_hour)
            self.next_hour += HOUR
        for done, hour in enumerate(hours, start=1):
            began = time.perf_counter()
            self.client.execute_scheduled_query(
                ScheduledQueryArn=self.arn, InvocationTime=hour + HOUR + RUN_OFFSET
            )
            self.seconds.append(time.perf_counter() - began)
            if log and (done % 24 == 0 or done == len(hours)):
                log(f"  rolled up {done} of {len(hours)} hours (up to {hour:%Y-%m-%d %H:00} UTC)")
        return len(hours)


def count_rows(client: Any, sql: str) -> int:
    return int(run_query(client, sql).rows[0][0])


def timed_rounds(
    client: Any, pairs: list[tuple[str, str]], rollup: Rollup, repeat: int, log: Callable[[str], None]
) -> list[tuple[float, float]]:
    """Median seconds of (rollup query, raw query) per panel over `repeat` rounds after a warm-up
    round, the two taking turns panel by panel so a busy machine slows both alike."""
    samples: list[tuple[list[float], list[float]]] = [([], []) for _ in pairs]
    for round_no in range(repeat + 1):
        rollup.catch_up()  # a new hour began: roll it up first, as the schedule would
        for index, queries in enumerate(pairs):
            for side, sql in enumerate(queries):
                began = time.perf_counter()
                run_query(client, sql)
                if round_no:
                    samples[index][side].append(time.perf_counter() - began)
        log(f"  round {round_no} of {repeat} done" + (" (warm-up)" if not round_no else ""))
    return [(statistics.median(a), statistics.median(b)) for a, b in samples]


def compare(client: Any, pairs: list[tuple[str, str]], rollup: Rollup) -> list[list[str]]:
    """Each panel's differences between the two answers, asked within one hour (retried across one)."""
    while True:
        rollup.catch_up()
        hour = hour_start(datetime.now(UTC))
        found = [differences(run_query(client, a), run_query(client, b)) for a, b in pairs]
        if hour_start(datetime.now(UTC)) == hour:
            return found


# ------------------------------------------------------------------------------------ output


def report(
    titles: list[str],
    timings: list[tuple[float, float]],
    rows: list[tuple[int, int]],
    mismatches: list[list[str]],
    setup: dict[str, Any],
) -> None:
    print(
        f"\n{setup['days']} days of history, 115 stations, one reading per station every {setup['interval']:g} s: "
        f"{setup['readings']:,} readings, loaded in {setup['load_s']:.0f} s "
        f"({setup['readings'] / setup['load_s']:,.0f} records/s through the simulator)"
    )
    hours = setup["rollup_seconds"]
    print(
        f"rollup: {len(hours)} ExecuteScheduledQuery runs (one per past hour) in {sum(hours):.1f} s, "
        f"median {statistics.median(hours) * 1000:.0f} ms an hour; {setup['rollup_rows']:,} rollup rows"
    )
    print(
        f"\n  {'panel':58s} {'rollup ms':>9s} {'raw ms':>8s} {'raw/rollup':>10s} {'rows: rollup':>13s} {'raw':>10s}"
    )
    for index, title in enumerate(titles):
        fast, slow = timings[index]
        print(
            f"  {index + 1}. {title[:55]:55s} {fast * 1000:9.1f} {slow * 1000:8.1f} {slow / fast:10.1f}"
            f" {rows[index][0]:13,} {rows[index][1]:10,}"
        )
    total_fast = sum(t[0] for t in timings)
    total_slow = sum(t[1] for t in timings)
    bad = [(titles[i], found) for i, found in enumerate(mismatches) if found]
    print(
        f"  summary: the {len(titles)} panels take {total_fast * 1000:.0f} ms from the rollup, {total_slow * 1000:.0f} ms "
        f"from raw readings ({total_slow / total_fast:.1f}x), medians of {setup['repeat']} rounds over HTTP; answers "
        + ("agree (IAQI and category exactly, means to 1e-9 relative)" if not bad else "DIFFER (see below)")
    )
    for title, found in bad:
        print(f"\n  !!! MISMATCH in {title!r}: the rollup's answer and the raw readings' differ:")
        for line in found[:10]:
            print(f"  !!!   {line}")
        if len(found) > 10:
            print(f"  !!!   ... and {len(found) - 10} more")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=7, help="days of history (default: 7, the trend's week)")
    parser.add_argument(
        "--interval", type=float, default=10.0,
        help="seconds between two readings of a station (default: 10; the real fleet: 1)",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=7, help="timed rounds per query (default: 7)")
    parser.add_argument("--seed", type=int, default=16, help="the simulator's seed (default: 16)")
    parser.add_argument(
        "--work-dir", type=Path, help="where the store's data goes (default: a temporary folder)"
    )
    args = parser.parse_args(argv)
    if args.days < 1 or args.interval <= 0 or args.repeat < 1:
        parser.error("--days and --repeat must be at least 1 and --interval above 0")
    for key, value in LOCAL_CREDENTIALS.items():
        os.environ.setdefault(key, value)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    panels = dashboard_panels()
    pairs = list(zip([sql for _, sql in panels], raw_queries(load_catalogue()), strict=True))
    with tempfile.TemporaryDirectory(prefix="bench-aq-", dir=args.work_dir) as work:
        service = start_timestream_local(Path(work) / "timestream")
        try:
            client = boto3.client(
                "timestream-query", endpoint_url=service.url, region_name="us-east-1",
                config=Config(retries={"max_attempts": 1}, read_timeout=300),
            )  # fmt: skip
            create_resources(service.url, args.days, Path(work), log)
            started = datetime.now(UTC)
            load_s = load_history(service.url, args.days, args.interval, args.seed, log)
            log(
                "rolling the history up with the scheduled query, one ExecuteScheduledQuery per past hour ..."
            )
            rollup = Rollup(client, hour_start(started - timedelta(days=args.days)))
            rollup.catch_up(log)
            log(f"timing the {len(pairs)} panels, rollup and raw in turn ...")
            timings = timed_rounds(client, pairs, rollup, args.repeat, log)
            mismatches = compare(client, pairs, rollup)
            rows = [(count_rows(client, a), count_rows(client, b)) for a, b in window_counts()]
            setup = {
                "days": args.days, "interval": args.interval, "repeat": args.repeat, "load_s": load_s,
                "readings": count_rows(client, 'SELECT COUNT(*) FROM "iot"."pm25"'),
                "rollup_rows": count_rows(client, 'SELECT COUNT(*) FROM "iot"."pm25_hourly"'),
                "rollup_seconds": rollup.seconds,
            }  # fmt: skip
        finally:
            service.stop()
    report([title for title, _ in panels], timings, rows, mismatches, setup)
    if any(mismatches):
        log("!!! the rollup's answers and the raw readings' DIFFER: see the MISMATCH lines above")
    return 0


if __name__ == "__main__":
    sys.exit(main())
