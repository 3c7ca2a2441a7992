"""Where tags are kept: `__tsl.meta_tags`, one row per tag, keyed by the ARN of the resource it is on.

This is what is kept, not what is allowed: the rules (AWS's limits, which ARNs name a resource) are
domain/tags.py's. Every method runs under the caller's locks and inside the caller's transaction, so
a resource and its tags are created or deleted together or not at all. Nothing is cached in memory:
tag calls are rare, and a read of the meta table is always what was committed.
"""

from __future__ import annotations

from timestream_local.catalog import INTERNAL_SCHEMA, quote
from timestream_local.storage.database import Database

_TABLE = f"{quote(INTERNAL_SCHEMA)}.meta_tags"


class TagTable:
    """Tags by resource ARN, in the order they were first set."""

    def __init__(self, database: Database) -> None:
        self._db = database
        with database.exclusive():
            database.sql(
                f"CREATE TABLE IF NOT EXISTS {_TABLE} (arn VARCHAR, position BIGINT, key VARCHAR, value VARCHAR)"
            )

    def read(self, arn: str) -> dict[str, str]:
        """The tags on ``arn`` (key -> value), in order; empty when it has none."""
        rows = self._db.sql(f"SELECT key, value FROM {_TABLE} WHERE arn = ? ORDER BY position", [arn])
        return dict(rows)

    def write(self, arn: str, tags: dict[str, str]) -> None:
        """Replace the tags on ``arn`` by ``tags`` (inside the caller's transaction)."""
        self.erase(arn)
        if tags:
            self._db.connection.executemany(
                f"INSERT INTO {_TABLE} VALUES (?, ?, ?, ?)",
                [[arn, position, key, value] for position, (key, value) in enumerate(tags.items())],
            )

    def erase(self, arn: str) -> None:
        """Remove every tag on ``arn`` (its resource was deleted; inside the caller's transaction)."""
        self._db.sql(f"DELETE FROM {_TABLE} WHERE arn = ?", [arn])
