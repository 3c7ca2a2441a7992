"""The two storage tiers: rows older than a table's memory-store retention move from DuckDB to Parquet
files (one folder per UTC day, rows sorted by time); rows older than the magnetic-store retention are
deleted. A background thread runs this every `interval` seconds.

Each Parquet file is written to a temporary name, fsynced and renamed before the DuckDB transaction
that references it (and deletes the moved rows) commits; a crash in between leaves an unreferenced
file that the store removes at start. Files that are replaced go to a trash list and are deleted one
cycle later, so queries that already planned against them can finish.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from timestream_local.catalog import INTERNAL_SCHEMA, TableInfo, literal, quote
from timestream_local.models import NS_PER_DAY, NS_PER_HOUR

if TYPE_CHECKING:
    from timestream_local.store import MagneticFile, Store

log = logging.getLogger("timestream_local.tiers")

SMALL_FILE_ROWS = 1_000_000
COMPACT_AT_FILES = 8
_counter = itertools.count()


@dataclass
class TierStats:
    moved: int = 0
    expired: int = 0
    files_written: int = 0
    files_removed: int = 0


def _day_of(time_ns: int) -> str:
    return dt.datetime.fromtimestamp(time_ns // 1_000_000_000, dt.UTC).strftime("%Y-%m-%d")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_path(store: Store, table: TableInfo, day: str) -> tuple[Path, str]:
    folder = store.magnetic_dir / f"t{table.id}" / day
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns()}-{next(_counter)}.parquet"
    final = folder / name
    return final, str(final.relative_to(store.data_dir))


def write_parquet(store: Store, select_sql: str, final: Path) -> None:
    temporary = final.with_name(final.name + ".tmp")
    store.sql(
        f"COPY ({select_sql}) TO {literal(str(temporary))} "
        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"
    )
    fd = os.open(temporary, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    temporary.rename(final)
    _fsync_dir(final.parent)


def file_stats(store: Store, path: Path) -> tuple[int, int, int, list[str]]:
    source = f"read_parquet({literal(str(path))})"
    low, high, rows = store.sql(f"SELECT epoch_ns(min(time)), epoch_ns(max(time)), count(*) FROM {source}")[0]
    columns = [row[0] for row in store.sql(f"DESCRIBE SELECT * FROM {source}")]
    return low, high, rows, columns


def register(store: Store, table: TableInfo, relative: str, day: str, stats: tuple) -> MagneticFile:
    from timestream_local.store import MagneticFile  # noqa: PLC0415 - avoid an import cycle

    low, high, rows, columns = stats
    file = MagneticFile(table.id, relative, day, low, high, rows, columns)
    store.sql(
        f"INSERT INTO {quote(INTERNAL_SCHEMA)}.meta_files VALUES (?, ?, ?, ?, ?, ?, ?)",
        [table.id, relative, day, low, high, rows, json.dumps(columns)],
    )
    files = store.files(table.id)
    files.append(file)
    files.sort(key=lambda f: f.min_time)
    return file


def unregister(store: Store, table: TableInfo, file: MagneticFile) -> None:
    store.sql(f"DELETE FROM {quote(INTERNAL_SCHEMA)}.meta_files WHERE path = ?", [file.path])
    store.sql(f"INSERT INTO {quote(INTERNAL_SCHEMA)}.meta_trash VALUES (?)", [file.path])
    store.files(table.id).remove(file)


def rewrite_without_rows(store: Store, table: TableInfo, relative: str, positions: list[int]) -> None:
    """Replace a Parquet file by a copy without the given row numbers (an upsert overwrote them).

    Runs inside the caller's transaction; the caller recreates the view.
    """
    file = next(f for f in store.files(table.id) if f.path == relative)
    drop = ", ".join(str(int(p)) for p in positions)
    source = f"read_parquet({literal(str(store.data_dir / relative))}, file_row_number = true)"
    remaining = store.sql(f"SELECT count(*) FROM {source} WHERE file_row_number NOT IN ({drop})")[0][0]
    if remaining:
        final, new_relative = new_path(store, table, file.day)
        write_parquet(
            store,
            f"SELECT * EXCLUDE (file_row_number) FROM {source} WHERE file_row_number NOT IN ({drop}) ORDER BY time",
            final,
        )
        register(store, table, new_relative, file.day, file_stats(store, final))
    unregister(store, table, file)


def _ns_literal(time_ns: int) -> str:
    return f"make_timestamp_ns({int(time_ns)})"


def _move_table(store: Store, table: TableInfo, now_ns: int, stats: TierStats) -> None:
    memory_cutoff = now_ns - table.retention.memory_hours * NS_PER_HOUR
    magnetic_cutoff = now_ns - table.retention.magnetic_days * NS_PER_DAY
    mem = table.mem_table
    columns = ", ".join(quote(c) for c in table.physical_columns())
    changed = False

    expired = store.sql(f"SELECT count(*) FROM {mem} WHERE time < {_ns_literal(magnetic_cutoff)}")[0][0]
    days = store.sql(
        f"SELECT DISTINCT CAST(time_bucket(INTERVAL 1 DAY, time) AS DATE)::VARCHAR FROM {mem} "
        f"WHERE time < {_ns_literal(memory_cutoff)} AND time >= {_ns_literal(magnetic_cutoff)} ORDER BY 1"
    )
    written: list[tuple[Path, str, str]] = []
    for (day,) in days:
        start = int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp()) * 1_000_000_000
        low = max(start, magnetic_cutoff)
        high = min(start + NS_PER_DAY, memory_cutoff)
        final, relative = new_path(store, table, day)
        write_parquet(
            store,
            f"SELECT {columns} FROM {mem} WHERE time >= {_ns_literal(low)} AND time < {_ns_literal(high)} "
            "ORDER BY time",
            final,
        )
        written.append((final, relative, day))

    expired_files = [f for f in store.files(table.id) if f.max_time < magnetic_cutoff]
    partly_expired = [f for f in store.files(table.id) if f.min_time < magnetic_cutoff <= f.max_time]
    if not (expired or written or expired_files or partly_expired):
        return

    store.sql("BEGIN")
    try:
        for final, relative, day in written:
            file = register(store, table, relative, day, file_stats(store, final))
            stats.moved += file.rows
            stats.files_written += 1
        if written or expired:
            store.sql(f"DELETE FROM {mem} WHERE time < {_ns_literal(memory_cutoff)}")
            stats.expired += expired
        for file in expired_files:
            unregister(store, table, file)
            stats.expired += file.rows
            stats.files_removed += 1
        for file in partly_expired:
            source = f"read_parquet({literal(str(store.data_dir / file.path))})"
            keep = f"SELECT * FROM {source} WHERE time >= {_ns_literal(magnetic_cutoff)} ORDER BY time"
            kept = store.sql(f"SELECT count(*) FROM ({keep})")[0][0]
            if kept:
                final, relative = new_path(store, table, file.day)
                write_parquet(store, keep, final)
                register(store, table, relative, file.day, file_stats(store, final))
            unregister(store, table, file)
            stats.expired += file.rows - kept
        _compact(store, table, stats)
        store.ensure_view(table)
        store.sql("COMMIT")
        changed = True
    except Exception:
        store.sql("ROLLBACK")
        for final, _relative, _day in written:
            final.unlink(missing_ok=True)
        raise
    if changed:
        log.debug("table %s.%s: tiers updated (%s)", table.database, table.name, stats)


def _compact(store: Store, table: TableInfo, stats: TierStats) -> None:
    """Merge a day's small files into one once there are many of them."""
    by_day: dict[str, list[MagneticFile]] = {}
    for file in store.files(table.id):
        if file.rows < SMALL_FILE_ROWS:
            by_day.setdefault(file.day, []).append(file)
    for day, files in by_day.items():
        if len(files) < COMPACT_AT_FILES:
            continue
        paths = ", ".join(literal(str(store.data_dir / f.path)) for f in files)
        final, relative = new_path(store, table, day)
        write_parquet(
            store, f"SELECT * FROM read_parquet([{paths}], union_by_name = true) ORDER BY time", final
        )
        register(store, table, relative, day, file_stats(store, final))
        for file in files:
            unregister(store, table, file)
        stats.files_written += 1
        stats.files_removed += len(files)


def empty_trash(store: Store) -> None:
    schema = quote(INTERNAL_SCHEMA)
    for (path,) in store.sql(f"SELECT path FROM {schema}.meta_trash"):
        (store.data_dir / path).unlink(missing_ok=True)
    store.sql(f"DELETE FROM {schema}.meta_trash")


def run_once(store: Store, now_ns: int | None = None) -> TierStats:
    """One pass over every table: empty last pass's trash, move aged rows, expire old ones."""
    stats = TierStats()
    with store.exclusive():
        store.sync()
        empty_trash(store)
        now = now_ns if now_ns is not None else store.clock_ns()
        for table in store.tables():
            try:
                _move_table(store, table, now, stats)
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


class TierMover(threading.Thread):
    """Runs run_once every `interval` seconds until stopped."""

    def __init__(self, store: Store, interval: float) -> None:
        super().__init__(name="tsl-tiers", daemon=True)
        self.store = store
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                run_once(self.store)
            except Exception:
                log.exception("tier mover pass failed; retrying next interval")

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=30)
