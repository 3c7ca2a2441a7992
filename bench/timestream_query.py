"""Query speed of timestream_local on the nine "PM2.5 Analysis 1" panel queries.

For each history length (default 24 h, then 7 days) it builds a data dir with 115 stations x one
PM2.5 reading per second (24 h ~ 10 M rows), written in time order through the store's own storage
layer in bulk (WriteRecords would take too long for 70 M rows), then sorted by series in closed time
blocks by the store's clusterer as a running store would have done (issue 18), with the table's memory-store
retention at 24 h so older days sit in the magnetic (Parquet) tier as they would in a running
system. Then it prints, per panel and in total:
  * http:   the nine rawQuery strings of dashboards/pm25-analysis-1.json sent with boto3's
            timestream-query client to a real server on that data dir (goal: all nine < 150 ms;
            with 7 days the 30 s and 5 min panels within 1.5x of their 24 h figure), and of that
            the server's own time per query (from its request log), the rest being boto3's;
  * refresh: the wall time of one dashboard refresh with the nine queries sent at once, each on
            its own connection, as Grafana's panels ask for their data: the first refresh, and
            refreshes after 30 more, once the server has prepared the queries on the client's
            connections (for information: the goal is on the sum of the nine one after another);
  * engine: the same through execute_query in-process (the Timestream layer without HTTP), on one
            connection with its prepared statements, as the server runs a client connection's;
  * duckdb: hand-written DuckDB queries giving the same answers (the engine's own work), prepared
            once on their connection as the engine's are, and the
            ratio engine / duckdb (goal <= 1.5x). They read the memory tier directly (its view,
            with the users' column names), as someone who knows that every panel's window lies
            inside the memory store would write them. The answers of engine and duckdb are compared.
Figures are medians over --repeat rounds after one warm-up round. Prints only; no pass/fail.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalogue import load_catalogue  # noqa: E402
from tests.services import LOCAL_CREDENTIALS, start_timestream_local  # noqa: E402
from timestream_local.catalog import VERSION_KEY, quote  # noqa: E402
from timestream_local.lru import LruCache  # noqa: E402
from timestream_local.models import Retention, WriteRequest, format_ns  # noqa: E402
from timestream_local.query import execute_query  # noqa: E402
from timestream_local.query.prepared import PreparedStatements  # noqa: E402
from timestream_local.store import Store  # noqa: E402
from timestream_local.watchdog import Watchdog  # noqa: E402

DASHBOARD = ROOT / "dashboards" / "pm25-analysis-1.json"
GOAL_TOTAL_MS = 150.0
TIMESTAMP_TEXT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9}$")
NS = 1_000_000_000


def panel_queries() -> list[tuple[str, str]]:
    board = json.loads(DASHBOARD.read_text())
    return [(p["title"], t["rawQuery"]) for p in board["panels"] for t in p.get("targets", [])]


# ----------------------------------------------------------------------------------- data


def build(data_dir: Path, hours: int, lead_s: float, log: Callable[[str], None]) -> tuple[int, int]:
    """A data dir holding `hours` of readings for every catalogue station; returns (rows, end_ns).

    The server answers ago() from the wall clock, so the newest hour is written last and runs
    until `lead_s` seconds into the future: the HTTP measurement right after sees full windows.
    """
    stations = load_catalogue().stations
    now_ns = time.time_ns() // NS * NS
    start_ns = now_ns - hours * 3600 * NS
    store = Store(data_dir)
    try:
        store.catalogue.create_database("iot")
        store.catalogue.create_table(
            "iot", "pm25", retention=Retention(memory_hours=24, magnetic_days=hours // 24 + 2)
        )
        # One real write registers the dimensions and the measure type, as the first WriteRecords would.
        first = {
            "Dimensions": [
                {"Name": "city", "Value": stations[0].city},
                {"Name": "location", "Value": stations[0].name},
            ],
            "MeasureName": "pm2.5",
            "MeasureValue": "1",
            "MeasureValueType": "BIGINT",
            "Time": str(now_ns - 60 * NS),
            "TimeUnit": "NANOSECONDS",
        }
        store.writer.write_records(WriteRequest("iot", "pm25", records=[first]))
        store.flusher.sync()
        table = store.catalogue.describe_table("iot", "pm25")
        con = store.database.connection
        con.execute(f"DELETE FROM {table.mem_table}")
        con.execute(
            "CREATE TEMP TABLE bench_stations (n INTEGER, city VARCHAR, location VARCHAR, baseline INTEGER)"
        )
        con.executemany(
            "INSERT INTO bench_stations VALUES (?, ?, ?, ?)",
            [(i, s.city, s.name, s.baseline) for i, s in enumerate(stations)],
        )

        # the tiers name the dimensions d<n> and the version column as the catalogue says
        columns = ", ".join(
            quote(table.physical_name(name))
            for name in ("city", "location", "measure_name", "time", "measure_value::bigint", VERSION_KEY)
        )

        def insert(first_second: int, last_second: int) -> None:
            con.execute(
                f"INSERT INTO {table.mem_table} ({columns}) "
                "SELECT city, location, 'pm2.5', make_timestamp_ns(? + i * 1000000000), "
                "baseline + (hash(i, n) % 11)::BIGINT - 5, 1 "
                "FROM range(?, ?) r(i) CROSS JOIN bench_stations ORDER BY i, n",
                [start_ns, first_second, last_second],
            )

        older = hours * 3600 - 3600
        for begin in range(0, older, 3 * 3600):
            insert(begin, min(begin + 3 * 3600, older))
            log(f"  {min(begin + 3 * 3600, older) / 3600:.0f} of {hours} h written")
        if hours > 24:
            log("  moving data older than 24 h to the magnetic tier ...")
            store.mover.run_once(now_ns)
        end_ns = (time.time_ns() + int(lead_s * NS)) // NS * NS
        insert(older, (end_ns - start_ns) // NS)
        log("  sorting the memory tier's closed blocks by series, as a running store does ...")
        store.mover.cluster_once(now_ns, catch_up=True)
        rows = con.execute(f"SELECT count(*) FROM {table.mem_table}").fetchone()[0]
        store.flusher.sync()
        return rows, end_ns
    finally:
        store.close()


# ------------------------------------------------------------------------- hand-written DuckDB


def _bin(column: str = "time") -> str:
    return f"make_timestamp_ns(epoch_ns({column}) // 30000000000 * 30000000000)"


def handwritten(title_queries: list[tuple[str, str]], now_ns: int, relation: str) -> list[str]:
    """DuckDB SQL written directly for the engine, giving each panel's answer, reading `relation`."""
    catalogue = load_catalogue()
    ago30 = f"TIMESTAMP_NS '{format_ns(now_ns - 30 * NS)}'"
    ago5m = f"TIMESTAMP_NS '{format_ns(now_ns - 300 * NS)}'"
    ago2h = f"TIMESTAMP_NS '{format_ns(now_ns - 7200 * NS)}'"
    out = []
    for city in catalogue.cities[:4]:
        pivot = ", ".join(
            f"CASE WHEN location = '{s.name}' THEN avg_pm25 END AS {s.alias}" for s in city.stations
        )
        out.append(
            f'SELECT {pivot} FROM (SELECT location, round(avg("measure_value::bigint"), 0) AS avg_pm25 '
            f"FROM {relation} WHERE measure_name = 'pm2.5' AND city = '{city.name}' AND time >= {ago30} "
            f"GROUP BY location, {_bin()} ORDER BY avg_pm25 DESC)"
        )
    out.append(
        "SELECT location, list({'time': time, 'value': \"measure_value::bigint\"} ORDER BY time) AS pm25 "
        f"FROM {relation} WHERE measure_name = 'pm2.5' AND location = 'huaqiao city' AND time >= {ago5m} "
        "GROUP BY location"
    )

    def interpolated(keys: str, since: str, extra: str) -> str:
        join = " AND ".join(f"g.{k} = {a}.{k}" for k in keys.split(", ") for a in ["{a}"]) if keys else ""
        prev_on = join.replace("{a}", "p")
        next_on = join.replace("{a}", "n")
        return (
            f'WITH b AS (SELECT {keys}, {_bin()} AS t, round(avg("measure_value::bigint"), 2) AS v FROM {relation} '
            f"WHERE measure_name = 'pm2.5'{extra} AND time > {since} GROUP BY {keys}, t), "
            f"g AS (SELECT {keys}, unnest(generate_series(min(t), max(t), INTERVAL 30 SECOND)) AS t FROM b GROUP BY {keys}), "
            f"i AS (SELECT {', '.join('g.' + k for k in keys.split(', '))}, g.t AS time, round(CASE WHEN p.t = g.t THEN p.v "
            "ELSE p.v + (n.v - p.v) * (epoch_ns(g.t) - epoch_ns(p.t)) / (epoch_ns(n.t) - epoch_ns(p.t)) END, 2) AS v "
            f"FROM g ASOF JOIN b p ON {prev_on} AND g.t >= p.t ASOF JOIN b n ON {next_on} AND g.t <= n.t)"
        )

    out.append(
        interpolated("location", ago2h, " AND location = 'huaqiao city'")
        + " SELECT time, v FROM i ORDER BY time"
    )
    city_pivot = ", ".join(f"CASE WHEN city = '{c.name}' THEN a END AS {c.alias}" for c in catalogue.cities)
    out.append(
        f"SELECT {city_pivot} FROM ("
        + interpolated("city, location", ago5m, "")
        + " SELECT city, avg(v) AS a FROM i GROUP BY city ORDER BY a DESC)"
    )
    for order in ("DESC", "ASC"):
        out.append(
            interpolated("city, location", ago5m, "")
            + f" SELECT city, location, avg(v) AS a FROM i GROUP BY city, location ORDER BY a {order} LIMIT 10"
        )
    return out


