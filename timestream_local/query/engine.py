"""execute_query: one Timestream SQL query against the store's DuckDB database.

parse (lexer) -> validate + translate (translate) -> check the tables exist -> run on DuckDB
under a watchdog that interrupts it at the deadline -> convert to Timestream's wire format (results).

Dashboards send the same queries again and again (Grafana refreshes every 5 s), so three bounded
caches keep the per-query cost down to DuckDB's own work: the translation of a query text (only
its now()/ago() literals change between runs, and they are filled in per execution; a pure
function, memoised); the result column types of a translation, which spares DuckDB a second
planning pass (an LruCache its owner, the server's Backend, passes in; a cached column layout is
checked against what DuckDB reports on every run and rebuilt when it differs); and the statements
a connection has prepared (``prepared.py``), which spare DuckDB parsing the text again.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import duckdb
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
_DUCKDB_USER_ERRORS = (
    duckdb.BinderException, duckdb.CatalogException, duckdb.ConversionException,
    duckdb.InvalidInputException, duckdb.OutOfRangeException, duckdb.ParserException,
    duckdb.NotImplementedException, duckdb.TypeMismatchException,
)  # fmt: skip


class Tiers(Protocol):
    """Where a query's tables come from: the store (Store.query_relations), or metadata.SchemaSource."""

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
    rows: list[dict[str, Any]]
    duckdb_sql: str = ""
    elapsed_s: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)


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


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    for prefix in ("Binder Error: ", "Catalog Error: ", "Conversion Error: ", "Invalid Input Error: ",
                   "Out of Range Error: ", "Parser Error: ", "Not implemented Error: "):  # fmt: skip
        if line.startswith(prefix):
            return line[len(prefix) :]
    return line


def _map_duckdb_error(error: Exception, timed_out: bool, timeout_s: float) -> TimestreamError:
    if isinstance(error, duckdb.InterruptException):
        if timed_out:
            return QueryTimeoutError(
                f"The query exceeded the query timeout of {timeout_s:g} s and was stopped."
            )
        return QueryCancelledError("The query was cancelled.")
    if isinstance(error, duckdb.OutOfMemoryException):
        return ValidationException("The query ran out of memory; narrow the time range or add filters.")
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
    limit: int,
    layouts: LruCache[str, _Layout],
    fence: guard.Guard,
) -> tuple[_Layout, list[tuple[Any, ...]]]:
    cached = layouts.get(compiled.sql) if compiled.fixed_columns else None
    if cached is not None:
        try:
            rows = execute(cached.final_sql).fetchmany(limit)
            if _signature(cursor.description) == cached.signature:
                return cached, rows
        except (duckdb.BinderException, duckdb.CatalogException):
            pass  # the tables changed under the cached layout: plan again below
        layouts.drop(compiled.sql)
    layout = _layout(cursor, compiled.sql, bind, fence)
    rows = execute(layout.final_sql).fetchmany(limit)
    layout = _Layout(layout.names, layout.shapes, layout.final_sql, _signature(cursor.description))
    if compiled.fixed_columns:
        layouts.put(compiled.sql, layout)
    return layout, rows


def _watch(seconds: float, interrupt: Callable[[], None], watchdog: Watchdog | None) -> Callable[[], None]:
    """Call ``interrupt`` after ``seconds`` (by the watchdog, else a timer thread); returns the cancel."""
    if watchdog is not None:
        return functools.partial(watchdog.cancel, watchdog.watch(seconds, interrupt))
    timer = threading.Timer(seconds, interrupt)
    timer.daemon = True
    timer.start()
    return timer.cancel


def execute_query(
    cursor: Any,
    sql: str,
    timeout_s: float = 60.0,
    *,
    now_ns: int | None = None,
    max_result_rows: int = DEFAULT_MAX_RESULT_ROWS,
    layouts: LruCache[str, _Layout] | None = None,
    tiers: Tiers | None = None,
    watchdog: Watchdog | None = None,
    prepared: PreparedStatements | None = None,
    fence: guard.Guard | None = None,
) -> QueryResult:
    """Run one Timestream SQL query; raise ValidationException / ResourceNotFoundException / a timeout.

    ``cursor`` is a DuckDB connection (or cursor) on the store's database, used by this call only
    (the timeout interrupts it); ``now_ns`` fixes "now" (UTC nanoseconds) for ``now()`` /
    ``ago()``, by default the current time. With ``tiers`` (the store) a table whose rows the query
    bounds to a recent window is read from the memory tier alone when no magnetic file is that
    recent; if rows moved between tiers while the query ran, it runs again over both tiers. A
    server passes its ``watchdog`` to enforce the timeout; without one a timer thread does. With
    ``layouts`` the result column types of a query text are planned once and reused. With
    ``prepared`` (the statements ``cursor`` has prepared) a text is parsed once per connection.
    Every new translation passes ``fence`` (query/guard.py; one that remembers what it let through
    is kept by the server) before DuckDB sees it.
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
        return QueryResult(column_info=shown[0], rows=shown[1], elapsed_s=time.monotonic() - started)
    compiled = compile_query(sql)
    relations, full, generation = source.query_relations(compiled.tables, now_ns)

    remaining = timeout_s - (time.monotonic() - started)
    if remaining <= 0:
        raise QueryTimeoutError(f"The query exceeded the query timeout of {timeout_s:g} s and was stopped.")
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
        layout, rows = _run(cursor, compiled, bind, execute, max_result_rows + 1, layouts, fence)
        if relations != full and source.tier_generation() != generation:
            bind = functools.partial(bind, relations=full)  # rows moved meanwhile: read both tiers
            execute = functools.partial(execute, relations=full)
            layout, rows = _run(cursor, compiled, bind, execute, max_result_rows + 1, layouts, fence)
    except duckdb.Error as error:
        raise _map_duckdb_error(error, fired.is_set(), timeout_s) from None
    except RecursionError:
        raise ValidationException("the query is nested too deeply") from None
    finally:
        stop_watching()
    if len(rows) > max_result_rows:
        raise ValidationException(
            f"The query returns more than {max_result_rows:,} rows; add a LIMIT or narrow the filters."
        )
    return QueryResult(
        column_info=[results.column_info(n, s) for n, s in zip(layout.names, layout.shapes, strict=True)],
        rows=results.to_wire(rows, layout.shapes),
        duckdb_sql=bind(compiled.sql),
        elapsed_s=time.monotonic() - started,
        stats={"rows": len(rows)},
    )
