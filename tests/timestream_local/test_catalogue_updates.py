"""UpdateTable changes memory only once the change is on disk: a save that fails (here the database
refusing the description's insert, as a full disk would) leaves the table as it was, in memory and
after a restart, and the next update works."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from timestream_local.models import Retention
from timestream_local.store import Store


def test_a_failed_update_leaves_the_table_as_committed(tmp_path: Path, monkeypatch):
    store = Store(tmp_path / "data")
    try:
        store.catalogue.create_database("iot")
        store.catalogue.create_table("iot", "pm25", retention=Retention(memory_hours=2, magnetic_days=3))

        def refuse(_table):
            raise duckdb.IOException("No space left on device")

        with monkeypatch.context() as patch:
            patch.setattr(store.descriptions, "insert_table", refuse)
            with pytest.raises(duckdb.IOException):
                store.catalogue.update_table(
                    "iot",
                    "pm25",
                    Retention(memory_hours=24, magnetic_days=30),
                    {"EnableMagneticStoreWrites": True},
                    None,
                )
        table = store.catalogue.describe_table("iot", "pm25")
        assert (table.retention.memory_hours, table.retention.magnetic_days) == (2, 3)
        assert not (table.magnetic_writes or {}).get("EnableMagneticStoreWrites")

        store.catalogue.update_table("iot", "pm25", Retention(memory_hours=5, magnetic_days=6), None, None)
    finally:
        store.close()
    reopened = Store(tmp_path / "data")
    try:
        table = reopened.catalogue.describe_table("iot", "pm25")
        assert (table.retention.memory_hours, table.retention.magnetic_days) == (5, 6)
    finally:
        reopened.close()