# ------------------------------------------------------------------------------------ timing


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def time_rounds(runners: dict[str, Callable[[int], Any]], count: int, repeat: int) -> dict[str, list[float]]:
    """Median seconds per runner and query index over `repeat` rounds, after one warm-up round.

    Runners take turns query by query, so that a busy machine slows all of them alike.
    """
    samples: dict[str, list[list[float]]] = {name: [[] for _ in range(count)] for name in runners}
    for round_no in range(repeat + 1):
        for i in range(count):
            for name, run in runners.items():
                began = time.perf_counter()
                run(i)
                if round_no:
                    samples[name][i].append(time.perf_counter() - began)
    return {name: [statistics.median(s) for s in per_query] for name, per_query in samples.items()}


REFRESH_WARM_UP = 30  # rounds; by then most of the client's connections have the queries prepared


def time_refresh(client: Any, queries: list[str], repeat: int) -> tuple[float, float]:
    """Seconds for all queries sent at once, one thread and connection each (a dashboard refresh):
    the first round, on new connections, and the median over `repeat` rounds after
    REFRESH_WARM_UP more (the server prepares a query text when a connection sends it again)."""
    samples = []
    with ThreadPoolExecutor(max_workers=len(queries)) as pool:
        for _ in range(1 + REFRESH_WARM_UP + repeat):
            began = time.perf_counter()
            for result in pool.map(lambda sql: client.query(QueryString=sql), queries):
                if not result["Rows"]:
                    raise SystemExit("a panel query returned no rows during the refresh timing")
            samples.append(time.perf_counter() - began)
    return samples[0], statistics.median(samples[1 + REFRESH_WARM_UP :])


