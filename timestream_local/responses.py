"""Thin action handlers: request parameters -> store / query engine -> the AWS-shaped response dict."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import msgspec

from timestream_local.domain import resources
from timestream_local.domain.records import parse_write_request
from timestream_local.exceptions import (
    InternalServerException,
    RejectedRecordsException,
    SerializationException,
    TimestreamError,
    UnknownOperationException,
    ValidationException,
)
from timestream_local.lru import LruCache
from timestream_local.store import Store
from timestream_local.watchdog import Watchdog

log = logging.getLogger("timestream_local.responses")

Params = dict[str, Any]
MAX_PAGE_BYTES = 1_000_000
DEFAULT_RESULTS_BYTES = 256 * 2**20  # query results kept for paging, together (and the most one may hold)
QUERY_CACHE_SECONDS = 600
QUERY_CACHE_ENTRIES = 64
LAYOUT_CACHE_ENTRIES = 512  # query texts whose result column types are kept


# AWS's length limits of the string parameters, checked before anything else reads them.
_LENGTHS = {
    "DatabaseName": (3, 256), "TableName": (3, 256), "KmsKeyId": (1, 2048), "ResourceARN": (1, 1011),
    "QueryString": (1, 262_144), "QueryId": (1, 64), "NextToken": (1, 2048), "ClientToken": (32, 128),
}  # fmt: skip


def _string(params: Params, key: str, required: bool = True) -> str | None:
    value = params.get(key)
    if value is None:
        if required:
            raise ValidationException(
                f"1 validation error detected: Value null at '{key}' failed to satisfy "
                "constraint: Member must not be null"
            )
        return None
    if not isinstance(value, str):
        raise ValidationException(f"{key} must be a string.")
    low, high = _LENGTHS.get(key, (0, 2048))
    if not low <= len(value) <= high:
        raise ValidationException(
            f"1 validation error detected: Value at '{key[0].lower()}{key[1:]}' failed to satisfy constraint: "
            f"Member must have length between {low} and {high} (got {len(value)})"
        )
    return value


def _page_args(params: Params, limit: int) -> tuple[int, int]:
    max_results = params.get("MaxResults")
    if max_results is None:
        max_results = limit
    if isinstance(max_results, bool) or not isinstance(max_results, int) or not 1 <= max_results <= limit:
        raise ValidationException(f"MaxResults must be an integer between 1 and {limit}.")
    token = _string(params, "NextToken", required=False)
    start = 0
    if token is not None:
        try:
            start = int(base64.urlsafe_b64decode(str(token).encode()).decode())
        except (ValueError, binascii.Error, UnicodeDecodeError) as error:
            raise ValidationException("The NextToken is not valid.") from error
    return start, max_results


def _page(items: list[Any], start: int, size: int) -> tuple[list[Any], str | None]:
    chunk = items[start : start + size]
    token = None
    if start + size < len(items):
        token = base64.urlsafe_b64encode(str(start + size).encode()).decode()
    return chunk, token


@dataclass
class StoredResult:
    query_string: str
    column_info: list[dict[str, Any]]
    rows: list[msgspec.Raw]  # each row's JSON, encoded once
    size: int  # the rows' JSON bytes
    created: float = field(default_factory=time.monotonic)


class QueryRegistry:
    """Results kept for NextToken paging (at most ``max_bytes`` of them, oldest dropped first), and
    running queries for CancelQuery."""

    def __init__(self, max_bytes: int = DEFAULT_RESULTS_BYTES) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._results: OrderedDict[str, StoredResult] = OrderedDict()
        self._bytes = 0
        self._running: dict[str, tuple[Any, threading.Event]] = {}
        self._cancelled: set[str] = set()

    def start(self, query_id: str, cursor: Any) -> threading.Event:
        """Register a running query; the event it returns is set when the query is cancelled."""
        stop = threading.Event()
        with self._lock:
            self._running[query_id] = (cursor, stop)
        return stop

    def finish(self, query_id: str) -> bool:
        """Forget a running query; True when it was cancelled meanwhile."""
        with self._lock:
            self._running.pop(query_id, None)
            if query_id in self._cancelled:
                self._cancelled.discard(query_id)
                return True
            return False

    def cancel(self, query_id: str) -> str:
        with self._lock:
            running = self._running.get(query_id)
            if running is not None:
                self._cancelled.add(query_id)
                running[1].set()
                running[0].interrupt()
                return f"Query {query_id} was cancelled."
            if self._pop(query_id) is not None:
                return f"Query {query_id} had already finished; its remaining pages were discarded."
        raise ValidationException(f"The query ID {query_id} does not match a running or paged query.")

    def store(self, query_id: str, result: StoredResult) -> None:
        with self._lock:
            self._expire()
            self._pop(query_id)
            self._results[query_id] = result
            self._bytes += result.size
            while len(self._results) > 1 and (
                len(self._results) > QUERY_CACHE_ENTRIES or self._bytes > self.max_bytes
            ):
                self._pop(next(iter(self._results)))

    def get(self, query_id: str) -> StoredResult | None:
        with self._lock:
            self._expire()
            return self._results.get(query_id)

    def drop(self, query_id: str) -> None:
        with self._lock:
            self._pop(query_id)

    @property
    def stored_bytes(self) -> int:
        with self._lock:
            return self._bytes

    def _pop(self, query_id: str) -> StoredResult | None:
        result = self._results.pop(query_id, None)
        if result is not None:
            self._bytes -= result.size
        return result

    def _expire(self) -> None:
        deadline = time.monotonic() - QUERY_CACHE_SECONDS
        for key in [k for k, v in self._results.items() if v.created < deadline]:
            self._pop(key)


def parse_body(body: bytes) -> Params:
    """A request body as parameters; an empty body means no parameters."""
    if not body.strip():
        return {}
    try:
        params = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise SerializationException(f"The request body is not valid JSON: {error}") from error
    if not isinstance(params, dict):
        raise SerializationException("The request body must be a JSON object.")
    return params


def _ingested(memory: int, magnetic: int) -> dict[str, Any]:
    """WriteRecords' answer, the same whichever path stored the records."""
    return {"RecordsIngested": {"Total": memory + magnetic, "MemoryStore": memory, "MagneticStore": magnetic}}


