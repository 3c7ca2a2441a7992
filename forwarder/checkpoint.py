"""Durable per-shard checkpoints in one SQLite file (``forwarder-checkpoints.sqlite3``).

Rows are keyed by (stream, database, table, shard), so one checkpoint folder can serve several
forwarders. Every save is one transaction with ``synchronous=FULL``: after a crash or kill -9 the
file holds either the old or the new positions, never a mixture or a torn write. The stream's
creation time is stored too; when a stream of the same name was deleted and created again, the old
positions mean nothing and are dropped (with a warning from the caller).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from forwarder.progress import Position

FILENAME = "forwarder-checkpoints.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    stream TEXT NOT NULL, database_name TEXT NOT NULL, table_name TEXT NOT NULL, shard_id TEXT NOT NULL,
    kind TEXT NOT NULL, position TEXT NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (stream, database_name, table_name, shard_id)
);
CREATE TABLE IF NOT EXISTS streams (
    stream TEXT NOT NULL, database_name TEXT NOT NULL, table_name TEXT NOT NULL, created TEXT NOT NULL,
    PRIMARY KEY (stream, database_name, table_name)
);
"""


class CheckpointError(Exception):
    """The checkpoint folder or file cannot be used; the message says why."""


class CheckpointStore:
    def __init__(self, directory: Path, stream: str, database: str, table: str) -> None:
        self.path = Path(directory) / FILENAME
        self._key = (stream, database, table)
        try:
            Path(directory).mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            # Prove the folder takes writes now, not at the first checkpoint.
            with self._transaction():
                self._db.execute("CREATE TABLE IF NOT EXISTS probe (x)")
                self._db.execute("DELETE FROM probe")
        except (OSError, sqlite3.Error) as error:
            raise CheckpointError(f"cannot keep checkpoints in {directory}: {error}") from None

    def _transaction(self):
        return _Transaction(self._db)

    def load(self) -> dict[str, Position]:
        rows = self._db.execute(
            "SELECT shard_id, kind, position FROM checkpoints"
            " WHERE stream = ? AND database_name = ? AND table_name = ?",
            self._key,
        ).fetchall()
        return {shard_id: Position(kind, position) for shard_id, kind, position in rows}

    def save(self, positions: dict[str, Position]) -> None:
        if not positions:
            return
        now = time.time()
        try:
            with self._transaction():
                self._db.executemany(
                    "INSERT INTO checkpoints VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (stream, database_name, table_name, shard_id)"
                    " DO UPDATE SET kind = excluded.kind, position = excluded.position,"
                    " updated_at = excluded.updated_at",
                    [(*self._key, shard, p.kind, p.value, now) for shard, p in positions.items()],
                )
        except sqlite3.Error as error:
            raise CheckpointError(f"cannot save checkpoints to {self.path}: {error}") from None

    def check_stream(self, created: str) -> bool:
        """Remember the stream's creation time; False (and old positions dropped) if it changed."""
        row = self._db.execute(
            "SELECT created FROM streams WHERE stream = ? AND database_name = ? AND table_name = ?", self._key
        ).fetchone()
        if row is not None and row[0] == created:
            return True
        with self._transaction():
            self._db.execute(
                "DELETE FROM checkpoints WHERE stream = ? AND database_name = ? AND table_name = ?", self._key
            )
            self._db.execute(
                "INSERT OR REPLACE INTO streams VALUES (?, ?, ?, ?)",
                (*self._key, created),
            )
        return row is None

    def close(self) -> None:
        self._db.close()


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, traceback) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")
