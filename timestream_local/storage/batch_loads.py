"""Batch load tasks as the store keeps them: one JSON document per task in
`__tsl.meta_batch_load_tasks`, beside the scheduled queries' (scheduled.py), so tasks, their progress
and their errors survive a restart. What a document holds is the domain's (domain/batch_loads.py).
"""

from __future__ import annotations

import json
from typing import Any

from timestream_local.catalog import INTERNAL_SCHEMA, quote
from timestream_local.storage.database import Database

_TABLE = f"{quote(INTERNAL_SCHEMA)}.meta_batch_load_tasks"


class BatchLoadDocuments:
    """The kept documents, by task id."""

    def __init__(self, database: Database) -> None:
        self._db = database
        with database.exclusive():
            database.sql(f"CREATE TABLE IF NOT EXISTS {_TABLE} (task_id VARCHAR, doc VARCHAR)")

    def load(self) -> dict[str, dict[str, Any]]:
        with self._db.exclusive():
            rows = self._db.sql(f"SELECT task_id, doc FROM {_TABLE}")
            return {task_id: json.loads(doc) for task_id, doc in rows}

    def save(self, task_id: str, document: dict[str, Any]) -> None:
        """Write (or replace) one document, committed before this returns."""
        with self._db.exclusive():
            self._db.sql("BEGIN")
            try:
                self._db.sql(f"DELETE FROM {_TABLE} WHERE task_id = ?", [task_id])
                self._db.sql(f"INSERT INTO {_TABLE} VALUES (?, ?)", [task_id, json.dumps(document)])
                self._db.sql("COMMIT")
            except Exception:
                self._db.rollback()
                raise
