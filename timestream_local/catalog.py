"""In-memory descriptions of databases and tables, and how they are named inside DuckDB.

Physical layout (the storage contract). No name a client chooses ever names anything in DuckDB:
everything lives in the store's own schema `__tsl`, named by the table's id. A table's rows live in
`__tsl."mem_<id>"` (memory tier) and in Parquet files under `<data-dir>/magnetic/t<id>/<day>/`
(magnetic tier); `__tsl."view_<id>"` shows both tiers and `__tsl."recent_<id>"` the memory tier
alone, with the columns a user sees; metadata lives in `__tsl.meta_*`. Inside the tiers a user's
dimension is the column `d<n>` and a multi-measure attribute `a<n>` (n: the order in which the table
first saw them), beside the fixed columns `measure_name`, `time`, `measure_value::<type>` and the
record version; only the views give the user's names back, as aliases. So a dimension called
`rowid` or `__version` cannot shadow DuckDB's pseudo-columns or the store's own columns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from timestream_local.models import DUCKDB_TYPES, VALUE_COLUMNS, Retention

INTERNAL_SCHEMA = "__tsl"
VERSION_COLUMN = "__version"  # the tiers' column of each row's version
# The version's key among a row's values (Columns, column_names): a name AWS forbids users (ts_...),
# so that a dimension called "__version" stays a dimension.
VERSION_KEY = "ts_version"
ACCOUNT_ID = "000000000000"
LAYOUT = 2  # 1: user names were the physical column names, and each database a DuckDB schema
FIXED_COLUMNS = ("measure_name", "time", *VALUE_COLUMNS.values())


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
    layout: int = LAYOUT

    @property
    def mem_table(self) -> str:
        return f"{quote(INTERNAL_SCHEMA)}.{quote(f'mem_{self.id}')}"

    @property
    def view(self) -> str:
        """Both tiers, with the columns users see."""
        return f"{quote(INTERNAL_SCHEMA)}.{quote(f'view_{self.id}')}"

    @property
    def recent_view(self) -> str:
        """The memory tier alone, with the view's columns (for queries that need no older rows)."""
        return f"{quote(INTERNAL_SCHEMA)}.{quote(f'recent_{self.id}')}"

    @property
    def required_dimension(self) -> str | None:
        """The dimension every record must have: the table's DIMENSION partition key when its
        EnforcementInRecord is REQUIRED (an OPTIONAL one, or the MEASURE key, requires nothing)."""
        for key in self.schema.get("CompositePartitionKey") or ():
            if key.get("Type") == "DIMENSION" and key.get("EnforcementInRecord") == "REQUIRED":
                return key.get("Name")
        return None

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

    def received_value_types(self) -> list[str]:
        """The single-measure value types (BIGINT, DOUBLE ...) the table has been written with."""
        kinds = set(self.measure_types.values())
        return [kind for kind in VALUE_COLUMNS if kind in kinds]

    def visible_columns(self) -> dict[str, str]:
        """The columns users see -> DuckDB type: as view_columns, but with the measure_value::<type>
        columns of the value types the table has received only, as AWS shows a table."""
        received = set(self.received_value_types())
        hidden = {column for kind, column in VALUE_COLUMNS.items() if kind not in received}
        return {name: kind for name, kind in self.view_columns().items() if name not in hidden}

    def described_columns(self) -> list[tuple[str, str, str]]:
        """DESCRIBE's rows: (column, type, Timestream attribute type)."""
        rows = [(name, "varchar", "DIMENSION") for name in self.dimensions]
        rows += [("measure_name", "varchar", "MEASURE_NAME"), ("time", "timestamp", "TIMESTAMP")]
        rows += [(VALUE_COLUMNS[kind], kind.lower(), "MEASURE_VALUE") for kind in self.received_value_types()]
        rows += [(name, kind.lower(), "MULTI") for name, kind in self.attributes.items()]
        return rows

    def measures(self) -> list[tuple[str, str, list[str]]]:
        """SHOW MEASURES' rows: (measure name, data type, dimensions), by name. The store keeps the
        dimensions per table, not per measure: each measure lists the table's dimensions."""
        return [
            (name, kind.lower(), list(self.dimensions)) for name, kind in sorted(self.measure_types.items())
        ]

    def physical_name(self, name: str) -> str:
        """The tiers' column for a user-visible column (or VERSION_KEY)."""
        return self.column_names()[name]

    def column_names(self) -> dict[str, str]:
        """Every column's user-visible name (and VERSION_KEY) -> its name in the tiers."""
        names = {name: f"d{n}" for n, name in enumerate(self.dimensions)}
        names.update((name, name) for name in FIXED_COLUMNS)
        names.update((name, f"a{n}") for n, name in enumerate(self.attributes))
        names[VERSION_KEY] = VERSION_COLUMN
        return names

    def physical_columns(self) -> dict[str, str]:
        """The tiers' columns -> DuckDB type."""
        kinds = {**self.view_columns(), VERSION_KEY: "BIGINT"}
        return {physical: kinds[name] for name, physical in self.column_names().items()}

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
                "layout": self.layout,
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
            layout=int(data.get("layout", 1)),
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
