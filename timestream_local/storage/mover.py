"""The tier mover: rows older than a table's memory-store retention move from the memory tier to
the magnetic tier's Parquet files (one per table and UTC day); rows older than the magnetic-store
retention are deleted, and a day's small files are merged. A background thread (TierMover) runs a
pass every `interval` seconds, and a clustering pass (Clusterer) every few seconds.

A pass writes its files first (magnetic.py: temporary name, fsync, rename), then one DuckDB
transaction per table registers them and deletes the moved rows; a crash in between leaves files
no table references, removed at the next start. Files hold their rows sorted by series
(memory.series_order), so DuckDB's Parquet reader skips the row groups of other stations.

Clustering keeps the memory tier in the same order (memory.py says why): once a time block is
closed (its end two seconds in the past), its rows are rewritten sorted by series, first in blocks
of 1 min, then of 10 min, each coarser block replacing the finer ones inside it, so that recent
rows are ordered within a minute and older ones in blocks of many row groups. A block pays off only
when it spans row groups (122,880 rows: a minute of 2,048 stations, ten minutes of 205), so there is
no finer fixed level: a 10 s block of even 11,500 stations fits in one row group and sorting it
would skip nothing (measured: no faster than arrival order). But a dashboard's last 30 s lie mostly
in the open minute, so once the open minute's closed seconds hold a row group's worth of rows
(ROW_GROUP_ROWS), each pass sorts them again, whole, as one run: measured on 11,500 stations, one
city's last 30 s then cost about what they cost for 115 stations, for ~0.15 s of one core per pass.
How far each table is clustered per block size is kept in `__tsl.meta_clusters` (the open minute's
runs are not recorded: the minute is sorted for good once it closes).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from timestream_local.catalog import INTERNAL_SCHEMA, TableInfo, quote
from timestream_local.models import NS_PER_DAY, NS_PER_HOUR
from timestream_local.storage.database import Database
from timestream_local.storage.descriptions import Descriptions
from timestream_local.storage.magnetic import MagneticFile, MagneticTier
from timestream_local.storage.memory import MemoryTier, series_order
from timestream_local.storage.views import Views

log = logging.getLogger(__name__)

SMALL_FILE_ROWS = 1_000_000
COMPACT_AT_FILES = 8
NS_PER_SECOND = 1_000_000_000
# Clustering block sizes, finest first; each a multiple of the one before.
CLUSTER_SPANS_NS = (60 * NS_PER_SECOND, 600 * NS_PER_SECOND)
CLUSTER_LATE_NS = 2 * NS_PER_SECOND  # a block is closed this long after its end
CLUSTER_INTERVAL = 5.0  # seconds between clustering passes of the TierMover thread
ROW_GROUP_ROWS = 122_880  # DuckDB's row group: the unit its zone maps skip


@dataclass
class TierStats:
    moved: int = 0
    expired: int = 0
    files_written: int = 0
    files_removed: int = 0


def _ns_literal(time_ns: int) -> str:
    return f"make_timestamp_ns({int(time_ns)})"


class Mover:
    """One pass over every table: move aged rows to the magnetic tier, expire old ones, compact."""

    def __init__(
        self,
        database: Database,
        descriptions: Descriptions,
        magnetic: MagneticTier,
        views: Views,
        sync: Callable[[], None],
        clock_ns: Callable[[], int],
    ) -> None:
        self._db = database
        self._descriptions = descriptions
        self._magnetic = magnetic
        self._views = views
        self._sync = sync  # commits every acknowledged write first (the flusher's)
        self._clock_ns = clock_ns
        self.clusterer = Clusterer(database, descriptions, clock_ns)

    def cluster_once(self, now_ns: int | None = None, catch_up: bool = False) -> int:
        """One clustering pass over every table (Clusterer.run_once); rows rewritten."""
        return self.clusterer.run_once(now_ns, catch_up)

    def run_once(self, now_ns: int | None = None) -> TierStats:
        """One pass over every table: empty last pass's trash, move aged rows, expire old ones."""
        stats = TierStats()
        with self._db.exclusive():
            self._sync()
            self._magnetic.empty_trash()
            now = now_ns if now_ns is not None else self._clock_ns()
            for table in list(self._descriptions.tables.values()):
                try:
                    self._move_table(table, now, stats)
                except Exception:
                    log.exception("moving table %s.%s between tiers failed", table.database, table.name)
        if stats.moved or stats.expired:
            log.info(
                "tiers: moved %d rows to the magnetic store, expired %d rows (%d files written, %d removed)",
                stats.moved,
                stats.expired,
                stats.files_written,
                stats.files_removed,
            )
        return stats

    def _move_table(self, table: TableInfo, now_ns: int, stats: TierStats) -> None:
        sql, magnetic = self._db.sql, self._magnetic
        memory_cutoff = now_ns - table.retention.memory_hours * NS_PER_HOUR
        magnetic_cutoff = now_ns - table.retention.magnetic_days * NS_PER_DAY
        mem = table.mem_table
        columns = ", ".join(quote(c) for c in table.physical_columns())
        changed = False

        expired = sql(f"SELECT count(*) FROM {mem} WHERE time < {_ns_literal(magnetic_cutoff)}")[0][0]
        days = sql(
            f"SELECT DISTINCT CAST(time_bucket(INTERVAL 1 DAY, time) AS DATE)::VARCHAR FROM {mem} "
            f"WHERE time < {_ns_literal(memory_cutoff)} AND time >= {_ns_literal(magnetic_cutoff)} ORDER BY 1"
        )
        written: list[tuple[Path, str, str]] = []
        for (day,) in days:
            start = int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp()) * 1_000_000_000
            low = max(start, magnetic_cutoff)
            high = min(start + NS_PER_DAY, memory_cutoff)
            rows = (
                f"SELECT {columns} FROM {mem} WHERE time >= {_ns_literal(low)} AND time < {_ns_literal(high)}"
            )
            final, relative = magnetic.write(table, day, f"{rows} ORDER BY {self._order(table, rows)}")
            written.append((final, relative, day))

        expired_files = [f for f in magnetic.files(table.id) if f.max_time < magnetic_cutoff]
        partly_expired = [f for f in magnetic.files(table.id) if f.min_time < magnetic_cutoff <= f.max_time]
        if not (expired or written or expired_files or partly_expired):
            return

        sql("BEGIN")
        try:
            for final, relative, day in written:
                file = magnetic.register_written(table, final, relative, day)
                stats.moved += file.rows
                stats.files_written += 1
            if written or expired:
                sql(f"DELETE FROM {mem} WHERE time < {_ns_literal(memory_cutoff)}")
                stats.expired += expired
            for file in expired_files:
                magnetic.unregister(table, file)
                stats.expired += file.rows
                stats.files_removed += 1
            for file in partly_expired:
                keep = f"SELECT * FROM {magnetic.source(file)} WHERE time >= {_ns_literal(magnetic_cutoff)}"
                kept = sql(f"SELECT count(*) FROM ({keep})")[0][0]
                if kept:
                    final, relative = magnetic.write(
                        table, file.day, f"{keep} ORDER BY {self._order(table, keep)}"
                    )
                    magnetic.register_written(table, final, relative, file.day)
                magnetic.unregister(table, file)
                stats.expired += file.rows - kept
            self._compact(table, stats)
            self._views.ensure(table)
            sql("COMMIT")
            changed = True
        except Exception:
            sql("ROLLBACK")
            for final, _relative, _day in written:
                final.unlink(missing_ok=True)
            raise
        if changed:
            log.debug("table %s.%s: tiers updated (%s)", table.database, table.name, stats)

    def _order(self, table: TableInfo, rows_sql: str) -> str:
        """ORDER BY terms for a file of these rows: by hour, then by series (memory.series_order),
        then time. Each row group then holds a few series' rows of one hour: its statistics let a
        query skip other hours by time and other stations by their dimensions."""
        order = series_order(self._db.connection, table, rows_sql)
        return "time_bucket(INTERVAL 1 HOUR, time)" + (f", {order}" if order else "")

    def _compact(self, table: TableInfo, stats: TierStats) -> None:
        """Merge a day's small files into one once there are many of them."""
        magnetic = self._magnetic
        by_day: dict[str, list[MagneticFile]] = {}
        for file in magnetic.files(table.id):
            if file.rows < SMALL_FILE_ROWS:
                by_day.setdefault(file.day, []).append(file)
        for day, files in by_day.items():
            if len(files) < COMPACT_AT_FILES:
                continue
            rows = f"SELECT * FROM {magnetic.sources(files)}"
            final, relative = magnetic.write(table, day, f"{rows} ORDER BY {self._order(table, rows)}")
            magnetic.register_written(table, final, relative, day)
            for file in files:
                magnetic.unregister(table, file)
            stats.files_written += 1
            stats.files_removed += len(files)