_SERVED_QUERY = re.compile(r"POST \S+ Query -> 200 in ([\d.]+) ms")


def server_times(log_path: Path, count: int, repeat: int) -> list[float]:
    """Median seconds the server itself spent on each query in the time_rounds above (its log's
    request lines, in the order sent: one warm-up round, then `repeat` rounds). The server logs a
    request's line after sending its answer, so the last line may arrive a moment after the reply."""
    deadline = time.monotonic() + 5
    while True:
        served = [float(ms) / 1000 for ms in _SERVED_QUERY.findall(log_path.read_text())]
        if len(served) >= (repeat + 1) * count or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if len(served) < (repeat + 1) * count:
        raise SystemExit(f"the server logged {len(served)} queries, expected {(repeat + 1) * count}")
    rounds = [served[r * count : (r + 1) * count] for r in range(1, repeat + 1)]
    return [statistics.median(run[i] for run in rounds) for i in range(count)]


def _normalise(rows: list[tuple]) -> list[tuple]:
    def value(v: Any) -> Any:
        if isinstance(v, dt.datetime):
            return v.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(v, float):
            return round(v, 6)
        if isinstance(v, list):
            return tuple(value(x) for x in v)
        if isinstance(v, dict):
            return tuple(value(x) for x in v.values())
        return v

    return sorted((tuple(value(v) for v in row) for row in rows), key=repr)


