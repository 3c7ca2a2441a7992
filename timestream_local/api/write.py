"""The Timestream Write API (timestream-write): databases, tables and WriteRecords (its tag actions
are api/tags.py's).

Thin handlers: read and check the parameters, call the catalogue or the writer (domain/), answer the
AWS-shaped dict. The rules and their error messages are the domain's.
"""

from __future__ import annotations

from typing import Any

from timestream_local.api.params import Call, Params, page, page_args, string
from timestream_local.domain.catalogue import Catalogue
from timestream_local.domain.records import parse_write_request
from timestream_local.domain.resources import parse_magnetic_write_properties, parse_retention, parse_schema
from timestream_local.domain.tags import parse_tags
from timestream_local.domain.writes import Writer
from timestream_local.exceptions import RejectedRecordsException
from timestream_local.models import Retention


def _ingested(memory: int, magnetic: int) -> dict[str, Any]:
    """WriteRecords' answer, the same whichever path stored the records."""
    return {"RecordsIngested": {"Total": memory + magnetic, "MemoryStore": memory, "MagneticStore": magnetic}}


def _tags(params: Params) -> dict[str, str] | None:
    """Create*'s Tags, kept with the new resource (domain/tags.py's rules)."""
    value = params.get("Tags")
    return None if value is None else parse_tags(value)


def _table_options(params: Params) -> tuple[Retention | None, dict[str, Any] | None, dict[str, Any] | None]:
    retention = params.get("RetentionProperties")
    magnetic = params.get("MagneticStoreWriteProperties")
    schema = params.get("Schema")
    return (
        None if retention is None else parse_retention(retention),
        None if magnetic is None else parse_magnetic_write_properties(magnetic),
        None if schema is None else parse_schema(schema),
    )


class WriteApi:
    """The Write API's actions on one store's catalogue and writer."""

    def __init__(self, catalogue: Catalogue, writer: Writer) -> None:
        self.catalogue = catalogue
        self.writer = writer

    def actions(self) -> dict[str, Any]:
        return {
            "CreateDatabase": self.create_database,
            "DescribeDatabase": self.describe_database,
            "ListDatabases": self.list_databases,
            "UpdateDatabase": self.update_database,
            "DeleteDatabase": self.delete_database,
            "CreateTable": self.create_table,
            "DescribeTable": self.describe_table,
            "ListTables": self.list_tables,
            "UpdateTable": self.update_table,
            "DeleteTable": self.delete_table,
            "WriteRecords": self.write_records,
        }

    # ---------------------------------------------------------------------------------- databases
    def create_database(self, call: Call) -> dict[str, Any]:
        params = call.params
        name = string(params, "DatabaseName")
        kms = string(params, "KmsKeyId", required=False)
        info = self.catalogue.create_database(name, kms, _tags(params))
        return {"Database": info.to_api(0)}

    def describe_database(self, call: Call) -> dict[str, Any]:
        name = string(call.params, "DatabaseName")
        info = self.catalogue.describe_database(name)
        return {"Database": info.to_api(self.catalogue.table_count(name))}

    def list_databases(self, call: Call) -> dict[str, Any]:
        start, size = page_args(call.params, 20)
        items, token = page(self.catalogue.list_databases(), start, size)
        body: dict[str, Any] = {"Databases": [i.to_api(self.catalogue.table_count(i.name)) for i in items]}
        if token:
            body["NextToken"] = token
        return body

    def update_database(self, call: Call) -> dict[str, Any]:
        params = call.params
        name = string(params, "DatabaseName")
        kms = string(params, "KmsKeyId")
        info = self.catalogue.update_database(name, kms)
        return {"Database": info.to_api(self.catalogue.table_count(name))}

    def delete_database(self, call: Call) -> dict[str, Any]:
        self.catalogue.delete_database(string(call.params, "DatabaseName"))
        return {}

    # ------------------------------------------------------------------------------------ tables
    def create_table(self, call: Call) -> dict[str, Any]:
        params = call.params
        database = string(params, "DatabaseName")
        name = string(params, "TableName")
        retention, magnetic, schema = _table_options(params)
        table = self.catalogue.create_table(database, name, retention, magnetic, schema, _tags(params))
        return {"Table": table.to_api()}

    def describe_table(self, call: Call) -> dict[str, Any]:
        params = call.params
        table = self.catalogue.describe_table(string(params, "DatabaseName"), string(params, "TableName"))
        return {"Table": table.to_api()}

    def list_tables(self, call: Call) -> dict[str, Any]:
        params = call.params
        database = string(params, "DatabaseName", required=False)
        start, size = page_args(params, 20)
        items, token = page(self.catalogue.list_tables(database), start, size)
        body: dict[str, Any] = {"Tables": [t.to_api() for t in items]}
        if token:
            body["NextToken"] = token
        return body

    def update_table(self, call: Call) -> dict[str, Any]:
        params = call.params
        database = string(params, "DatabaseName")
        name = string(params, "TableName")
        retention, magnetic, schema = _table_options(params)
        table = self.catalogue.update_table(database, name, retention, magnetic, schema)
        return {"Table": table.to_api()}

    def delete_table(self, call: Call) -> dict[str, Any]:
        params = call.params
        self.catalogue.delete_table(string(params, "DatabaseName"), string(params, "TableName"))
        return {}

    # ------------------------------------------------------------------------------------ writes
    def write_records(self, call: Call) -> dict[str, Any]:
        """The streaming fast path first: it takes the whole request as received or leaves it
        untouched for the full rules (domain/writes.py)."""
        count = self.writer.write_streaming(call.body)
        if count is not None:
            return _ingested(count, 0)
        request = parse_write_request(call.params, call.body)
        outcome, rejections = self.writer.write_records(request)
        if rejections:
            raise RejectedRecordsException(
                "One or more records have been rejected. See RejectedRecords for details.",
                RejectedRecords=[r.to_api() for r in rejections],
            )
        return _ingested(outcome.memory, outcome.magnetic)