def _floor(time_ns: int, span_ns: int) -> int:
    return time_ns // span_ns * span_ns


class Clusterer:
    """Rewrites the memory tier's closed time blocks sorted by series (see the module's comment).

    A block is rewritten in one transaction on the clusterer's own cursor: the sorted copy is made
    while writers and queries go on, then, under the store lock (so that no writer deletes one of
    these rows meanwhile), the originals are deleted and the transaction commits. A writer that
    overwrote or a schema change that altered the table since the copy began makes the commit
    fail: the block is then left as it is and tried again in the next pass.
    """

    def __init__(self, database: Database, descriptions: Descriptions, clock_ns: Callable[[], int]) -> None:
        self._db = database
        self._descriptions = descriptions
        self._memory = MemoryTier(database)
        self._clock_ns = clock_ns
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._table = f"{quote(INTERNAL_SCHEMA)}.meta_clusters"
        with database.exclusive():
            database.sql(
                f"CREATE TABLE IF NOT EXISTS {self._table} (table_id BIGINT, span_ns BIGINT, upto_ns BIGINT)"
            )
            self._upto = {(t, span): upto for t, span, upto in database.sql(f"SELECT * FROM {self._table}")}

    def run_once(self, now_ns: int | None = None, catch_up: bool = False) -> int:
        """Cluster every table's closed blocks; returns the number of rows rewritten. A pass does at
        most one block of the coarsest size per table, unless ``catch_up`` (then every closed block)."""
        now = now_ns if now_ns is not None else self._clock_ns()
        rewritten = 0
        if self._cursor is None:
            self._cursor = self._db.cursor()
        with self._db.lock:  # the catalogue changes under the store lock
            tables = list(self._descriptions.tables.values())
        for table in tables:
            try:
                rewritten += self._cluster_table(table, now, catch_up)
            except duckdb.Error as error:  # a writer changed the block or the table meanwhile
                log.debug("clustering %s.%s postponed: %s", table.database, table.name, error)
        known = {t.id for t in tables}
        for table_id in {k[0] for k in self._upto if k[0] not in known}:  # tables deleted since
            for key in [k for k in self._upto if k[0] == table_id]:
                del self._upto[key]
            with self._db.db_lock:
                self._db.sql(f"DELETE FROM {self._table} WHERE table_id = ?", [table_id])
        return rewritten

    def mark_clustered(self, table: TableInfo, upto_ns: int) -> None:
        """Record that the table's memory-tier rows before ``upto_ns`` (a multiple of the coarsest
        block) are already in clustered order: for a bulk load that wrote each block of
        CLUSTER_SPANS_NS[-1] sorted by series_order (bench/scaling/history.py), not for rows that
        arrived in time order."""
        span = CLUSTER_SPANS_NS[-1]
        if upto_ns % span:
            raise ValueError(f"{upto_ns} is not a multiple of the {span // NS_PER_SECOND} s block")
        with self._db.exclusive():
            self._db.sql(f"DELETE FROM {self._table} WHERE table_id = ? AND span_ns = ?", [table.id, span])
            self._db.sql(f"INSERT INTO {self._table} VALUES (?, ?, ?)", [table.id, span, upto_ns])
            self._upto[(table.id, span)] = upto_ns

    def _cluster_table(self, table: TableInfo, now_ns: int, catch_up: bool) -> int:
        limit = now_ns - CLUSTER_LATE_NS
        moving = now_ns - table.retention.memory_hours * NS_PER_HOUR  # older rows leave for Parquet
        rewritten = 0
        coarser_upto = None
        for level in reversed(range(len(CLUSTER_SPANS_NS))):
            span = CLUSTER_SPANS_NS[level]
            upto = self._upto.get((table.id, span))
            if upto is None:
                upto = self._oldest(table, limit)
            upto = max(_floor(upto, span), _floor(moving, span))
            if coarser_upto is not None:  # finer blocks only after the coarser ones, in the open coarse block
                upto = max(upto, coarser_upto, _floor(limit, CLUSTER_SPANS_NS[level + 1]))
            budget = None if catch_up or level < len(CLUSTER_SPANS_NS) - 1 else 1
            while upto + span <= limit and budget != 0:
                rewritten += self._rewrite(table, span, upto, upto + span)
                upto += span
                budget = None if budget is None else budget - 1
            self._upto[(table.id, span)] = upto
            coarser_upto = upto
        if coarser_upto is not None and coarser_upto < limit:
            rewritten += self._rewrite(table, None, coarser_upto, limit, min_rows=ROW_GROUP_ROWS)
        return rewritten

    def _oldest(self, table: TableInfo, limit: int) -> int:
        """Where clustering starts for a table it has not seen: its oldest memory-tier row."""
        with self._db.db_lock:
            oldest = self._db.sql(f"SELECT epoch_ns(min(time)) FROM {table.mem_table}")[0][0]
        return limit if oldest is None else oldest

    def _rewrite(self, table: TableInfo, span: int | None, low: int, high: int, min_rows: int = 1) -> int:
        """Rewrite the rows with ``low <= time < high`` sorted by series when there are at least
        ``min_rows``, and record the block of ``span`` done (None: the open block's closed part,
        which is sorted again, whole, in later passes until its block closes)."""
        cursor = self._cursor
        assert cursor is not None
        cursor.execute("BEGIN")
        try:
            last = self._memory.copy_clustered(cursor, table, low, high, min_rows)
            if last < 0:
                cursor.execute("ROLLBACK")
                return 0
            with self._db.lock:
                rows = self._memory.drop_unclustered(cursor, table, low, high, last)
                if span is not None:
                    cursor.execute(
                        f"DELETE FROM {self._table} WHERE table_id = ? AND span_ns = ?", [table.id, span]
                    )
                    cursor.execute(f"INSERT INTO {self._table} VALUES (?, ?, ?)", [table.id, span, high])
                cursor.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                cursor.execute("ROLLBACK")
            raise
        return rows


class TierMover(threading.Thread):
    """Runs Mover.run_once every `interval` seconds and Mover.cluster_once every `cluster_interval`
    seconds (or `interval`, if shorter) until stopped."""

    def __init__(self, mover: Mover, interval: float, cluster_interval: float = CLUSTER_INTERVAL) -> None:
        super().__init__(name="tsl-tiers", daemon=True)
        self.mover = mover
        self.interval = interval
        self.cluster_interval = min(cluster_interval, interval)
        self._stop_event = threading.Event()

    def run(self) -> None:
        next_move = time.monotonic() + self.interval
        while not self._stop_event.wait(self.cluster_interval):
            if time.monotonic() >= next_move:
                next_move += self.interval
                try:
                    self.mover.run_once()
                except Exception:
                    log.exception("tier mover pass failed; retrying next interval")
            try:
                self.mover.cluster_once()
            except Exception:
                log.exception("clustering pass failed; retrying next interval")

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=30)
