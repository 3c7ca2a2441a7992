"""execute_query: one Timestream SQL query against the store's DuckDB database.

parse (lexer) -> validate + translate (translate; on the server's translator threads, so that the
client is answered at the deadline) -> resolve the tables (the store's catalogue) -> the guard
(guard.py: DuckDB's parser reads the SQL first) -> run on DuckDB under a watchdog that interrupts
it at the deadline -> fetch and encode Timestream's wire format a chunk at a time (results), within
the deadline and the result's size limit.

Dashboards send the same queries again and again (Grafana refreshes every 5 s), so three bounded
caches keep the per-query cost down to DuckDB's own work: the translation of a query text (only
its now()/ago() literals change between runs, and they are filled in per execution; a pure
function, memoised); the result column types of a translation, which spares DuckDB a second
planning pass (an LruCache its owner, the Query API's handler, passes in; a cached column layout is
checked against what DuckDB reports on every run and rebuilt when it differs); and the statements
a connection has prepared (``prepared.py``), which spare DuckDB parsing the text again.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Protocol

import duckdb
import msgspec
from sqlglot import exp

from timestream_local.exceptions import TimestreamError, ValidationException
from timestream_local.lru import LruCache
from timestream_local.query import guard, metadata, results
from timestream_local.query.lexer import parse
from timestream_local.query.prepared import PreparedStatements
from timestream_local.query.translate import TableRef, bind_now, bind_tables, translate
from timestream_local.watchdog import Watchdog

log = logging.getLogger(__name__)

DEFAULT_MAX_RESULT_ROWS = 1_000_000
DEFAULT_MAX_RESULT_BYTES = 256 * 2**20
FETCH_ROWS = 2048  # rows fetched, encoded and checked against the limits at a time
_encode = msgspec.json.encode
_DUCKDB_USER_ERRORS = (
    duckdb.BinderException, duckdb.CatalogException, duckdb.ConversionException,
    duckdb.InvalidInputException, duckdb.OutOfRangeException, duckdb.ParserException,
    duckdb.NotImplementedException, duckdb.TypeMismatchException,
)  # fmt: skip


class Tiers(Protocol):
    """Where a query's tables come from: the store (storage/reader.py's Reader), or metadata.SchemaSource.

    The whole of what the engine sees of the store: it never imports storage/ or domain/."""

    def query_relations(self, tables: Sequence[TableRef], now_ns: int) -> tuple[list[str], list[str], int]:
        """The relation to read for each table, the relation over both tiers of each, and the tier
        generation the choice was made at; ResourceNotFoundException for a missing table."""
        ...

    def tier_generation(self) -> int:
        """A number that changes whenever rows move between tiers."""
        ...

    def database_names(self) -> list[str]: ...

    def table_names(self, database: str) -> list[str]: ...


class QueryTimeoutError(ValidationException):
    """The query ran longer than the server's query timeout and was stopped."""


class QueryCancelledError(ValidationException):
    """The query was interrupted from outside (CancelQuery) before it finished."""


@dataclass
class QueryResult:
    column_info: list[dict[str, Any]]
    encoded_rows: list[msgspec.Raw]  # each row's Timestream JSON, ready to be sent
    elapsed_s: float = 0.0
    duckdb_sql: str = ""
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """The rows' JSON bytes."""
        return sum(map(len, self.encoded_rows))

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows as Timestream's JSON objects ({"Data": [Datum, ...]})."""
        return [msgspec.json.decode(raw) for raw in self.encoded_rows]


@dataclass(frozen=True)
class CompiledQuery:
    sql: str  # DuckDB SQL with '__TSL_NOW__<ns>' placeholders
    tables: tuple[TableRef, ...]
    fixed_columns: bool  # no SELECT *: the result columns cannot change while the text stays the same


@functools.lru_cache(maxsize=512)
def compile_query(sql: str) -> CompiledQuery:
    """Parse, validate and translate a query text (a pure function, hence memoised)."""
    tree = parse(sql)
    fixed = not any(isinstance(star.parent, exp.Column | exp.Select) for star in tree.find_all(exp.Star))
    translation = translate(tree)
    return CompiledQuery(translation.sql, tuple(translation.tables), fixed)


@dataclass(frozen=True)
class _Layout:
    names: tuple[str, ...]
    shapes: tuple[results.Shape, ...]
    final_sql: str  # the translation, wrapped when some column needs fixing up before fetching
    signature: tuple[tuple[str, str], ...]  # what DuckDB reports for final_sql's columns


_UNKNOWN_COLUMN = re.compile(r'Referenced column "(.{1,256}?)" not found in FROM clause!?')


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    for prefix in ("Binder Error: ", "Catalog Error: ", "Conversion Error: ", "Invalid Input Error: ",
                   "Out of Range Error: ", "Parser Error: ", "Not implemented Error: "):  # fmt: skip
        if line.startswith(prefix):
            line = line[len(prefix) :]
            break
    unknown = _UNKNOWN_COLUMN.match(line)
    if unknown is not None:  # AWS's wording; a table lists only the measure value types it has received
        return f"Column '{unknown.group(1)}' does not exist"
    return line


