"""Scheduled queries as the store keeps them: one JSON document per scheduled query in
`__tsl.meta_scheduled_queries`, beside the database and table descriptions (descriptions.py), so
they survive a restart with the catalogue. What a document holds and the rules for changing it are
the domain's (domain/scheduled.py); this module only loads, saves and deletes documents.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from timestream_local.catalog import INTERNAL_SCHEMA, quote
from timestream_local.storage.database import Database

_TABLE = f"{quote(INTERNAL_SCHEMA)}.meta_scheduled_queries"


class ScheduledDocuments:
    """The kept documents, by ARN."""

    def __init__(self, database: Database) -> None:
        self._db = database
        with database.exclusive():
            database.sql(f"CREATE TABLE IF NOT EXISTS {_TABLE} (arn VARCHAR, doc VARCHAR)")

    def load(self) -> dict[str, dict[str, Any]]:
        with self._db.exclusive():
            return {arn: json.loads(doc) for arn, doc in self._db.sql(f"SELECT arn, doc FROM {_TABLE}")}

    def save(self, arn: str, document: dict[str, Any], also: Callable[[], None] | None = None) -> None:
        """Write (or replace) one document, committed before this returns; ``also`` runs in the same
        transaction (the tags a new scheduled query is created with)."""
        with self._db.exclusive():
            self._db.sql("BEGIN")
            try:
                self._db.sql(f"DELETE FROM {_TABLE} WHERE arn = ?", [arn])
                self._db.sql(f"INSERT INTO {_TABLE} VALUES (?, ?)", [arn, json.dumps(document)])
                if also is not None:
                    also()
                self._db.sql("COMMIT")
            except Exception:
                self._db.rollback()
                raise

    def delete(self, arn: str, also: Callable[[], None] | None = None) -> None:
        """Remove one document; ``also`` runs in the same transaction (removing its tags)."""
        with self._db.exclusive():
            self._db.sql("BEGIN")
            try:
                self._db.sql(f"DELETE FROM {_TABLE} WHERE arn = ?", [arn])
                if also is not None:
                    also()
                self._db.sql("COMMIT")
            except Exception:
                self._db.rollback()
                raise
