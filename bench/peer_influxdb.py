"""timestream_local side by side with InfluxDB 1.x, the store most self-hosted Grafana IoT dashboards use.

Runs when `influxd` is installed (Debian: `apt-get install influxdb`); otherwise prints one line
saying so and exits 0. It starts its own influxd (loopback port, temporary data dir, no reporting)
and its own timestream_local, generates the same readings for both (the catalogue's 115 stations,
one PM2.5 reading per station per second for --minutes, ending now), and prints, in one run:
  * ingest: records/s into each over HTTP from one client connection, each with its best batch:
    InfluxDB's line protocol in batches of 5,000 lines (its documented sweet spot), timestream_local's
    WriteRecords in batches of 100 (AWS's limit), SigV4-signed, the JSON encoded with msgspec. Both
    clients encode each request inside the timed loop (the same work a live client does), and each
    server's own CPU per record is printed beside the rate (from /proc: a figure no client changes);
  * the nine "PM2.5 Analysis 1" panels: each dashboard query against timestream_local (Query over
    HTTP, SigV4-signed, decoded with msgspec) and its InfluxQL equivalent against InfluxDB (GROUP BY time(30s) fill(linear), subqueries for the per-city and
    per-station averages), medians over --repeat rounds, and whether the answers agree. Both are
    asked about the same fixed window: the dashboard's ago(...) is replaced by the data's end time,
    as InfluxQL's now() is. Ranking the stations (panels 8 and 9) is done by the client for
    InfluxDB (InfluxQL cannot order series by a value); that time is included.
Goal: timestream_local ahead on both (ratio InfluxDB / timestream_local > 1). Prints only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import boto3
import msgspec
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.timestream_ingest import cpu_seconds, run_lean_records  # noqa: E402
from catalogue import load_catalogue  # noqa: E402
from tests.services import LOCAL_CREDENTIALS, free_port, start_timestream_local  # noqa: E402

DASHBOARD = ROOT / "dashboards" / "pm25-analysis-1.json"
INFLUX_BATCH = 5_000
TIMESTREAM_BATCH = 100
OCT = "huaqiao city"  # panels 5 and 6 follow this Shenzhen station
SETTLE_S = 1.0  # after the last write: each server's CPU is counted this much longer (its flush)


class Ingest:
    """One store's ingest, timed from the first request to the last answer (the client's encoding
    included), and the server process's CPU over that time plus SETTLE_S, per record."""

    def __init__(self, pid: int, records: int) -> None:
        self.pid = pid
        self.records = records
        self.rate = 0.0  # records/s
        self.cpu_us = float("nan")  # the server's CPU, microseconds per record (nan without /proc)

    def __enter__(self) -> Ingest:
        self._cpu = cpu_seconds(self.pid)
        self._began = time.perf_counter()
        return self

    def __exit__(self, *error: object) -> None:
        self.rate = self.records / (time.perf_counter() - self._began)
        time.sleep(SETTLE_S)
        cpu = cpu_seconds(self.pid)
        if cpu is not None and self._cpu is not None:
            self.cpu_us = (cpu - self._cpu) / self.records * 1e6


def readings(stations: list[tuple[str, str]], start_s: int, seconds: int, seed: int = 7):
    """(city, location, time in ms, value) for each station each second, in time order."""
    rng = random.Random(seed)
    level = {station: rng.randint(20, 150) for station in stations}
    for second in range(start_s, start_s + seconds):
        for station in stations:
            level[station] = max(0, min(500, level[station] + rng.randint(-3, 3)))
            yield station[0], station[1], second * 1000, level[station]


# ------------------------------------------------------------------------------------------ InfluxDB


