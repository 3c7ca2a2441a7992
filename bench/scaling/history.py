"""History for the fleet-scale bench, written straight into a data directory's tiers.

WriteRecords would take hours for a day of 11,500 stations (a billion rows), so the rows go in
through the store's own storage layer in bulk, as bench/timestream_query.py writes its history, but
in the layout a running store leaves behind:

* an hour older than the memory retention, moved to a Parquet file by the store's own tier mover;
* the memory tier's closed ten-minute blocks each written sorted by series (the store's
  ``series_order``: the city, then the stations' names), with the clustering mark that says so
  (Clusterer.mark_clustered), as the store's clusterer leaves them: writing them in that order
  directly spares sorting a billion rows, which tests/timestream_local/test_clustering.py checks
  the clusterer does itself;
* the open ten-minute block in arrival order (time, then station), as the flusher appends it,
  then sorted by the store's own clusterer (``Mover.cluster_once``).

With a store that does not cluster (the layout before issue 18), every row is written in arrival
order. One value per station and second: its baseline plus a hash of (station, second) in -5..5,
whatever the layout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from catalogue import Catalogue
from timestream_local.catalog import VERSION_KEY, TableInfo, quote
from timestream_local.models import Retention, WriteRequest
from timestream_local.store import Store

NS = 1_000_000_000
TABLE_COLUMNS = ("city", "location", "measure_name", "time", "measure_value::bigint", VERSION_KEY)
NOTE_EVERY = 20.0  # seconds between progress lines

try:  # the store clusters its memory tier (issue 18); older stores keep arrival order
    from timestream_local.storage.memory import series_order
    from timestream_local.storage.mover import CLUSTER_SPANS_NS

    BLOCK_S: int | None = CLUSTER_SPANS_NS[-1] // NS
except ImportError:  # measuring the layout before
    series_order, BLOCK_S = None, None


def clustering_available() -> bool:
    return BLOCK_S is not None


@dataclass
class Built:
    memory_rows: int
    parquet_rows: int
    end_ns: int  # the newest second written, plus one
    seconds: float
    memory_hours: float
    parquet_hours: float


class _Writer:
    """Generates rows inside DuckDB: station lists in a temporary table, one INSERT per chunk."""

    def __init__(self, store: Store, table: TableInfo, fleet: Catalogue, clustered: bool) -> None:
        self.con = store.database.connection
        self.table = table
        stations = fleet.stations
        self.count = len(stations)
        self.columns = ", ".join(quote(table.physical_name(name)) for name in TABLE_COLUMNS)
        number = {s.name: n for n, s in enumerate(stations)}
        ordered = list(stations)
        if clustered:  # the stations in the clustering's order (dimension columns as the store ranks them)
            city_col, location_col = table.physical_name("city"), table.physical_name("location")
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE bench_series AS SELECT unnest(?::VARCHAR[]) AS {quote(city_col)}, "
                f"unnest(?::VARCHAR[]) AS {quote(location_col)}",
                [[s.city for s in stations], [s.name for s in stations]],
            )
            order = series_order(self.con, table, "SELECT * FROM bench_series") or ""
            self.con.execute("DROP TABLE bench_series")
            value_of = {city_col: lambda s: s.city, location_col: lambda s: s.name}
            keys = [k for k in (term.strip().strip('"') for term in order.split(",")) if k in value_of]
            ordered.sort(key=lambda s: tuple(value_of[k](s).encode() for k in keys))  # DuckDB: byte order
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE bench_lists AS SELECT ?::VARCHAR[] AS c, ?::VARCHAR[] AS s, "
            "?::BIGINT[] AS b, ?::BIGINT[] AS n, ?::VARCHAR[] AS tc, ?::VARCHAR[] AS ts, ?::BIGINT[] AS tb, "
            "?::BIGINT[] AS tn",
            [
                [s.city for s in ordered],
                [s.name for s in ordered],
                [s.baseline for s in ordered],
                [number[s.name] for s in ordered],
                [s.city for s in stations],
                [s.name for s in stations],
                [s.baseline for s in stations],
                list(range(self.count)),
            ],
        )

    def by_series(self, target: str, first_s: int, last_s: int) -> None:
        """Seconds [first_s, last_s) of every station, station by station (the clustered order)."""
        span = last_s - first_s
        i = f"(k // {span})::INT + 1"
        second = f"({first_s} + k % {span})"
        self.con.execute(
            f"INSERT INTO {target} ({self.columns}) SELECT c[{i}], s[{i}], 'pm2.5', "
            f"make_timestamp_ns({second} * {NS}), b[{i}] + (hash(n[{i}], {second}) % 11)::BIGINT - 5, 1 "
            f"FROM range({self.count * span}) r(k), bench_lists"
        )

    def by_time(self, first_s: int, last_s: int) -> None:
        """Seconds [first_s, last_s) of every station into the head, second by second (arrival order)."""
        i = f"(k % {self.count})::INT + 1"
        second = f"({first_s} + k // {self.count})"
        self.con.execute(
            f"INSERT INTO {self.table.mem_table} ({self.columns}) SELECT tc[{i}], ts[{i}], 'pm2.5', "
            f"make_timestamp_ns({second} * {NS}), tb[{i}] + (hash(tn[{i}], {second}) % 11)::BIGINT - 5, 1 "
            f"FROM range({self.count * (last_s - first_s)}) r(k), bench_lists"
        )

    def close(self) -> None:
        self.con.execute("DROP TABLE IF EXISTS bench_lists")


def _create_table(store: Store, fleet: Catalogue, hours: int, anchor_s: int) -> TableInfo:
    store.catalogue.create_database("iot")
    store.catalogue.create_table(
        "iot", "pm25", retention=Retention(memory_hours=hours, magnetic_days=hours // 24 + 2)
    )
    station = fleet.stations[0]
    first = {  # one real write registers the dimensions and the measure type, then goes again
        "Dimensions": [{"Name": "city", "Value": station.city}, {"Name": "location", "Value": station.name}],
        "MeasureName": "pm2.5",
        "MeasureValue": "1",
        "MeasureValueType": "BIGINT",
        "Time": str((anchor_s - 60) * NS),
        "TimeUnit": "NANOSECONDS",
    }
    store.writer.write_records(WriteRequest("iot", "pm25", records=[first]))
    store.flusher.sync()
    table = store.catalogue.describe_table("iot", "pm25")
    store.database.connection.execute(f"DELETE FROM {table.mem_table}")
    return table


def build(
    data_dir: Path,
    fleet: Catalogue,
    hours: int,
    lead_s: float,
    clustered: bool,
    log: Callable[[str], None],
    parquet_hours: int = 1,
) -> Built:
    """``hours`` of history in the memory tier and ``parquet_hours`` more in Parquet, for every
    station of ``fleet``, ending ``lead_s`` seconds after the build ends."""
    began = time.perf_counter()
    anchor = time.time_ns() // NS  # seconds
    memory_start = anchor - hours * 3600
    store = Store(data_dir)
    try:
        table = _create_table(store, fleet, hours, anchor)
        writer = _Writer(store, table, fleet, clustered)
        next_note = time.monotonic() + NOTE_EVERY

        def progress(done_s: int) -> None:
            nonlocal next_note
            if time.monotonic() >= next_note:
                next_note += NOTE_EVERY
                log(f"  {(done_s - memory_start) / 3600:.1f} of {hours} h written")

        # the Parquet tier: hours past the memory retention, moved by the store's tier mover
        parquet_rows = 0
        if parquet_hours:
            for begin in range(memory_start - parquet_hours * 3600, memory_start, 600):
                writer.by_time(begin, begin + 600)
            log(f"  moving {parquet_hours} h to the Parquet tier with the store's tier mover ...")
            # ten minutes per pass, as a running store moves a pass's worth (not an hour at once)
            for end in range(memory_start - parquet_hours * 3600 + 600, memory_start + 1, 600):
                parquet_rows += store.mover.run_once((end + hours * 3600) * NS).moved

        # the memory tier's closed ten-minute blocks, each sorted by series, and the mark that says so
        begin = memory_start
        if clustered:
            assert BLOCK_S is not None
            sorted_until = (
                (anchor - 2) // BLOCK_S * BLOCK_S
            )  # the clusterer's blocks close 2 s after their end
            while begin < sorted_until:
                end = min((begin // BLOCK_S + 1) * BLOCK_S, sorted_until)
                writer.by_series(table.mem_table, begin, end)
                begin = end
                progress(begin)
            store.mover.clusterer.mark_clustered(table, sorted_until * NS)
        # then arrival order up to the end (the build's own duration plus the lead)
        end_s = int(time.time() + lead_s) + 1
        while begin < end_s:
            end = min(begin + 600, end_s)
            writer.by_time(begin, end)
            begin = end
            progress(begin)
        if clustered:  # the open block's closed minutes and seconds, by the store's clusterer
            store.mover.cluster_once(catch_up=True)
        memory_rows = store.database.connection.execute(f"SELECT count(*) FROM {table.mem_table}").fetchone()[
            0
        ]
        writer.close()
        store.flusher.sync()
    finally:
        store.close()
    return Built(
        memory_rows=memory_rows,
        parquet_rows=parquet_rows,
        end_ns=end_s * NS,
        seconds=time.perf_counter() - began,
        memory_hours=(end_s - memory_start) / 3600,
        parquet_hours=parquet_hours,
    )