class Backend:
    """Implements every supported action against one Store."""

    def __init__(
        self,
        store: Store,
        address: str,
        query_timeout: float = 60.0,
        results_bytes: int = DEFAULT_RESULTS_BYTES,
    ) -> None:
        self.store = store
        self.address = address
        self.query_timeout = query_timeout
        self.results_bytes = results_bytes  # one result, and all results kept for paging together
        self.queries = QueryRegistry(results_bytes)
        # Translating a query is Python work that cannot be interrupted: it runs on these threads, and
        # a client whose timeout passes meanwhile gets its answer at the deadline (see execute_query).
        self.compiler = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tsl-translate")
        self.watchdog = Watchdog()  # enforces query_timeout; its thread starts with the first query
        self.layouts: LruCache[str, Any] = LruCache(LAYOUT_CACHE_ENTRIES)
        self.guard: Any = None  # query/guard.py's Guard, made with the query engine on the first query
        self.actions: dict[str, Callable[[Params, Any], dict[str, Any]]] = {
            "DescribeEndpoints": self.describe_endpoints,
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
            "Query": self.query,
            "CancelQuery": self.cancel_query,
            "ListTagsForResource": self.list_tags,
            "TagResource": self.no_content,
            "UntagResource": self.no_content,
        }

    def dispatch_body(self, action: str, body: bytes, statements_factory: Any) -> dict[str, Any]:
        """Run one action on a raw request body. WriteRecords first tries the store's streaming fast
        path, which either takes the whole request or leaves it untouched for the full path."""
        if action == "WriteRecords":
            count = self.store.writer.write_streaming(body)
            if count is not None:
                return _ingested(count, 0)
        return self.dispatch(action, parse_body(body), statements_factory, body)

    def dispatch(
        self, action: str, params: Params, statements_factory: Any, raw: bytes | None = None
    ) -> dict[str, Any]:
        """Run one action; `raw` is the request body as received (WriteRecords logs it for durability).
        `statements_factory()` gives the client connection's DuckDB cursor with the statements prepared
        on it (``open_statements``, made on first use); only queries call it."""
        if action == "WriteRecords":
            return self.write_records(params, statements_factory, raw)
        handler = self.actions.get(action)
        if handler is None:
            raise UnknownOperationException(f"The action {action} is not supported by timestream_local.")
        return handler(params, statements_factory)

    # ----------------------------------------------------------------------------- control plane
    def describe_endpoints(self, params: Params, _statements: Any) -> dict[str, Any]:
        return {"Endpoints": [{"Address": self.address, "CachePeriodInMinutes": 1440}]}

    def create_database(self, params: Params, _statements: Any) -> dict[str, Any]:
        name = _string(params, "DatabaseName")
        kms = _string(params, "KmsKeyId", required=False)
        info = self.store.catalogue.create_database(name, kms)
        return {"Database": info.to_api(0)}

    def describe_database(self, params: Params, _statements: Any) -> dict[str, Any]:
        name = _string(params, "DatabaseName")
        info = self.store.catalogue.describe_database(name)
        return {"Database": info.to_api(self.store.catalogue.table_count(name))}

    def list_databases(self, params: Params, _statements: Any) -> dict[str, Any]:
        start, size = _page_args(params, 20)
        items, token = _page(self.store.catalogue.list_databases(), start, size)
        body: dict[str, Any] = {
            "Databases": [i.to_api(self.store.catalogue.table_count(i.name)) for i in items]
        }
        if token:
            body["NextToken"] = token
        return body

    def update_database(self, params: Params, _statements: Any) -> dict[str, Any]:
        name = _string(params, "DatabaseName")
        kms = _string(params, "KmsKeyId")
        info = self.store.catalogue.update_database(name, kms)
        return {"Database": info.to_api(self.store.catalogue.table_count(name))}

    def delete_database(self, params: Params, _statements: Any) -> dict[str, Any]:
        self.store.catalogue.delete_database(_string(params, "DatabaseName"))
        return {}

    def _table_options(self, params: Params) -> tuple[Any, Any, Any]:
        retention = params.get("RetentionProperties")
        magnetic = params.get("MagneticStoreWriteProperties")
        schema = params.get("Schema")
        return (
            None if retention is None else resources.parse_retention(retention),
            None if magnetic is None else resources.parse_magnetic_write_properties(magnetic),
            None if schema is None else resources.parse_schema(schema),
        )

    def create_table(self, params: Params, _statements: Any) -> dict[str, Any]:
        database = _string(params, "DatabaseName")
        name = _string(params, "TableName")
        retention, magnetic, schema = self._table_options(params)
        table = self.store.catalogue.create_table(database, name, retention, magnetic, schema)
        return {"Table": table.to_api()}

    def describe_table(self, params: Params, _statements: Any) -> dict[str, Any]:
        table = self.store.catalogue.describe_table(
            _string(params, "DatabaseName"), _string(params, "TableName")
        )
        return {"Table": table.to_api()}

    def list_tables(self, params: Params, _statements: Any) -> dict[str, Any]:
        database = _string(params, "DatabaseName", required=False)
        start, size = _page_args(params, 20)
        items, token = _page(self.store.catalogue.list_tables(database), start, size)
        body: dict[str, Any] = {"Tables": [t.to_api() for t in items]}
        if token:
            body["NextToken"] = token
        return body

    def update_table(self, params: Params, _statements: Any) -> dict[str, Any]:
        database = _string(params, "DatabaseName")
        name = _string(params, "TableName")
        retention, magnetic, schema = self._table_options(params)
        table = self.store.catalogue.update_table(database, name, retention, magnetic, schema)
        return {"Table": table.to_api()}

    def delete_table(self, params: Params, _statements: Any) -> dict[str, Any]:
        self.store.catalogue.delete_table(_string(params, "DatabaseName"), _string(params, "TableName"))
        return {}

    def list_tags(self, params: Params, _statements: Any) -> dict[str, Any]:
        _string(params, "ResourceARN")
        return {"Tags": []}

    def no_content(self, params: Params, _statements: Any) -> dict[str, Any]:
        _string(params, "ResourceARN")
        return {}

    # ----------------------------------------------------------------------------------- writes
    def write_records(self, params: Params, _statements: Any, raw: bytes | None = None) -> dict[str, Any]:
        request = parse_write_request(params, raw)
        outcome, rejections = self.store.writer.write_records(request)
        if rejections:
            raise RejectedRecordsException(
                "One or more records have been rejected. See RejectedRecords for details.",
                RejectedRecords=[r.to_api() for r in rejections],
            )
        return _ingested(outcome.memory, outcome.magnetic)

    # ----------------------------------------------------------------------------------- queries
    def query(self, params: Params, statements_factory: Any) -> dict[str, Any]:
        query_string = _string(params, "QueryString")
        max_rows = params.get("MaxRows")
        if max_rows is not None and (
            isinstance(max_rows, bool) or not isinstance(max_rows, int) or not 1 <= max_rows <= 1000
        ):
            raise ValidationException("MaxRows must be an integer between 1 and 1000.")
        token = _string(params, "NextToken", required=False)
        if token is not None:
            query_id, offset = self._decode_token(token)
            stored = self.queries.get(query_id)
            if stored is None or stored.query_string != query_string:
                raise ValidationException(
                    "The NextToken is expired or does not belong to this QueryString; run the query again."
                )
        else:
            query_id = f"AEDQC{uuid.uuid4().hex.upper()}"
            offset = 0
            stored = self._run_query(query_id, query_string, statements_factory)
        return self._query_page(query_id, stored, offset, max_rows)

    def open_statements(self) -> Any:
        """A new DuckDB cursor on the store, with the statements it will prepare (one per client connection)."""
        from timestream_local.query.prepared import PreparedStatements  # noqa: PLC0415 - as the engine, lazily

        return PreparedStatements(self.store.reader.cursor())

    def _run_query(self, query_id: str, query_string: str, statements_factory: Any) -> StoredResult:
        try:
            from timestream_local.query import execute_query  # noqa: PLC0415 - the SQL engine, loaded lazily
            from timestream_local.query.guard import Guard  # noqa: PLC0415
        except ImportError as error:
            raise InternalServerException(f"The query engine is not available: {error}") from error
        if self.guard is None:
            self.guard = Guard()

        self.store.reader.sync()
        statements = statements_factory()
        cursor = statements.cursor
        stop = self.queries.start(query_id, cursor)
        try:
            result = execute_query(
                cursor,
                query_string,
                timeout_s=self.query_timeout,
                max_result_bytes=self.results_bytes,
                tiers=self.store.reader,
                watchdog=self.watchdog,
                layouts=self.layouts,
                prepared=statements,
                fence=self.guard,
                compiler=self.compiler,
                stop=stop,
            )
        except TimestreamError:
            self.queries.finish(query_id)
            raise
        except Exception as error:
            if self.queries.finish(query_id):
                raise ValidationException(f"Query {query_id} was cancelled.") from error
            raise
        if self.queries.finish(query_id):
            raise ValidationException(f"Query {query_id} was cancelled.")
        return StoredResult(query_string, list(result.column_info), result.encoded_rows, result.size)

    @staticmethod
    def _decode_token(token: Any) -> tuple[str, int]:
        try:
            data = json.loads(base64.urlsafe_b64decode(str(token).encode()))
            return str(data["q"]), int(data["o"])
        except (ValueError, KeyError, TypeError, binascii.Error) as error:
            raise ValidationException("The NextToken is not valid.") from error

    def _query_page(
        self, query_id: str, stored: StoredResult, offset: int, max_rows: int | None
    ) -> dict[str, Any]:
        rows = stored.rows
        page, scanned = self._page_rows(rows, offset, max_rows)
        end = offset + len(page)
        body: dict[str, Any] = {
            "QueryId": query_id,
            "Rows": page,
            "ColumnInfo": stored.column_info,
            "QueryStatus": {
                "ProgressPercentage": 100.0,
                "CumulativeBytesScanned": scanned,
                "CumulativeBytesMetered": max(scanned, 10_000_000),
            },
        }
        if end < len(rows):
            self.queries.store(query_id, stored)
            body["NextToken"] = base64.urlsafe_b64encode(
                json.dumps({"q": query_id, "o": end}).encode()
            ).decode()
        else:
            self.queries.drop(query_id)
        return body

    @staticmethod
    def _page_rows(
        rows: list[msgspec.Raw], offset: int, max_rows: int | None
    ) -> tuple[list[msgspec.Raw], int]:
        """The rows of the page starting at `offset` and their size in JSON bytes (each row is
        encoded already). Without MaxRows a page ends once it holds MAX_PAGE_BYTES of JSON."""
        if max_rows is not None:
            page = rows[offset : offset + max_rows]
            return page, sum(map(len, page))
        end, size = offset, 0
        while end < len(rows) and (end == offset or size < MAX_PAGE_BYTES):
            size += len(rows[end])
            end += 1
        return rows[offset:end], size

    def cancel_query(self, params: Params, _statements: Any) -> dict[str, Any]:
        query_id = _string(params, "QueryId")
        return {"CancellationMessage": self.queries.cancel(query_id)}