def start_influxd(work: Path) -> tuple[subprocess.Popen, int]:
    port, rpc = free_port(), free_port()
    config = work / "influxdb.conf"
    config.write_text(
        f'reporting-disabled = true\nbind-address = "127.0.0.1:{rpc}"\n'
        f'[meta]\n  dir = "{work}/meta"\n'
        f'[data]\n  dir = "{work}/data"\n  wal-dir = "{work}/wal"\n  query-log-enabled = false\n'
        f'[http]\n  bind-address = "127.0.0.1:{port}"\n  log-enabled = false\n'
        "[monitor]\n  store-enabled = false\n[continuous_queries]\n  enabled = false\n"
    )
    log = (work / "influxd.log").open("wb")
    process = subprocess.Popen(["influxd", "-config", str(config)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/ping")
            if connection.getresponse().status == 204:
                return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"influxd did not start; see {work / 'influxd.log'}")


def _escape_tag(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def influx_lines(rows: list[tuple[str, str, int, int]]) -> bytes:
    """One write request's body: a line-protocol line per reading (tag values escaped, the value an
    integer field, the time in ms)."""
    return b"\n".join(
        f"pm25,city={_escape_tag(city)},location={_escape_tag(location)} value={value}i {t}".encode()
        for city, location, t, value in rows
    )


def influx_ingest(port: int, pid: int, rows: list[tuple[str, str, int, int]]) -> Ingest:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    _influx_get(connection, "/query?" + urllib.parse.urlencode({"q": "CREATE DATABASE iot"}), post=True)
    with Ingest(pid, len(rows)) as ingest:
        for start in range(0, len(rows), INFLUX_BATCH):
            connection.request(
                "POST", "/write?db=iot&precision=ms", body=influx_lines(rows[start : start + INFLUX_BATCH])
            )
            response = connection.getresponse()
            payload = response.read()
            if response.status != 204:
                raise SystemExit(f"InfluxDB write failed: {response.status} {payload[:300]!r}")
    connection.close()
    return ingest


def _influx_get(connection: http.client.HTTPConnection, target: str, post: bool = False) -> dict:
    connection.request("POST" if post else "GET", target)
    response = connection.getresponse()
    payload = json.loads(response.read() or b"{}")
    if response.status != 200 or any("error" in r for r in payload.get("results", [])):
        raise SystemExit(f"InfluxQL failed: {payload}")
    return payload


def influx_query(connection: http.client.HTTPConnection, influxql: str) -> list[dict]:
    target = "/query?" + urllib.parse.urlencode({"db": "iot", "q": influxql, "epoch": "ms"})
    return _influx_get(connection, target)["results"][0].get("series", [])


# ---------------------------------------------------------------------------------- timestream_local


def timestream_records(rows: list[tuple[str, str, int, int]]) -> list[dict]:
    """One WriteRecords call's records (the measure's name, type and time unit go in CommonAttributes)."""
    return [
        {"Dimensions": [{"Name": "city", "Value": city}, {"Name": "location", "Value": location}],
         "MeasureValue": str(value), "Time": str(t)}
        for city, location, t, value in rows
    ]  # fmt: skip


def timestream_ingest(url: str, pid: int, rows: list[tuple[str, str, int, int]]) -> Ingest:
    batches = (
        timestream_records(rows[start : start + TIMESTREAM_BATCH])
        for start in range(0, len(rows), TIMESTREAM_BATCH)
    )
    with Ingest(pid, len(rows)) as ingest:
        run_lean_records(url, "iot", "pm25", batches)
    return ingest


class LeanQuery:
    """timestream_local's best query client, as InfluxDB's is plain HTTP + JSON: one keep-alive
    connection, the JSON body SigV4-signed with botocore's signer and decoded with msgspec (boto3's
    own parsing costs milliseconds per call)."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.url = url
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        credentials = Credentials(
            LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"], LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
        )
        self.signer = SigV4Auth(credentials, "timestream", "us-east-1")

    def query(self, QueryString: str, NextToken: str | None = None) -> dict:
        body = msgspec.json.encode(
            {"QueryString": QueryString, **({"NextToken": NextToken} if NextToken else {})}
        )
        headers = {"X-Amz-Target": "Timestream_20181101.Query", "Content-Type": "application/x-amz-json-1.0"}
        request = AWSRequest(method="POST", url=self.url + "/", data=body, headers=headers)
        self.signer.add_auth(request)
        self.connection.request("POST", "/", body=body, headers=dict(request.headers.items()))
        response = self.connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise SystemExit(f"Query failed: {response.status} {payload[:300]!r}")
        return msgspec.json.decode(payload)


def timestream_rows(client: LeanQuery, sql: str) -> list[list[str | None]]:
    rows, token = [], None
    while True:
        page = client.query(QueryString=sql, NextToken=token)
        rows += [
            [d.get("ScalarValue", d.get("TimeSeriesValue")) for d in row["Data"]] for row in page["Rows"]
        ]
        token = page.get("NextToken")
        if not token:
            return rows


def fixed_window(sql: str, end_ms: int) -> str:
    """The dashboard query with ago(X) as (end - X): both stores are asked about the same window."""
    return re.sub(r"ago\((\d+[smh])\)", lambda m: f"(from_milliseconds({end_ms}) - {m.group(1)})", sql)


# --------------------------------------------------------------------------- the panels in both forms


def _round(value: float, places: int) -> float:
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def panels(end_ms: int) -> list[tuple]:
    """(title, dashboard SQL, InfluxQL, answer from timestream rows, answer from influx series, how
    answers compare) for the nine panels.
    Answers are put in one comparable form: sorted tuples, values rounded as the dashboard rounds."""
    end = f"{end_ms}ms"

    def per_location_ts(rows):  # the pivot: one non-null cell per row, named after its location
        return sorted((i, float(v)) for row in rows for i, v in enumerate(row) if v is not None)

    def city_panel(city: str, index: dict[str, int]):
        influxql = (f"SELECT mean(value) FROM pm25 WHERE city = '{city}' AND time >= {end} - 30s "
                    f"AND time <= {end} GROUP BY time(30s), location")  # fmt: skip

        def from_influx(series):
            return sorted(
                (index[s["tags"]["location"]], float(_round(v[1], 0)))
                for s in series for v in s["values"] if v[1] is not None
            )  # fmt: skip

        return influxql, per_location_ts, from_influx

    def interpolated(since: str) -> str:
        return (f"SELECT mean(value) AS m FROM pm25 WHERE time > {end} - {since} AND time <= {end} "
                "GROUP BY time(30s), city, location fill(linear)")  # fmt: skip

    def by_station(series):
        return {(s["tags"]["city"], s["tags"]["location"]): s["values"][0][1] for s in series}

    def ranked(descending: bool):
        def from_ts(rows):
            return [(c, loc, _round(float(v), 2)) for c, loc, v in rows]

        def from_influx(series):
            means = sorted(by_station(series).items(), key=lambda kv: kv[1], reverse=descending)[:10]
            return [(c, loc, _round(v, 2)) for (c, loc), v in means]

        return from_ts, from_influx

    def close(a: list, b: list, tolerance: float = 0.011) -> bool:
        return len(a) == len(b) and all(
            x[:-1] == y[:-1] and abs(x[-1] - y[-1]) <= tolerance for x, y in zip(a, b, strict=True)
        )

    result = []
    board = json.loads(DASHBOARD.read_text())
    queries = [(p["title"], t["rawQuery"]) for p in board["panels"] for t in p.get("targets", [])]
    for number, (title, sql) in enumerate(queries, start=1):
        if number <= 4:
            city = re.search(r"city = '([^']+)'", sql).group(1)
            names = re.findall(r"WHEN location = '([^']+)'", sql)
            influxql, from_ts, from_influx = city_panel(city, {n: i for i, n in enumerate(names)})
            result.append((title, sql, influxql, from_ts, from_influx, close))
        elif number == 5:
            influxql = (
                f"SELECT value FROM pm25 WHERE location = '{OCT}' AND time >= {end} - 5m AND time <= {end}"
            )
            result.append((title, sql, influxql,
                           lambda rows: len(rows[0][1]) if rows else 0,
                           lambda series: len(series[0]["values"]) if series else 0,
                           lambda a, b: a == b))  # fmt: skip
        elif number == 6:
            influxql = (f"SELECT mean(value) FROM pm25 WHERE location = '{OCT}' AND time > {end} - 2h "
                        f"AND time <= {end} GROUP BY time(30s) fill(linear)")  # fmt: skip
            result.append((title, sql, influxql,
                           lambda rows: [(_round(float(v), 2),) for _t, v in rows],
                           lambda series: [(_round(v[1], 2),) for v in series[0]["values"] if v[1] is not None],
                           close))  # fmt: skip
        elif number == 7:
            influxql = f"SELECT mean(m) FROM ({interpolated('5m')}) GROUP BY city"
            cities = re.findall(r"WHEN city = '([^']+)'", sql)
            result.append((title, sql, influxql,
                           lambda rows, cities=cities: sorted((cities[i], _round(float(v), 2)) for row in rows
                                                              for i, v in enumerate(row) if v is not None),
                           lambda series: sorted((s["tags"]["city"], _round(s["values"][0][1], 2)) for s in series),
                           close))  # fmt: skip
        else:
            influxql = f"SELECT mean(m) FROM ({interpolated('5m')}) GROUP BY city, location"
            from_ts, from_influx = ranked(descending=number == 8)
            result.append((title, sql, influxql, from_ts, from_influx, close))
    return result


def median_ms(run: Callable[[], object], repeat: int) -> tuple[float, object]:
    answer = run()  # warm-up, and the answer compared
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--minutes", type=int, default=120, help="history length (default 120: panel 6 reads 2 h)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds per panel (default 5)")
    args = parser.parse_args()
    if shutil.which("influxd") is None:
        print("peer_influxdb: skipped: influxd is not installed (Debian: apt-get install influxdb)")
        return 0

    catalogue = load_catalogue()
    stations = [(station.city, station.name) for station in catalogue.stations]
    end_s = int(time.time()) // 30 * 30 - 30
    rows = list(readings(stations, end_s - args.minutes * 60, args.minutes * 60))
    end_ms = rows[-1][2]
    print(f"peer_influxdb: {len(stations)} stations x {args.minutes} min at 1 Hz = {len(rows):,} readings")

    with tempfile.TemporaryDirectory(prefix="peer-influx-") as work_dir:
        work = Path(work_dir)
        influxd, port = start_influxd(work)
        service = start_timestream_local(work / "timestream")
        try:
            kwargs = {"endpoint_url": service.url, "region_name": "us-east-1",
                      "config": Config(retries={"max_attempts": 1}), **_credentials()}  # fmt: skip
            write = boto3.client("timestream-write", **kwargs)
            write.create_database(DatabaseName="iot")
            write.create_table(
                DatabaseName="iot", TableName="pm25",
                RetentionProperties={"MemoryStoreRetentionPeriodInHours": 24,
                                     "MagneticStoreRetentionPeriodInDays": 7},
            )  # fmt: skip
            influx = influx_ingest(port, influxd.pid, rows)
            timestream = timestream_ingest(service.url, service.process.pid, rows)
            print(f"ingest  InfluxDB {influx.rate:>10,.0f} rec/s (line protocol, {INFLUX_BATCH:,}/request; "
                  f"server CPU {influx.cpu_us:.2f} us/record)   timestream_local {timestream.rate:>10,.0f} rec/s "
                  f"(WriteRecords, {TIMESTREAM_BATCH}/request; server CPU {timestream.cpu_us:.2f} us/record)   "
                  f"ratio {timestream.rate / influx.rate:.2f}, server CPU ratio {influx.cpu_us / timestream.cpu_us:.2f}")  # fmt: skip
            query = LeanQuery(service.url)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            totals = [0.0, 0.0]
            agreed = 0
            table = panels(end_ms)
            for number, (title, sql, influxql, from_ts, from_influx, same) in enumerate(table, start=1):
                ts_sql = fixed_window(sql, end_ms)
                ts_ms, ts_rows = median_ms(lambda s=ts_sql: timestream_rows(query, s), args.repeat)
                in_ms, in_series = median_ms(lambda q=influxql: influx_query(connection, q), args.repeat)
                equal = same(from_ts(ts_rows), from_influx(in_series))
                agreed += equal
                totals[0] += ts_ms
                totals[1] += in_ms
                print(f"panel {number}  timestream_local {ts_ms:7.1f} ms  InfluxDB {in_ms:7.1f} ms  "
                      f"ratio {in_ms / ts_ms:5.2f}  answers {'agree' if equal else 'DIFFER'}  {title[:48]}")  # fmt: skip
            print(f"nine panels  timestream_local {totals[0]:.1f} ms  InfluxDB {totals[1]:.1f} ms  "
                  f"ratio {totals[1] / totals[0]:.2f}; answers agree on {agreed}/9")  # fmt: skip
            ahead = timestream.rate > influx.rate and totals[0] < totals[1]
            print(f"peer_influxdb: ingest x{timestream.rate / influx.rate:.2f}, panels x{totals[1] / totals[0]:.2f} "
                  f"(goal > 1 on both) -> {'met' if ahead else 'not met'}")  # fmt: skip
        finally:
            service.stop()
            influxd.terminate()
            influxd.wait(timeout=30)
    return 0


def _credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


if __name__ == "__main__":
    raise SystemExit(main())
