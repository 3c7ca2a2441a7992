"""The Timestream Query API (timestream-query): Query with NextToken paging, and CancelQuery.

A Query runs on the client connection's DuckDB cursor (prepared statements are kept per connection)
through the query engine (query/), which reads the store only through storage/reader.py. Results
that take more than one page are kept in the QueryRegistry (registry.py) until the last page was
fetched or they expire. The engine (sqlglot) is imported on the first query, not at start.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import msgspec

from timestream_local.api.params import Call, string
from timestream_local.api.registry import DEFAULT_RESULTS_BYTES, QueryRegistry, StoredResult
from timestream_local.exceptions import InternalServerException, TimestreamError, ValidationException
from timestream_local.lru import LruCache
from timestream_local.storage.objects import ObjectStoreError
from timestream_local.watchdog import Watchdog

if TYPE_CHECKING:
    from timestream_local.query.prepared import PreparedStatements
    from timestream_local.storage.objects import ObjectStore
    from timestream_local.storage.reader import Reader

MAX_PAGE_BYTES = 1_000_000
LAYOUT_CACHE_ENTRIES = 512  # query texts whose result column types are kept


def _started_executor(workers: int, prefix: str) -> ThreadPoolExecutor:
    """A thread pool whose threads all run already (ThreadPoolExecutor starts them one per task
    that finds none idle: each of these tasks waits until all have started)."""
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=prefix)
    everyone = threading.Barrier(workers)
    for started in [executor.submit(everyone.wait) for _ in range(workers)]:
        started.result()
    return executor


class QueryApi:
    """The Query API's actions, its kept results and running queries, and the engine's caches."""

    def __init__(
        self,
        reader: Reader,
        query_timeout: float = 60.0,
        results_bytes: int = DEFAULT_RESULTS_BYTES,
        objects: ObjectStore | None = None,
    ) -> None:
        self.reader = reader
        self.objects = objects  # S3, where UNLOAD writes (None: UNLOAD is refused)
        self.query_timeout = query_timeout
        self.results_bytes = results_bytes  # one result, and all results kept for paging together
        self.queries = QueryRegistry(results_bytes)
        # Translating a query is Python work that cannot be interrupted: it runs on these threads, and
        # a client whose timeout passes meanwhile gets its answer at the deadline (see execute_query).
        self.compiler = _started_executor(2, "tsl-translate")
        self.watchdog = Watchdog()  # enforces query_timeout
        self.watchdog.start()  # now, as every thread of the server (server.py says why)
        self.layouts: LruCache[str, Any] = LruCache(LAYOUT_CACHE_ENTRIES)
        self.guard: Any = None  # query/guard.py's Guard, made with the query engine on the first query

    def actions(self) -> dict[str, Any]:
        return {"Query": self.query, "CancelQuery": self.cancel_query}

    def open_statements(self) -> PreparedStatements:
        """A new DuckDB cursor on the store, with the statements it will prepare (one per client connection)."""
        from timestream_local.query.prepared import PreparedStatements  # noqa: PLC0415 - as the engine, lazily

        return PreparedStatements(self.reader.cursor())

    # ------------------------------------------------------------------------------------ Query
    def query(self, call: Call) -> dict[str, Any]:
        params = call.params
        query_string = string(params, "QueryString")
        max_rows = params.get("MaxRows")
        if max_rows is not None and (
            isinstance(max_rows, bool) or not isinstance(max_rows, int) or not 1 <= max_rows <= 1000
        ):
            raise ValidationException("MaxRows must be an integer between 1 and 1000.")
        token = string(params, "NextToken", required=False)
        if token is not None:
            query_id, offset, before = self._decode_token(token)
            stored = self.queries.get(query_id)
            if stored is None or stored.query_string != query_string:
                raise ValidationException(
                    "The NextToken is expired or does not belong to this QueryString; run the query again."
                )
        else:
            query_id = f"AEDQC{uuid.uuid4().hex.upper()}"
            offset, before = 0, 0
            stored = self._unload(query_id, query_string, call)
            if stored is None:
                stored = self._run_query(query_id, query_string, call)
        return self._query_page(query_id, stored, offset, max_rows, before)

    def run(self, query_string: str) -> StoredResult:
        """One whole query on a cursor of its own, with the same engine, guard, limits and timeout as
        Query (scheduled queries run this way); its id starts AEDSQ and CancelQuery stops it."""
        statements = self.open_statements()
        try:
            call = Call(b"", lambda: statements)
            return self._run_query(f"AEDSQ{uuid.uuid4().hex.upper()}", query_string, call)
        finally:
            statements.cursor.close()

    def check(self, query_string: str) -> None:
        """Refuse a query text that cannot run (its syntax, functions, types) without running it,
        within the query timeout (CreateScheduledQuery checks its QueryString this way)."""
        try:
            from timestream_local.query import check_query  # noqa: PLC0415 - the SQL engine, loaded lazily
        except ImportError as error:
            raise InternalServerException(f"The query engine is not available: {error}") from error
        check_query(query_string, self.query_timeout, self.compiler)

    def _run_query(self, query_id: str, query_string: str, call: Call) -> StoredResult:
        try:
            from timestream_local.query import execute_query  # noqa: PLC0415 - the SQL engine, loaded lazily
            from timestream_local.query.guard import Guard  # noqa: PLC0415
        except ImportError as error:
            raise InternalServerException(f"The query engine is not available: {error}") from error
        if self.guard is None:
            self.guard = Guard()

        self.reader.sync()
        statements = call.statements() if call.statements is not None else self.open_statements()
        cursor = statements.cursor
        stop = self.queries.start(query_id, cursor)
        try:
            result = execute_query(
                cursor,
                query_string,
                timeout_s=self.query_timeout,
                max_result_bytes=self.results_bytes,
                tiers=self.reader,
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

    def _unload(self, query_id: str, query_string: str, call: Call) -> StoredResult | None:
        """An UNLOAD statement run (its SELECT as any Query, its result written to S3 by api/unload.py)
        and its one-row answer; None when the query text is not an UNLOAD."""
        try:
            from timestream_local.api import unload  # noqa: PLC0415 - with the SQL engine, lazily
            from timestream_local.query.unload import is_unload, parse_unload  # noqa: PLC0415
        except ImportError as error:
            raise InternalServerException(f"The query engine is not available: {error}") from error
        if not is_unload(query_string):
            return None
        statement = parse_unload(query_string)
        objects = unload.check_target(self.objects, statement)
        result = self._run_query(query_id, statement.select, call)
        unload.file_columns(statement, result.column_info)
        try:
            answer = unload.write(objects, statement, query_id, result)
        except ObjectStoreError as error:
            raise ValidationException(f"UNLOAD could not write its result: {error}") from None
        row = msgspec.Raw(
            msgspec.json.encode(
                {"Data": [{"ScalarValue": str(answer[column["Name"]])} for column in unload.RESPONSE_COLUMNS]}
            )
        )
        return StoredResult(query_string, list(unload.RESPONSE_COLUMNS), [row], len(row))

    @staticmethod
    def _decode_token(token: Any) -> tuple[str, int, int]:
        """(query id, offset of the next row, bytes of the pages before it)."""
        try:
            data = json.loads(base64.urlsafe_b64decode(str(token).encode()))
            return str(data["q"]), int(data["o"]), int(data.get("b", 0))
        except (ValueError, KeyError, TypeError, binascii.Error) as error:
            raise ValidationException("The NextToken is not valid.") from error

    def _query_page(
        self, query_id: str, stored: StoredResult, offset: int, max_rows: int | None, before: int = 0
    ) -> dict[str, Any]:
        """One page; QueryStatus counts the bytes of every page so far (``before``: the earlier ones)."""
        rows = stored.rows
        page, size = self._page_rows(rows, offset, max_rows)
        scanned = before + size
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
                json.dumps({"q": query_id, "o": end, "b": scanned}).encode()
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

    # ------------------------------------------------------------------------------ CancelQuery
    def cancel_query(self, call: Call) -> dict[str, Any]:
        query_id = string(call.params, "QueryId")
        return {"CancellationMessage": self.queries.cancel(query_id)}
