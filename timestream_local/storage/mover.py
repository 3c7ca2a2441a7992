"""The tier mover: rows older than a table's memory-store retention move from the memory tier to
the magnetic tier's Parquet files (one per table and UTC day); rows older than the magnetic-store
retention are deleted, and a day's small files are merged. A background thread (TierMover) runs a
pass every `interval` seconds.

A pass writes its files first (magnetic.py: temporary name, fsync, rename), then one DuckDB
transaction per table registers them and deletes the moved rows; a crash in between leaves files
no table references, removed at the next start.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from timestream_local.catalog import TableInfo, quote
from timestream_local.models import NS_PER_DAY, NS_PER_HOUR
from timestream_local.storage.database import Database
from timestream_local.storage.descriptions import Descriptions
from timestream_local.storage.magnetic import MagneticFile, MagneticTier
from timestream_local.storage.views import Views

log = logging.getLogger(__name__)

SMALL_FILE_ROWS = 1_000_000
COMPACT_AT_FILES = 8


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
            final, relative = magnetic.write(
                table,
                day,
                f"SELECT {columns} FROM {mem} WHERE time >= {_ns_literal(low)} AND time < {_ns_literal(high)} "
                "ORDER BY time",
            )
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
                keep = f"SELECT * FROM {magnetic.source(file)} WHERE time >= {_ns_literal(magnetic_cutoff)} ORDER BY time"
                kept = sql(f"SELECT count(*) FROM ({keep})")[0][0]
                if kept:
                    final, relative = magnetic.write(table, file.day, keep)
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
            final, relative = magnetic.write(
                table, day, f"SELECT * FROM {magnetic.sources(files)} ORDER BY time"
            )
            magnetic.register_written(table, final, relative, day)
            for file in files:
                magnetic.unregister(table, file)
            stats.files_written += 1
            stats.files_removed += len(files)


class TierMover(threading.Thread):
    """Runs Mover.run_once every `interval` seconds until stopped."""

    def __init__(self, mover: Mover, interval: float) -> None:
        super().__init__(name="tsl-tiers", daemon=True)
        self.mover = mover
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                self.mover.run_once()
            except Exception:
                log.exception("tier mover pass failed; retrying next interval")

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=30)
