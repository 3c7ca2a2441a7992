"""The catalogue: databases and tables as the Write API creates, describes, lists, updates and deletes
them, with AWS's rules and messages, and each table's schema (its dimensions, measures and
multi-measure attributes, which grow as records arrive).

The descriptions themselves are kept by storage/descriptions.py; creating or deleting a table also
creates or drops its storage (its memory-tier table and views, its magnetic files). Every method
takes the store's locks itself except those the writer calls while it already holds them
(``table``, ``find``, ``extend_schema``, ``reload``).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from timestream_local.catalog import DatabaseInfo, TableInfo, database_arn, table_arn
from timestream_local.domain.resources import check_schema_update, validate_resource_name
from timestream_local.domain.tags import TagStore
from timestream_local.domain.versions import Versions
from timestream_local.exceptions import ConflictException, ResourceNotFoundException, ValidationException
from timestream_local.models import DEFAULT_SCHEMA, Retention
from timestream_local.storage.database import Database
from timestream_local.storage.descriptions import Descriptions
from timestream_local.storage.flusher import Flusher
from timestream_local.storage.magnetic import MagneticTier
from timestream_local.storage.views import Views

DEFAULT_KMS_KEY = "arn:aws:kms:{region}:000000000000:key/00000000-0000-0000-0000-000000000000"


class Catalogue:
    """Databases and tables: the control-plane operations of the Write API, named after them."""

    def __init__(
        self,
        database: Database,
        descriptions: Descriptions,
        views: Views,
        magnetic: MagneticTier,
        flusher: Flusher,
        versions: Versions,
        tags: TagStore,
        region: str,
    ) -> None:
        self._db = database
        self._descriptions = descriptions
        self._views = views
        self._magnetic = magnetic
        self._flusher = flusher
        self._versions = versions
        self._tags = tags
        self.region = region

    # ----------------------------------------------------------------- look-ups (store lock held)
    def database(self, name: str) -> DatabaseInfo:
        info = self._descriptions.databases.get(name)
        if info is None:
            raise ResourceNotFoundException(f"The database {name} does not exist.")
        return info

    def table(self, database: str, name: str) -> TableInfo:
        """A table named exactly (as the Write API names it); ResourceNotFoundException otherwise."""
        self.database(database)
        table = self._descriptions.tables.get((database, name))
        if table is None:
            raise ResourceNotFoundException(f"The table {name} does not exist.")
        return table

    def find(self, database: str, name: str) -> TableInfo | None:
        """A table named exactly, or None (the streaming path's quick look-up)."""
        return self._descriptions.tables.get((database, name))

    def table_count(self, database: str) -> int:
        return sum(1 for db, _ in self._descriptions.tables if db == database)

    def names_resource(self, arn: str) -> bool:
        """Whether ``arn`` is the ARN of an existing database or table (the tag store's resolver)."""
        _, marker, path = arn.partition(":database/")
        if not marker:
            return False
        database, marker, name = path.partition("/table/")
        info = (
            self._descriptions.tables.get((database, name))
            if marker
            else self._descriptions.databases.get(database)
        )
        return info is not None and info.arn == arn

    # ---------------------------------------------------------------------------------- databases
    def create_database(
        self, name: str, kms_key_id: str | None = None, tags: dict[str, str] | None = None
    ) -> DatabaseInfo:
        """A new database, with its tags (both or neither are kept)."""
        validate_resource_name(name, "DatabaseName", creating=True)
        with self._db.exclusive():
            self._flusher.flush(holding_lock=True)
            if any(existing.lower() == name.lower() for existing in self._descriptions.databases):
                raise ConflictException(f"The database {name} already exists.")
            now = time.time()
            info = DatabaseInfo(
                name=name,
                arn=database_arn(self.region, name),
                kms_key_id=kms_key_id or DEFAULT_KMS_KEY.format(region=self.region),
                created=now,
                updated=now,
            )
            self._db.sql("BEGIN")
            try:
                self._tags.attach(info.arn, tags or {})
                self._descriptions.add_database(info)
                self._db.sql("COMMIT")
            except Exception:
                self._db.rollback()
                self._descriptions.databases.pop(name, None)
                raise
            return info

    def describe_database(self, name: str) -> DatabaseInfo:
        with self._db.exclusive():
            return self.database(name)

    def list_databases(self) -> list[DatabaseInfo]:
        with self._db.exclusive():
            databases = self._descriptions.databases
            return [databases[name] for name in sorted(databases)]

    def update_database(self, name: str, kms_key_id: str) -> DatabaseInfo:
        with self._db.exclusive():
            info = self.database(name)
            info.kms_key_id = kms_key_id
            info.updated = time.time()
            self._db.sql("BEGIN")
            self._descriptions.save_database(info)
            self._db.sql("COMMIT")
            return info

    def delete_database(self, name: str) -> None:
        with self._db.exclusive():
            self.database(name)
            if self.table_count(name):
                raise ValidationException(
                    f"Cannot delete the database {name} because it still has tables; delete them first."
                )
            info = self.database(name)
            self._db.sql("BEGIN")
            try:
                self._tags.detach(info.arn)
                self._descriptions.remove_database(name)
                self._db.sql("COMMIT")
            except Exception:
                self._db.rollback()
                self._descriptions.databases[name] = info
                raise

    # ------------------------------------------------------------------------------------ tables
    def create_table(
        self,
        database: str,
        name: str,
        retention: Retention | None = None,
        magnetic_writes: dict[str, Any] | None = None,
        schema: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
    ) -> TableInfo:
        """A new table with its storage and its tags (all or nothing is kept)."""
        validate_resource_name(name, "TableName", creating=True)
        with self._db.exclusive():
            self._flusher.flush(holding_lock=True)
            self.database(database)
            if any(
                db == database and existing.lower() == name.lower()
                for db, existing in self._descriptions.tables
            ):
                raise ConflictException(f"The table {name} already exists.")
            now = time.time()
            table_id = self._db.state("next_table_id", 1)
            table = TableInfo(
                id=table_id,
                database=database,
                name=name,
                arn=table_arn(self.region, database, name),
                created=now,
                updated=now,
                retention=retention or Retention(),
                magnetic_writes=magnetic_writes or {"EnableMagneticStoreWrites": False},
                schema=schema or DEFAULT_SCHEMA,
            )
            self._db.sql("BEGIN")
            try:
                self._db.set_state("next_table_id", table_id + 1)
                self._views.drop(table)  # whatever an earlier use of the id left
                self._views.ensure(table)
                self._descriptions.insert_table(table)
                self._tags.attach(table.arn, tags or {})
                self._db.sql("COMMIT")
            except Exception:
                self._db.sql("ROLLBACK")
                raise
            self._descriptions.remember_table(table)
            self._versions.new_table(table.id)
            return table

    def describe_table(self, database: str, name: str) -> TableInfo:
        with self._db.exclusive():
            return self.table(database, name)

    def list_tables(self, database: str | None) -> list[TableInfo]:
        with self._db.exclusive():
            if database is not None:
                self.database(database)
            tables = self._descriptions.tables
            return [tables[key] for key in sorted(tables) if database is None or key[0] == database]

    def update_table(
        self,
        database: str,
        name: str,
        retention: Retention | None,
        magnetic_writes: dict[str, Any] | None,
        schema: dict[str, Any] | None,
    ) -> TableInfo:
        with self._db.exclusive():
            table = self.table(database, name)
            if schema is not None:
                check_schema_update(table.schema, schema)  # before anything changes
            # the change is saved from a copy and applied in memory only once committed, so a failed
            # save leaves memory as it is on disk
            changed = dataclasses.replace(
                table,
                schema=table.schema if schema is None else schema,
                retention=table.retention if retention is None else retention,
                magnetic_writes=table.magnetic_writes if magnetic_writes is None else magnetic_writes,
                updated=time.time(),
            )
            self._db.sql("BEGIN")
            try:
                self._descriptions.save_table(changed)
                self._db.sql("COMMIT")
            except Exception:
                self._db.sql("ROLLBACK")
                raise
            table.schema, table.retention = changed.schema, changed.retention
            table.magnetic_writes, table.updated = changed.magnetic_writes, changed.updated
            return table

    def delete_table(self, database: str, name: str) -> None:
        with self._db.exclusive():
            self._flusher.flush(holding_lock=True)
            table = self.table(database, name)
            self._db.sql("BEGIN")
            try:
                self._views.drop(table)
                self._descriptions.delete_table(table)
                self._tags.detach(table.arn)
                self._magnetic.drop_table(table)
                self._db.sql("COMMIT")
            except Exception:
                self._db.sql("ROLLBACK")
                raise
            self._descriptions.forget_table(table)
            self._magnetic.forget_table(table)
            self._versions.forget(table.id)

    # ------------------------------------------------------------ schemas (the writer, locks held)
    def extend_schema(self, table: TableInfo, change: dict[str, Any]) -> None:
        """Add the columns records brought (SchemaCheck.change()), inside the writer's transaction."""
        table.dimensions.extend(change["dimensions"])
        table.attributes.update(change["attributes"])
        table.measure_types.update(change["measures"])
        table.updated = time.time()
        self._descriptions.save_table(table)
        self._views.ensure(table)

    def reload(self, table: TableInfo) -> None:
        """Forget a schema change whose transaction was rolled back: the description as committed."""
        self._descriptions.reload_table(table)