def _wire_rows(result: Any) -> list[tuple]:
    def value(d: dict) -> Any:
        if "ScalarValue" in d:
            text = d["ScalarValue"]
            if TIMESTAMP_TEXT.match(text):
                return text[:19]
            try:
                return round(float(text), 6) if "." in text or "E" in text else int(text)
            except ValueError:
                return text
        if "TimeSeriesValue" in d:
            return tuple(value(p["Value"]) for p in d["TimeSeriesValue"])
        return None

    return sorted((tuple(value(d) for d in row["Data"]) for row in result.rows), key=repr)


def measure(
    data_dir: Path, hours: int, now_ns: int, repeat: int, log: Callable[[str], None]
) -> dict[str, Any]:
    queries = panel_queries()
    figures: dict[str, Any] = {}

    # over HTTP with boto3, against a real server (it reads the wall clock: measured first)
    # (its DEBUG log has one line per request with the server's own time for it)
    service = start_timestream_local(data_dir, extra_args=["--tier-interval", "3600", "--log-level", "DEBUG"])
    try:
        client = boto3.client(
            "timestream-query",
            endpoint_url=service.url,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}),
        )
        figures.update(
            time_rounds({"http": lambda i: client.query(QueryString=queries[i][1])}, len(queries), repeat)
        )
        figures["server"] = server_times(service.log_path, len(queries), repeat)
        figures["refresh"] = time_refresh(client, [sql for _, sql in queries], repeat)
    finally:
        service.stop()

    # in-process, "now" fixed at the data's end: engine vs hand-written DuckDB on one connection
    store = Store(data_dir)
    try:
        cursor = store.reader.cursor()
        written = handwritten(queries, now_ns, store.catalogue.describe_table("iot", "pm25").recent_view)
        for i, text in enumerate(written):  # prepared once, as the engine prepares its own texts
            cursor.execute(f"PREPARE hand_{i} AS {text}")
        watchdog = Watchdog()  # as the server runs queries: timeouts by one watchdog thread,
        layouts: LruCache = LruCache(512)  # the column layouts of the texts it ran kept,
        prepared = PreparedStatements(store.reader.cursor())  # and one connection's prepared statements
        runners = {
            "engine": lambda i: execute_query(
                prepared.cursor,
                queries[i][1],
                60,
                now_ns=now_ns,
                tiers=store.reader,
                watchdog=watchdog,
                layouts=layouts,
                prepared=prepared,
            ),
            "duckdb": lambda i: cursor.execute(f"EXECUTE hand_{i}").fetchall(),
        }
        figures.update(time_rounds(runners, len(queries), repeat))
        mismatched = []
        for i, (title, sql) in enumerate(queries):
            engine = _wire_rows(
                execute_query(store.reader.cursor(), sql, 60, now_ns=now_ns, tiers=store.reader)
            )
            direct = _normalise(
                [tuple(_epoch_free(v) for v in row) for row in cursor.execute(written[i]).fetchall()]
            )
            if engine != direct:
                mismatched.append(title)
        figures["mismatched"] = mismatched
    finally:
        store.close()
    log(f"  measured {hours} h")
    return figures


