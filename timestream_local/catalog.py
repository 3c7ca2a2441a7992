"""In-memory descriptions of databases and tables, and how they are named inside DuckDB.

Physical layout (the storage contract): every Timestream database is a DuckDB schema of the same
name holding one VIEW per table; the rows live in `__tsl."mem_<id>"` (memory tier) and in Parquet
files under `<data-dir>/magnetic/t<id>/<day>/` (magnetic tier); metadata lives in `__tsl.meta_*`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from timestream_local.models import DUCKDB_TYPES, VALUE_COLUMNS, Retention

INTERNAL_SCHEMA = "__tsl"
VERSION_COLUMN = "__version"
ACCOUNT_ID = "000000000000"


def quote(identifier: str) -> str:
    """A DuckDB identifier, double-quoted with embedded quotes doubled."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class DatabaseInfo:
    name: str
    arn: str
    kms_key_id: str
    created: float
    updated: float

    def to_doc(self) -> str:
        return json.dumps(
            {"arn": self.arn, "kms": self.kms_key_id, "created": self.created, "updated": self.updated}
        )

    @classmethod
    def from_doc(cls, name: str, doc: str) -> DatabaseInfo:
        data = json.loads(doc)
        return cls(name, data["arn"], data["kms"], data["created"], data["updated"])

    def to_api(self, table_count: int) -> dict[str, Any]:
        return {
            "Arn": self.arn,
            "DatabaseName": self.name,
            "TableCount": table_count,
            "KmsKeyId": self.kms_key_id,
            "CreationTime": self.created,
            "LastUpdatedTime": self.updated,
        }


@dataclass
class TableInfo:
    id: int
    database: str
    name: str
    arn: str
    created: float
    updated: float
    retention: Retention
    magnetic_writes: dict[str, Any]
    schema: dict[str, Any]
    dimensions: list[str] = field(default_factory=list)
    # MULTI measure attribute columns: name -> Timestream scalar type
    attributes: dict[str, str] = field(default_factory=dict)
    # measure_name -> MeasureValueType it was first written with
    measure_types: dict[str, str] = field(default_factory=dict)

    @property
    def mem_table(self) -> str:
        return f"{quote(INTERNAL_SCHEMA)}.{quote(f'mem_{self.id}')}"

    @property
    def view(self) -> str:
        return f"{quote(self.database)}.{quote(self.name)}"

    @property
    def recent_view(self) -> str:
        """The memory tier alone, with the view's columns (for queries that need no older rows)."""
        return f"{quote(INTERNAL_SCHEMA)}.{quote(f'recent_{self.id}')}"

    @property
    def magnetic_writes_enabled(self) -> bool:
        return bool(self.magnetic_writes.get("EnableMagneticStoreWrites"))

    def value_columns(self) -> dict[str, str]:
        """Every value column (single-measure and MULTI attributes) -> DuckDB type."""
        columns = {VALUE_COLUMNS[t]: DUCKDB_TYPES[t] for t in VALUE_COLUMNS}
        columns.update({name: DUCKDB_TYPES[kind] for name, kind in self.attributes.items()})
        return columns

    def view_columns(self) -> dict[str, str]:
        """The relation's columns in the contract's order -> DuckDB type."""
        columns = dict.fromkeys(self.dimensions, "VARCHAR")
        columns["measure_name"] = "VARCHAR"
        columns["time"] = "TIMESTAMP_NS"
        columns.update(self.value_columns())
        return columns

    def physical_columns(self) -> dict[str, str]:
        return {**self.view_columns(), VERSION_COLUMN: "BIGINT"}

    def to_doc(self) -> str:
        return json.dumps(
            {
                "arn": self.arn,
                "created": self.created,
                "updated": self.updated,
                "memory_hours": self.retention.memory_hours,
                "magnetic_days": self.retention.magnetic_days,
                "magnetic_writes": self.magnetic_writes,
                "schema": self.schema,
                "dimensions": self.dimensions,
                "attributes": self.attributes,
                "measure_types": self.measure_types,
            }
        )

    @classmethod
    def from_doc(cls, table_id: int, database: str, name: str, doc: str) -> TableInfo:
        data = json.loads(doc)
        return cls(
            id=table_id,
            database=database,
            name=name,
            arn=data["arn"],
            created=data["created"],
            updated=data["updated"],
            retention=Retention(data["memory_hours"], data["magnetic_days"]),
            magnetic_writes=data["magnetic_writes"],
            schema=data["schema"],
            dimensions=list(data["dimensions"]),
            attributes=dict(data["attributes"]),
            measure_types=dict(data["measure_types"]),
        )

    def to_api(self) -> dict[str, Any]:
        return {
            "Arn": self.arn,
            "TableName": self.name,
            "DatabaseName": self.database,
            "TableStatus": "ACTIVE",
            "RetentionProperties": self.retention.to_api(),
            "CreationTime": self.created,
            "LastUpdatedTime": self.updated,
            "MagneticStoreWriteProperties": self.magnetic_writes,
            "Schema": self.schema,
        }


def database_arn(region: str, name: str) -> str:
    return f"arn:aws:timestream:{region}:{ACCOUNT_ID}:database/{name}"


def table_arn(region: str, database: str, name: str) -> str:
    return f"arn:aws:timestream:{region}:{ACCOUNT_ID}:database/{database}/table/{name}"
