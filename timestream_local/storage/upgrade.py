"""Bring a data directory written by an older timestream_local to the current storage layout.

Layout 1 named the tiers' columns after the user's dimensions and attributes and kept each
Timestream database as a DuckDB schema holding its tables' views. Layout 2 (catalog.py) keeps
everything in the store's own schema, with columns named by position. The upgrade runs once, at the
first start of a newer store, under the store's locks and before any request is served:

* the memory tier's columns are renamed (cheap, in place);
* each magnetic-tier file is copied to a new file with the new column names and the old one goes to
  the trash list, so a crash half-way leaves either file referenced, never neither;
* the old views and schemas are dropped and each table's description records the new layout.
"""

from __future__ import annotations

import logging

from timestream_local.catalog import INTERNAL_SCHEMA, LAYOUT, VERSION_KEY, TableInfo, quote
from timestream_local.storage.database import Database
from timestream_local.storage.descriptions import Descriptions
from timestream_local.storage.magnetic import MagneticTier

log = logging.getLogger(__name__)


def _old_names(table: TableInfo) -> dict[str, str]:
    """Layout 1's column for each column of the current layout that has a different name."""
    renamed = {}
    for name, physical in table.column_names().items():
        if name not in (physical, VERSION_KEY):  # the version column keeps its name
            renamed[physical] = name
    return renamed


def _table(database: Database, magnetic: MagneticTier, table: TableInfo) -> None:
    renamed = _old_names(table)
    existing = {row[0] for row in database.sql(f"DESCRIBE {table.mem_table}")}
    for new, old in renamed.items():
        if old in existing:
            database.sql(f"ALTER TABLE {table.mem_table} RENAME COLUMN {quote(old)} TO {quote(new)}")
    for file in list(magnetic.files(table.id)):
        if not set(renamed.values()) & set(file.columns):
            continue
        old_of = {old: new for new, old in renamed.items()}
        columns = ", ".join(
            f"{quote(column)} AS {quote(old_of[column])}" if column in old_of else quote(column)
            for column in file.columns
        )
        final, relative = magnetic.write(
            table, file.day, f"SELECT {columns} FROM {magnetic.source(file)} ORDER BY time"
        )
        magnetic.register_written(table, final, relative, file.day)
        magnetic.unregister(table, file)
    table.layout = LAYOUT
    database.sql(
        f"UPDATE {quote(INTERNAL_SCHEMA)}.meta_tables SET doc = ? WHERE id = ?", [table.to_doc(), table.id]
    )


def needed(descriptions: Descriptions) -> bool:
    """Whether some table was written in an older layout."""
    return any(table.layout < LAYOUT for table in descriptions.tables.values())


def to_current_layout(database: Database, descriptions: Descriptions, magnetic: MagneticTier) -> None:
    """Upgrade every table written in an older layout, and drop the old per-database schemas."""
    old = [table for table in descriptions.tables.values() if table.layout < LAYOUT]
    log.info("upgrading %d table(s) to storage layout %d (once)", len(old), LAYOUT)
    for table in old:
        database.sql("BEGIN")
        try:
            database.sql(f"DROP VIEW IF EXISTS {quote(table.database)}.{quote(table.name)}")
            _table(database, magnetic, table)
            database.sql("COMMIT")
        except Exception:
            database.sql("ROLLBACK")
            raise
        log.info("table %s.%s upgraded", table.database, table.name)
    builtin = {"main", "temp", "information_schema", "pg_catalog", "system", INTERNAL_SCHEMA}
    for name in descriptions.database_names():  # all of them were created by an older store
        if name.lower() not in builtin:  # layout 1 refused those names for databases
            database.sql(f"DROP SCHEMA IF EXISTS {quote(name)} CASCADE")
