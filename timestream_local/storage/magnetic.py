"""The magnetic tier: a table's older rows in Parquet files under `<data-dir>/magnetic/t<id>/<day>/`
(one folder per UTC day), listed with their time range in `__tsl.meta_files`. The tier mover
writes a file's rows sorted by hour, then by series, then time (memory.series_order), in row
groups of 122,880 rows whose statistics (each column's minimum and maximum) let DuckDB's Parquet
reader skip the row groups of other hours and other stations; the registry's time range skips
whole files.

Each file is written to a temporary name, fsynced and renamed before the DuckDB transaction that
references it commits; a crash in between leaves an unreferenced file, removed at the next start
(``cleanup``). A file that is replaced goes to the trash list (`__tsl.meta_trash`) and is deleted
one tier pass later (``empty_trash``), so queries that already planned against it can finish.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from timestream_local.catalog import INTERNAL_SCHEMA, TableInfo, literal, quote
from timestream_local.storage.database import Database

log = logging.getLogger(__name__)

_SCHEMA = quote(INTERNAL_SCHEMA)


@dataclass(slots=True)
class MagneticFile:
    table_id: int
    path: str  # relative to the data dir
    day: str
    min_time: int
    max_time: int
    rows: int
    columns: list[str]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class MagneticTier:
    """The Parquet files of every table and their registry. Changes run inside the caller's
    transaction, under both locks."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self.data_dir = database.data_dir
        self._counter = itertools.count()
        self._files: dict[int, list[MagneticFile]] = {}
        with database.exclusive():
            database.sql(
                f"CREATE TABLE IF NOT EXISTS {_SCHEMA}.meta_files (table_id BIGINT, path VARCHAR, day VARCHAR, "
                "min_time BIGINT, max_time BIGINT, row_count BIGINT, columns VARCHAR)"
            )
            database.sql(f"CREATE TABLE IF NOT EXISTS {_SCHEMA}.meta_trash (path VARCHAR)")
            for row in database.sql(
                f"SELECT table_id, path, day, min_time, max_time, row_count, columns FROM {_SCHEMA}.meta_files "
                "ORDER BY table_id, min_time"
            ):
                self._files.setdefault(row[0], []).append(MagneticFile(*row[:6], json.loads(row[6])))

    def files(self, table_id: int) -> list[MagneticFile]:
        """The table's files, oldest first (the list itself: register and unregister change it)."""
        return self._files.setdefault(table_id, [])

    def newest_time(self, table_id: int) -> int | None:
        """The newest time of any row in the table's files, None without files."""
        files = self._files.get(table_id)
        return max(f.max_time for f in files) if files else None

    def source(self, file: MagneticFile, row_numbers: bool = False) -> str:
        """SQL reading one file (with each row's number in it, to address rows)."""
        numbers = ", file_row_number = true" if row_numbers else ""
        return f"read_parquet({literal(str(self.data_dir / file.path))}{numbers})"

    def sources(self, files: Iterable[MagneticFile]) -> str:
        """SQL reading several files as one relation (columns matched by name; a missing one is NULL)."""
        paths = ", ".join(literal(str(self.data_dir / f.path)) for f in files)
        return f"read_parquet([{paths}], union_by_name = true)"

    # ------------------------------------------------------------------------------ at start
    def cleanup(self) -> None:
        """Delete Parquet files no table references (a crash between writing and committing) and trash."""
        self.empty_trash()
        known = {f.path for files in self._files.values() for f in files}
        magnetic_dir = self._db.magnetic_dir
        if magnetic_dir.exists():
            for file in magnetic_dir.rglob("*.parquet*"):
                if str(file.relative_to(self.data_dir)) not in known:
                    log.info("removing unreferenced magnetic file %s", file)
                    file.unlink(missing_ok=True)
        for table_id, files in list(self._files.items()):
            missing = [f for f in files if not (self.data_dir / f.path).exists()]
            for file in missing:
                log.warning("magnetic file %s is missing; its rows are lost", file.path)
                files.remove(file)
                self._db.sql(f"DELETE FROM {_SCHEMA}.meta_files WHERE path = ?", [file.path])
            if not files:
                self._files.pop(table_id, None)

    def empty_trash(self) -> None:
        """Delete the files replaced before (by the last tier pass, or before a restart)."""
        for (path,) in self._db.sql(f"SELECT path FROM {_SCHEMA}.meta_trash"):
            (self.data_dir / path).unlink(missing_ok=True)
        self._db.sql(f"DELETE FROM {_SCHEMA}.meta_trash")

    # ------------------------------------------------------------------------------ writing files
    def new_path(self, table: TableInfo, day: str) -> tuple[Path, str]:
        """A new file's absolute path and its path relative to the data dir."""
        folder = self._db.magnetic_dir / f"t{table.id}" / day
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{next(self._counter)}.parquet"
        final = folder / name
        return final, str(final.relative_to(self.data_dir))

    def write_parquet(self, select_sql: str, final: Path) -> None:
        """Write a query's rows to ``final``: a temporary name, fsynced, renamed, its folder fsynced."""
        temporary = final.with_name(final.name + ".tmp")
        self._db.sql(
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

    def file_stats(self, path: Path) -> tuple[int, int, int, list[str]]:
        """A written file's oldest and newest time, row count and columns."""
        source = f"read_parquet({literal(str(path))})"
        low, high, rows = self._db.sql(
            f"SELECT epoch_ns(min(time)), epoch_ns(max(time)), count(*) FROM {source}"
        )[0]
        columns = [row[0] for row in self._db.sql(f"DESCRIBE SELECT * FROM {source}")]
        return low, high, rows, columns

    def write(self, table: TableInfo, day: str, select_sql: str) -> tuple[Path, str]:
        """A new file of the table's day holding a query's rows (register it in the same transaction
        that removes the rows from where they were)."""
        final, relative = self.new_path(table, day)
        self.write_parquet(select_sql, final)
        return final, relative

    # ------------------------------------------------------------------------------ the registry
    def register(self, table: TableInfo, relative: str, day: str, stats: tuple) -> MagneticFile:
        low, high, rows, columns = stats
        file = MagneticFile(table.id, relative, day, low, high, rows, columns)
        self._db.sql(
            f"INSERT INTO {_SCHEMA}.meta_files VALUES (?, ?, ?, ?, ?, ?, ?)",
            [table.id, relative, day, low, high, rows, json.dumps(columns)],
        )
        files = self.files(table.id)
        files.append(file)
        files.sort(key=lambda f: f.min_time)
        return file

    def register_written(self, table: TableInfo, final: Path, relative: str, day: str) -> MagneticFile:
        return self.register(table, relative, day, self.file_stats(final))

    def unregister(self, table: TableInfo, file: MagneticFile) -> None:
        """Drop a file from the table; it goes to the trash and is deleted on the next tier pass."""
        self._db.sql(f"DELETE FROM {_SCHEMA}.meta_files WHERE path = ?", [file.path])
        self._db.sql(f"INSERT INTO {_SCHEMA}.meta_trash VALUES (?)", [file.path])
        self.files(table.id).remove(file)

    def drop_table(self, table: TableInfo) -> None:
        """Every file of a deleted table to the trash (inside the caller's transaction)."""
        self._db.sql(f"DELETE FROM {_SCHEMA}.meta_files WHERE table_id = ?", [table.id])
        for file in self._files.get(table.id, []):
            self._db.sql(f"INSERT INTO {_SCHEMA}.meta_trash VALUES (?)", [file.path])

    def forget_table(self, table: TableInfo) -> None:
        """Forget a deleted table's files once its deletion committed."""
        self._files.pop(table.id, None)

    def rewrite_without_rows(self, table: TableInfo, relative: str, positions: list[int]) -> None:
        """Replace a Parquet file by a copy without the given row numbers (an upsert overwrote them).

        Runs inside the caller's transaction; the caller recreates the table's views.
        """
        file = next(f for f in self.files(table.id) if f.path == relative)
        drop = ", ".join(str(int(p)) for p in positions)
        source = self.source(file, row_numbers=True)
        remaining = self._db.sql(f"SELECT count(*) FROM {source} WHERE file_row_number NOT IN ({drop})")[0][0]
        if remaining:
            final, new_relative = self.write(
                table,
                file.day,
                f"SELECT * EXCLUDE (file_row_number) FROM {source} WHERE file_row_number NOT IN ({drop}) "
                "ORDER BY file_row_number",  # the file's own order (by series)
            )
            self.register_written(table, final, new_relative, file.day)
        self.unregister(table, file)
