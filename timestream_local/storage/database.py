"""The store's DuckDB database: the one connection, the two locks every part of the store shares, the
store's own counters, and how a failed commit is described.

One DuckDB file `<data-dir>/store.duckdb` holds the metadata (`__tsl.meta_*`), the memory tier and
the views; the magnetic tier is Parquet files beside it (magnetic.py). It is opened locked down
(lockdown.py). All changes run under the locks; readers get their own cursor and see committed data.

Lock order: ``lock`` (the store lock: the catalogue, the series spans, pending rows and the write log
change under it) before ``db_lock`` (the DuckDB connection). The flusher holds only ``db_lock``
while it inserts, so writers keep answering.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb

from timestream_local.catalog import INTERNAL_SCHEMA, quote
from timestream_local.storage import lockdown
from timestream_local.storage.writelog import describe_os_error


class Database:
    """The DuckDB connection of one data directory, with its locks and the `meta_state` counters."""

    def __init__(self, data_dir: Path, engine_memory: int) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir.resolve()
        self.magnetic_dir = self.data_dir / "magnetic"
        self.lock = threading.RLock()
        self.db_lock = threading.RLock()
        self.connection = lockdown.open_database(self.data_dir, engine_memory)
        try:
            with self.exclusive():
                self.sql(f"CREATE SCHEMA IF NOT EXISTS {quote(INTERNAL_SCHEMA)}")
                self.sql(
                    f"CREATE TABLE IF NOT EXISTS {quote(INTERNAL_SCHEMA)}.meta_state (key VARCHAR, value BIGINT)"
                )
        except BaseException:
            self.connection.close()
            raise

    def sql(self, sql: str, params: Iterable[Any] | None = None) -> list[tuple]:
        """Run one statement on the store's connection (the caller holds db_lock) and fetch its rows."""
        result = self.connection.execute(sql, list(params) if params is not None else None)
        return result.fetchall()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new DuckDB cursor on the store for one reader (per request/connection)."""
        with self.db_lock:
            return self.connection.cursor()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Both locks, in order: nothing else touches the catalogue or the DuckDB connection."""
        with self.lock, self.db_lock:
            yield

    def state(self, key: str, default: int = 0) -> int:
        """A counter of the store's own (e.g. the next table id, the last write-log entry applied)."""
        rows = self.sql(f"SELECT value FROM {quote(INTERNAL_SCHEMA)}.meta_state WHERE key = ?", [key])
        return rows[0][0] if rows else default

    def set_state(self, key: str, value: int) -> None:
        schema = quote(INTERNAL_SCHEMA)
        updated = self.sql(f"UPDATE {schema}.meta_state SET value = ? WHERE key = ?", [value, key])
        if not updated or not updated[0][0]:
            self.sql(f"INSERT INTO {schema}.meta_state VALUES (?, ?)", [key, value])

    def rollback(self) -> None:
        """End the current transaction, if any (a failed COMMIT has ended it already)."""
        with contextlib.suppress(duckdb.Error):
            self.sql("ROLLBACK")

    def close(self, checkpoint: bool = True) -> None:
        """Write DuckDB's own log into the database file (unless the store failed to open) and close."""
        with self.exclusive():
            try:
                if checkpoint:
                    with contextlib.suppress(duckdb.Error):
                        self.sql("CHECKPOINT")
            finally:
                self.connection.close()


def is_environmental(error: BaseException) -> bool:
    """Whether a failed commit is the machine's doing (disk, memory, a dead database), not the rows':
    then the rows wait for the next try instead of being set aside."""
    environmental = (
        OSError,
        MemoryError,
        duckdb.IOException,
        duckdb.OutOfMemoryException,
        duckdb.TransactionException,  # COMMIT itself failed (e.g. the database's WAL could not be written)
        duckdb.InterruptException,
        duckdb.FatalException,
        duckdb.PermissionException,
    )
    return isinstance(error, environmental) or "No space left on device" in str(error)


def describe_failure(error: BaseException) -> str:
    """One line naming the cause, e.g. 'the disk holding the database is full (ENOSPC: ...)'."""
    if isinstance(error, OSError) and error.errno is not None:
        return describe_os_error(error, "the data directory")
    first_line = (str(error).strip().splitlines() or [""])[0]
    if "No space left on device" in first_line:
        return f"the disk holding the database is full (ENOSPC): {first_line}"
    return f"{type(error).__name__}: {first_line}"