def _map_duckdb_error(error: Exception, timed_out: bool, timeout_s: float) -> TimestreamError:
    if isinstance(error, duckdb.InterruptException):
        if timed_out:
            return QueryTimeoutError(
                f"The query exceeded the query timeout of {timeout_s:g} s and was stopped."
            )
        return QueryCancelledError("The query was cancelled.")
    if isinstance(error, duckdb.OutOfMemoryException):
        return ValidationException(
            "The query ran out of memory: it needs more than the server's --memory-limit allows; narrow the "
            "time range, add filters or aggregate."
        )
    if isinstance(error, _DUCKDB_USER_ERRORS):
        return ValidationException(_first_line(error))
    log.error("query failed inside DuckDB: %s", _first_line(error))
    return TimestreamError(f"Internal error while running the query: {_first_line(error)}")


def _signature(description: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(column[0]), str(column[1])) for column in description or ())


def _layout(cursor: Any, template: str, bind: Callable[[str], str], fence: guard.Guard) -> _Layout:
    """Plan the query once to learn its result types (DuckDB binds without running it). Both the
    translation and the final SQL pass the guard first: binding alone can touch files."""
    fence.check(cursor, template)
    relation = cursor.sql(bind(template))
    shapes = tuple(results.shape_of(t) for t in relation.types)
    final_sql = results.wrap_sql(template, shapes) or template
    if final_sql != template:
        fence.check(cursor, final_sql)
    return _Layout(tuple(relation.columns), shapes, final_sql, ())


def _run(
    cursor: Any,
    compiled: CompiledQuery,
    bind: Callable[[str], str],
    execute: Callable[[str], Any],
    layouts: LruCache[str, _Layout],
    fence: guard.Guard,
) -> _Layout:
    """Run the query (DuckDB materialises its result); returns its layout, the cursor ready to fetch."""
    cached = layouts.get(compiled.sql) if compiled.fixed_columns else None
    if cached is not None:
        try:
            execute(cached.final_sql)
            if _signature(cursor.description) == cached.signature:
                return cached
        except (duckdb.BinderException, duckdb.CatalogException):
            pass  # the tables changed under the cached layout: plan again below
        layouts.drop(compiled.sql)
    layout = _layout(cursor, compiled.sql, bind, fence)
    execute(layout.final_sql)
    layout = _Layout(layout.names, layout.shapes, layout.final_sql, _signature(cursor.description))
    if compiled.fixed_columns:
        layouts.put(compiled.sql, layout)
    return layout


@dataclass(frozen=True)
class _Budget:
    """What a query may still spend: its deadline (time.monotonic()), rows and JSON bytes."""

    deadline: float
    timeout_s: float
    max_rows: int
    max_bytes: int
    stop: threading.Event  # set when the query is cancelled


def _fetch(cursor: Any, layout: _Layout, budget: _Budget) -> tuple[list[msgspec.Raw], int]:
    """The result's rows, each already encoded as its Timestream JSON, and their total size. Rows are
    fetched and encoded a chunk at a time, so that neither the Python objects of the whole result
    nor a time past the deadline are ever spent: the size and row limits, the deadline and a
    cancellation are checked after every chunk."""
    encode = results.row_encoder(layout.shapes)
    rows: list[msgspec.Raw] = []
    size = 0
    while chunk := cursor.fetchmany(FETCH_ROWS):
        for row in chunk:
            raw = encode(row)
            size += len(raw)
            rows.append(raw)
        if len(rows) > budget.max_rows:
            raise ValidationException(
                f"The query returns more than {budget.max_rows:,} rows; add a LIMIT or narrow the filters."
            )
        if size > budget.max_bytes:
            raise ValidationException(
                f"The query's result is larger than the server's limit of {budget.max_bytes / 2**20:,.0f} MiB "
                "(a quarter of --memory-limit); add a LIMIT, aggregate, or narrow the filters."
            )
        if budget.stop.is_set():
            raise QueryCancelledError("The query was cancelled.")
        if time.monotonic() > budget.deadline:
            raise QueryTimeoutError(
                f"The query exceeded the query timeout of {budget.timeout_s:g} s and was stopped."
            )
    return rows, size


def _watch(seconds: float, interrupt: Callable[[], None], watchdog: Watchdog | None) -> Callable[[], None]:
    """Call ``interrupt`` after ``seconds`` (by the watchdog, else a timer thread); returns the cancel."""
    if watchdog is not None:
        return functools.partial(watchdog.cancel, watchdog.watch(seconds, interrupt))
    timer = threading.Timer(seconds, interrupt)
    timer.daemon = True
    timer.start()
    return timer.cancel


def _compile(sql: str, remaining: float, timeout_s: float, compiler: Executor | None) -> CompiledQuery:
    """compile_query within the time left: on the server's compiler threads, whose result the client
    stops waiting for at the deadline (the translation, linear in the query's size, then finishes
    in the background and is cached), or inline without them."""
    if compiler is None:
        return compile_query(sql)
    future = compiler.submit(compile_query, sql)
    try:
        return future.result(timeout=max(remaining, 0.0))
    except concurrent.futures.TimeoutError:
        raise QueryTimeoutError(
            f"The query exceeded the query timeout of {timeout_s:g} s and was stopped."
        ) from None


