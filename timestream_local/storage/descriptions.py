"""The descriptions of every database and table (catalog.py's DatabaseInfo and TableInfo), as the store
keeps them: in memory for every request, and in `__tsl.meta_databases` / `__tsl.meta_tables`.

This is what is kept, not what is allowed: the rules for creating, changing and deleting databases
and tables (names, conflicts, AWS's messages) are the catalogue's (domain/catalogue.py). Writes to
the meta tables run inside the caller's transaction; the in-memory maps change once it committed
(``remember_table`` / ``forget_table``), so a rolled-back change leaves no trace.
"""

from __future__ import annotations

from timestream_local.catalog import INTERNAL_SCHEMA, DatabaseInfo, TableInfo, quote
from timestream_local.exceptions import ResourceNotFoundException
from timestream_local.storage.database import Database

_SCHEMA = quote(INTERNAL_SCHEMA)


class Descriptions:
    """Databases by name and tables by (database, name), loaded at start and kept in step with the
    meta tables. The maps are read under the store lock (Database.lock)."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self.databases: dict[str, DatabaseInfo] = {}
        self.tables: dict[tuple[str, str], TableInfo] = {}
        with database.exclusive():
            database.sql(f"CREATE TABLE IF NOT EXISTS {_SCHEMA}.meta_databases (name VARCHAR, doc VARCHAR)")
            database.sql(
                f"CREATE TABLE IF NOT EXISTS {_SCHEMA}.meta_tables "
                "(id BIGINT, database VARCHAR, name VARCHAR, doc VARCHAR)"
            )
            for name, doc in database.sql(f"SELECT name, doc FROM {_SCHEMA}.meta_databases"):
                self.databases[name] = DatabaseInfo.from_doc(name, doc)
            for table_id, db, name, doc in database.sql(
                f"SELECT id, database, name, doc FROM {_SCHEMA}.meta_tables"
            ):
                self.tables[(db, name)] = TableInfo.from_doc(table_id, db, name, doc)

    def by_id(self) -> dict[int, TableInfo]:
        return {table.id: table for table in self.tables.values()}

    # ------------------------------------------------------------------------------ databases
    def add_database(self, info: DatabaseInfo) -> None:
        self._db.sql(f"INSERT INTO {_SCHEMA}.meta_databases VALUES (?, ?)", [info.name, info.to_doc()])
        self.databases[info.name] = info

    def save_database(self, info: DatabaseInfo) -> None:
        """Write a changed description (inside the caller's transaction)."""
        self._db.sql(f"DELETE FROM {_SCHEMA}.meta_databases WHERE name = ?", [info.name])
        self._db.sql(f"INSERT INTO {_SCHEMA}.meta_databases VALUES (?, ?)", [info.name, info.to_doc()])

    def remove_database(self, name: str) -> None:
        self._db.sql(f"DELETE FROM {_SCHEMA}.meta_databases WHERE name = ?", [name])
        del self.databases[name]

    # ---------------------------------------------------------------------------------- tables
    def insert_table(self, table: TableInfo) -> None:
        """The table's row (inside the caller's transaction; remember_table once it committed)."""
        self._db.sql(
            f"INSERT INTO {_SCHEMA}.meta_tables VALUES (?, ?, ?, ?)",
            [table.id, table.database, table.name, table.to_doc()],
        )

    def save_table(self, table: TableInfo) -> None:
        """Write a changed description (inside the caller's transaction)."""
        self._db.sql(f"DELETE FROM {_SCHEMA}.meta_tables WHERE id = ?", [table.id])
        self.insert_table(table)

    def delete_table(self, table: TableInfo) -> None:
        """Delete the table's row (inside the caller's transaction; forget_table once it committed)."""
        self._db.sql(f"DELETE FROM {_SCHEMA}.meta_tables WHERE id = ?", [table.id])

    def remember_table(self, table: TableInfo) -> None:
        self.tables[(table.database, table.name)] = table

    def forget_table(self, table: TableInfo) -> None:
        del self.tables[(table.database, table.name)]

    def reload_table(self, table: TableInfo) -> None:
        """Replace the table's description in memory by the one committed (after a rolled-back change)."""
        rows = self._db.sql(f"SELECT doc FROM {_SCHEMA}.meta_tables WHERE id = ?", [table.id])
        fresh = TableInfo.from_doc(table.id, table.database, table.name, rows[0][0])
        self.tables[(table.database, table.name)] = fresh

    # -------------------------------------------------------------------- as a query names them
    def find_database(self, name: str, where: str = "") -> str:
        """A database as a query names it: exactly, else the one whose name differs only in case."""
        if name in self.databases:
            return name
        for existing in self.databases:
            if existing.lower() == name.lower():
                return existing
        raise ResourceNotFoundException(f"The database {name} does not exist{where}.")

    def find_table(self, database: str, name: str, where: str = "") -> TableInfo:
        """A table as a query names it (SQL names are case-insensitive; the store refuses names that
        differ only in case, so at most one matches)."""
        database = self.find_database(database, where)
        table = self.tables.get((database, name))
        if table is not None:
            return table
        for (db, existing), table in self.tables.items():
            if db == database and existing.lower() == name.lower():
                return table
        raise ResourceNotFoundException(f"The table {name} does not exist in database {database}{where}.")

    def database_names(self) -> list[str]:
        """Every database, sorted (SHOW DATABASES)."""
        return sorted(self.databases)

    def table_names(self, database: str) -> list[str]:
        """The tables of a database, sorted (SHOW TABLES FROM <database>)."""
        found = self.find_database(database)
        return sorted(name for db, name in self.tables if db == found)