def _epoch_free(value: Any) -> Any:
    if isinstance(value, list):
        return [v["value"] if isinstance(v, dict) else v for v in value]
    return value


def report(hours: int, rows: int, figures: dict[str, Any], titles: list[str]) -> None:
    print(
        f"\n{hours} h of history ({rows:,} rows in the memory tier"
        + (", the rest in Parquet)" if hours > 24 else ")")
    )
    print(
        f"  {'panel':50s} {'http ms':>8s} {'server ms':>10s} {'engine ms':>10s} {'duckdb ms':>10s} {'ratio':>6s}"
    )
    for i, title in enumerate(titles):
        http, server = figures["http"][i], figures["server"][i]
        engine, direct = figures["engine"][i], figures["duckdb"][i]
        print(
            f"  {i + 1}. {title[:47]:47s} {http * 1000:8.1f} {server * 1000:10.1f} {engine * 1000:10.1f}"
            f" {direct * 1000:10.1f} {engine / direct:6.2f}"
        )
    total_http, total_server = sum(figures["http"]) * 1000, sum(figures["server"]) * 1000
    total_engine = sum(figures["engine"]) * 1000
    total_direct = sum(figures["duckdb"]) * 1000
    print(
        f"  {'all nine':50s} {total_http:8.1f} {total_server:10.1f} {total_engine:10.1f} {total_direct:10.1f}"
        f" {total_engine / total_direct:6.2f}"
    )
    print(
        f"  goal: all nine over HTTP < {GOAL_TOTAL_MS:.0f} ms -> {'met' if total_http < GOAL_TOTAL_MS else 'NOT met'}"
        f" ({total_server:.0f} ms in the server, {total_http - total_server:.0f} ms in boto3 and on the way)"
    )
    first, steady = (seconds * 1000 for seconds in figures["refresh"])
    print(
        f"  one dashboard refresh, the nine sent at once (wall time): {steady:.1f} ms after "
        f"{REFRESH_WARM_UP} refreshes; {first:.1f} ms on new connections"
    )
    print(f"  goal: engine / hand-written DuckDB <= 1.5 -> {total_engine / total_direct:.2f}")
    mismatched = figures.get("mismatched") or []
    print(
        "  answers engine vs hand-written: " + ("identical" if not mismatched else f"DIFFER for {mismatched}")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--hours", type=int, nargs="+", default=[24, 168], help="history lengths (default: 24 168)"
    )
    parser.add_argument("--repeat", type=int, default=11, help="timed rounds per figure (default: 11)")
    parser.add_argument(
        "--lead", type=float, default=4.0, help="seconds of data beyond the build's end (default: 4)"
    )
    parser.add_argument(
        "--work-dir", type=Path, help="where to build the data dirs (default: a temporary folder)"
    )
    args = parser.parse_args(argv)
    for key, value in LOCAL_CREDENTIALS.items():
        import os  # noqa: PLC0415

        os.environ.setdefault(key, value)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    titles = [title for title, _ in panel_queries()]
    results: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="tsl-bench-", dir=args.work_dir) as work:
        for hours in args.hours:
            data_dir = Path(work) / f"{hours}h"
            log(f"building {hours} h of data for 115 stations in {data_dir} ...")
            began = time.perf_counter()
            rows, now_ns = build(data_dir, hours, args.lead, log)
            log(f"  built in {time.perf_counter() - began:.0f} s")
            results[hours] = measure(data_dir, hours, now_ns, args.repeat, log)
            report(hours, rows, results[hours], titles)
    if 24 in results and len(results) > 1:
        base = results[24]["http"]
        for hours, figures in results.items():
            if hours == 24:
                continue
            print(f"\n{hours} h vs 24 h over HTTP (goal for the 30 s and 5 min panels: <= 1.5x)")
            for i, title in enumerate(titles):
                print(f"  {i + 1}. {title[:55]:55s} {figures['http'][i] / base[i]:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