def check_query(sql: str, timeout_s: float, compiler: Executor | None = None) -> None:
    """Parse, validate and translate ``sql`` as a query would be, without running it (raises
    ValidationException naming the problem, or a timeout)."""
    _compile(sql, timeout_s, timeout_s, compiler)


def execute_query(
    cursor: Any,
    sql: str,
    timeout_s: float = 60.0,
    *,
    now_ns: int | None = None,
    max_result_rows: int = DEFAULT_MAX_RESULT_ROWS,
    max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
    layouts: LruCache[str, _Layout] | None = None,
    tiers: Tiers | None = None,
    watchdog: Watchdog | None = None,
    prepared: PreparedStatements | None = None,
    fence: guard.Guard | None = None,
    compiler: Executor | None = None,
    stop: threading.Event | None = None,
) -> QueryResult:
    """Run one Timestream SQL query; raise ValidationException / ResourceNotFoundException / a timeout.

    ``cursor`` is a DuckDB connection (or cursor) on the store's database, used by this call only
    (the timeout interrupts it); ``now_ns`` fixes "now" (UTC nanoseconds) for ``now()`` /
    ``ago()``, by default the current time. With ``tiers`` (the store) a table whose rows the query
    bounds to a recent window is read from the memory tier alone when no magnetic file is that
    recent; if rows moved between tiers while the query ran, it runs again over both tiers. Without
    it the tables are DuckDB schemas and relations (metadata.SchemaSource). A server passes its
    ``watchdog`` to enforce the timeout; without one a timer thread does. With ``layouts`` the
    result column types of a query text are planned once and reused. With ``prepared`` (the
    statements ``cursor`` has prepared) a text is parsed once per connection. Every new translation
    passes ``fence`` (query/guard.py; one that remembers what it let through is kept by the server)
    before DuckDB sees it. ``compiler`` (the server's threads for translating) keeps even the
    translation within the timeout; ``stop`` is set to cancel the query. The timeout covers
    translating, running, fetching and encoding; the result may hold at most ``max_result_rows``
    rows and ``max_result_bytes`` bytes of JSON.
    """
    layouts = LruCache(1) if layouts is None else layouts
    fence = guard.Guard() if fence is None else fence
    if prepared is not None and prepared.cursor is not cursor:
        raise ValueError("prepared must hold the statements of the cursor the query runs on")
    started = time.monotonic()
    now_ns = time.time_ns() if now_ns is None else now_ns
    if not isinstance(sql, str):
        raise ValidationException("QueryString must be a string")
    source = metadata.SchemaSource(cursor) if tiers is None else tiers
    shown = metadata.answer(source, sql)
    if shown is not None:
        return QueryResult(
            shown[0], [msgspec.Raw(_encode(row)) for row in shown[1]], time.monotonic() - started
        )
    compiled = _compile(sql, timeout_s - (time.monotonic() - started), timeout_s, compiler)
    relations, full, generation = source.query_relations(compiled.tables, now_ns)

    remaining = timeout_s - (time.monotonic() - started)
    if remaining <= 0:
        raise QueryTimeoutError(f"The query exceeded the query timeout of {timeout_s:g} s and was stopped.")
    budget = _Budget(
        started + timeout_s, timeout_s, max_result_rows, max_result_bytes, stop or threading.Event()
    )
    fired = threading.Event()

    def interrupt() -> None:
        fired.set()
        cursor.interrupt()

    def bind(template: str, relations: list[str] = relations) -> str:
        return bind_tables(bind_now(template, now_ns), relations)

    def execute(template: str, relations: list[str] = relations) -> Any:
        if prepared is None:
            return cursor.execute(bind_tables(bind_now(template, now_ns), relations))
        return prepared.execute(bind_tables(template, relations), now_ns)

    stop_watching = _watch(remaining, interrupt, watchdog)
    try:
        layout = _run(cursor, compiled, bind, execute, layouts, fence)
        if relations != full and source.tier_generation() != generation:
            bind = functools.partial(bind, relations=full)  # rows moved meanwhile: read both tiers
            execute = functools.partial(execute, relations=full)
            layout = _run(cursor, compiled, bind, execute, layouts, fence)
        rows, size = _fetch(cursor, layout, budget)
    except duckdb.Error as error:
        raise _map_duckdb_error(error, fired.is_set(), timeout_s) from None
    except RecursionError:
        raise ValidationException("the query is nested too deeply") from None
    finally:
        stop_watching()
    return QueryResult(
        column_info=[results.column_info(n, s) for n, s in zip(layout.names, layout.shapes, strict=True)],
        encoded_rows=rows,
        elapsed_s=time.monotonic() - started,
        duckdb_sql=bind(compiled.sql),
        stats={"rows": len(rows), "bytes": size},
    )
