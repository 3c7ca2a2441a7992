"""DuckDB + Parquet persistence: catalogue, WriteRecords semantics, the query view, durability.

One DuckDB file `<data-dir>/store.duckdb` holds the metadata, the memory tier and the views; the
magnetic tier is Parquet files (see tiers.py). All changes run under one lock (writes are
serialised); readers get their own cursor and see committed data.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import duckdb
import msgspec

from timestream_local import models
from timestream_local.catalog import (
    INTERNAL_SCHEMA,
    LAYOUT,
    VERSION_COLUMN,
    VERSION_KEY,
    DatabaseInfo,
    TableInfo,
    database_arn,
    literal,
    quote,
    table_arn,
)
from timestream_local.domain import fastpath, resources, table_rules
from timestream_local.domain.records import RecordParser
from timestream_local.domain.spans import TimeSpans
from timestream_local.exceptions import (
    ConflictException,
    InternalServerException,
    ResourceNotFoundException,
    ValidationException,
)
from timestream_local.models import ParsedRecord, RecordError, Rejection, Retention, WriteRequest
from timestream_local.storage import lockdown
from timestream_local.storage.columns import Columns
from timestream_local.storage.writelog import (
    LogEntry,
    PendingBatch,
    PendingWrites,
    Position,
    WriteLog,
    WriteLogError,
    describe_os_error,
)

if TYPE_CHECKING:  # the query engine (sqlglot) is loaded only when a query arrives
    from timestream_local.query.translate import TableRef

log = logging.getLogger("timestream_local.storage")

# Wake the flusher early once this many rows are pending. Each flush costs a few milliseconds of
# DuckDB statement overhead whatever its size, so at streaming rates fewer, larger flushes are cheaper.
FLUSH_ROWS = 20_000
SeriesKey = tuple[tuple[tuple[str, str], ...], str]
# The times of a series that may hold stored rows (spans.py): records outside them skip the look-up.
RecordKey = tuple[tuple[tuple[str, str], ...], str, int]


@dataclass(slots=True)
class MagneticFile:
    table_id: int
    path: str  # relative to the data dir
    day: str
    min_time: int
    max_time: int
    rows: int
    columns: list[str]


@dataclass(slots=True)
class ExistingRow:
    """A stored row that a new record with the same key would overwrite."""

    version: int
    values: dict[str, Any]
    location: tuple[str, Any]  # ("mem", rowid) or ("file", (path, file_row_number)) or ("batch", None)


@dataclass
class WriteOutcome:
    memory: int = 0
    magnetic: int = 0

    @property
    def total(self) -> int:
        return self.memory + self.magnetic


def _same_value(values: list[Any]) -> bool:
    """True when every value is the same string or integer (floats are left alone: 0.0 == -0.0)."""
    first = values[0]
    if type(first) not in (str, int) or values[-1] != first:  # a varying column often shows at its end
        return False
    return values.count(first) == len(values) and len(set(map(type, values))) == 1


def _is_environmental(error: BaseException) -> bool:
    """Whether a failed commit is the machine's doing (disk, memory, a dead database), not the rows':
    then the rows wait for the next try instead of being set aside."""
    environmental = (
        OSError,
        MemoryError,
        duckdb.IOException,
        duckdb.OutOfMemoryException,
        duckdb.TransactionException,  # COMMIT itself failed (e.g. the database's WAL could not be written)
        duckdb.InterruptException,
        duckdb.FatalException,
        duckdb.PermissionException,
    )
    return isinstance(error, environmental) or "No space left on device" in str(error)


def describe_failure(error: BaseException) -> str:
    """One line naming the cause, e.g. 'the disk holding the database is full (ENOSPC: ...)'."""
    if isinstance(error, OSError) and error.errno is not None:
        return describe_os_error(error, "the data directory")
    first_line = (str(error).strip().splitlines() or [""])[0]
    if "No space left on device" in first_line:
        return f"the disk holding the database is full (ENOSPC): {first_line}"
    return f"{type(error).__name__}: {first_line}"


class Store:
    """The whole persistent state of one timestream_local instance."""

    def __init__(
        self,
        data_dir: Path,
        region: str = "us-east-1",
        clock_ns: Callable[[], int] = time.time_ns,
        flush_interval: float = 0.25,
        sync_writes: bool = False,
        streaming_writes: bool = True,
        engine_memory: int = lockdown.split_memory(lockdown.parse_size(lockdown.DEFAULT_MEMORY_LIMIT))[0],
    ) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir.resolve()
        self.magnetic_dir = self.data_dir / "magnetic"
        self.region = region
        self.clock_ns = clock_ns
        # False sends every WriteRecords call through the full rules (the tests compare both paths).
        self.streaming_writes = streaming_writes
        # Lock order: _lock (catalogue, series maxima, pending rows, log) before _db_lock (the DuckDB
        # connection). The flusher holds only _db_lock while it inserts, so writers keep answering.
        self._lock = threading.RLock()
        self._db_lock = threading.RLock()
        self._known_names: set[str] = set()
        # Why writes are refused: _failure until a restart (the database is unusable), _stalled until
        # a commit succeeds again (e.g. its disk was full); _log_trouble only names a failing write log.
        self._failure: str | None = None
        self._stalled: str | None = None
        self._log_trouble: str | None = None
        self._con = lockdown.open_database(self.data_dir, engine_memory)
        self._databases: dict[str, DatabaseInfo] = {}
        self._tables: dict[tuple[str, str], TableInfo] = {}
        self._files: dict[int, list[MagneticFile]] = {}
        self._series: dict[int, dict[SeriesKey, TimeSpans]] = {}
        self._tier_generation = 0  # bumped whenever a table's views change (rows moved between tiers)
        self._closed = False
        self._bootstrap()
        self._pending = PendingWrites()
        self._carry: PendingBatch | None = None  # taken rows a failed commit left (under _db_lock)
        self._log = WriteLog(self.data_dir / "wal", sync=sync_writes)
        try:
            self._replay_log()
        except BaseException:
            self._log.close()
            self._con.close()
            raise
        self._flush_interval = flush_interval
        self._flush_wakeup = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, name="tsl-flusher", daemon=True)
        self._flusher.start()

    # ------------------------------------------------------------------------------------ plumbing
    def _sql(self, sql: str, params: Iterable[Any] | None = None) -> list[tuple]:
        result = self._con.execute(sql, list(params) if params is not None else None)
        return result.fetchall()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new DuckDB cursor on the store for one reader (per request/connection)."""
        with self._db_lock:
            return self._con.cursor()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Both locks, in order: nothing else touches the catalogue or the DuckDB connection."""
        with self._lock, self._db_lock:
            yield

    def _bootstrap(self) -> None:
        schema = quote(INTERNAL_SCHEMA)
        with self.exclusive():
            self._sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            self._sql(f"CREATE TABLE IF NOT EXISTS {schema}.meta_databases (name VARCHAR, doc VARCHAR)")
            self._sql(
                f"CREATE TABLE IF NOT EXISTS {schema}.meta_tables "
                "(id BIGINT, database VARCHAR, name VARCHAR, doc VARCHAR)"
            )
            self._sql(
                f"CREATE TABLE IF NOT EXISTS {schema}.meta_files (table_id BIGINT, path VARCHAR, day VARCHAR, "
                "min_time BIGINT, max_time BIGINT, row_count BIGINT, columns VARCHAR)"
            )
            self._sql(f"CREATE TABLE IF NOT EXISTS {schema}.meta_trash (path VARCHAR)")
            self._sql(f"CREATE TABLE IF NOT EXISTS {schema}.meta_state (key VARCHAR, value BIGINT)")
            for name, doc in self._sql(f"SELECT name, doc FROM {schema}.meta_databases"):
                self._databases[name] = DatabaseInfo.from_doc(name, doc)
            for table_id, database, name, doc in self._sql(
                f"SELECT id, database, name, doc FROM {schema}.meta_tables"
            ):
                self._tables[(database, name)] = TableInfo.from_doc(table_id, database, name, doc)
            for row in self._sql(
                f"SELECT table_id, path, day, min_time, max_time, row_count, columns FROM {schema}.meta_files "
                "ORDER BY table_id, min_time"
            ):
                self._files.setdefault(row[0], []).append(MagneticFile(*row[:6], json.loads(row[6])))
            self._cleanup_files()
            if any(table.layout < LAYOUT for table in self._tables.values()):
                from timestream_local.storage import upgrade  # noqa: PLC0415 - once, for an older data directory

                upgrade.to_current_layout(self)
            for table in self._tables.values():
                self._ensure_view(table)

    def _state(self, key: str, default: int = 0) -> int:
        rows = self._sql(f"SELECT value FROM {quote(INTERNAL_SCHEMA)}.meta_state WHERE key = ?", [key])
        return rows[0][0] if rows else default

    def _set_state(self, key: str, value: int) -> None:
        schema = quote(INTERNAL_SCHEMA)
        updated = self._sql(f"UPDATE {schema}.meta_state SET value = ? WHERE key = ?", [value, key])
        if not updated or not updated[0][0]:
            self._sql(f"INSERT INTO {schema}.meta_state VALUES (?, ?)", [key, value])

    def _cleanup_files(self) -> None:
        """Delete Parquet files no table references (a crash between writing and committing) and trash."""
        schema = quote(INTERNAL_SCHEMA)
        for (path,) in self._sql(f"SELECT path FROM {schema}.meta_trash"):
            (self.data_dir / path).unlink(missing_ok=True)
        self._sql(f"DELETE FROM {schema}.meta_trash")
        known = {f.path for files in self._files.values() for f in files}
        if self.magnetic_dir.exists():
            for file in self.magnetic_dir.rglob("*.parquet*"):
                if str(file.relative_to(self.data_dir)) not in known:
                    log.info("removing unreferenced magnetic file %s", file)
                    file.unlink(missing_ok=True)
        for table_id, files in list(self._files.items()):
            missing = [f for f in files if not (self.data_dir / f.path).exists()]
            for file in missing:
                log.warning("magnetic file %s is missing; its rows are lost", file.path)
                files.remove(file)
                self._sql(f"DELETE FROM {schema}.meta_files WHERE path = ?", [file.path])
            if not files:
                self._files.pop(table_id, None)

    # ------------------------------------------------------------------------------------ views
    def _ensure_view(self, table: TableInfo) -> None:
        """(Re)create the memory-tier table, the view unioning both tiers and the memory-only view."""
        physical = table.physical_columns()
        defs = ", ".join(f"{quote(name)} {kind}" for name, kind in physical.items())
        self._sql(f"CREATE TABLE IF NOT EXISTS {table.mem_table} ({defs})")
        existing = {row[0] for row in self._sql(f"DESCRIBE {table.mem_table}")}
        for name, kind in physical.items():
            if name not in existing:
                self._sql(f"ALTER TABLE {table.mem_table} ADD COLUMN {quote(name)} {kind}")
        self._sql(f"CREATE OR REPLACE VIEW {table.view} AS {self._union_sql(table, visible=True)}")
        recent = self._select_list(table, physical, visible=True)
        self._sql(f"CREATE OR REPLACE VIEW {table.recent_view} AS SELECT {recent} FROM {table.mem_table}")
        self._tier_generation += 1

    @staticmethod
    def _select_list(table: TableInfo, present: Iterable[str], visible: bool) -> str:
        """The tiers' columns as a select list: NULL for those missing from ``present`` (an older
        file), and with the user's names when ``visible`` (then without the version column)."""
        kinds = table.physical_columns()
        names = table.column_names()
        pairs = [(names[c], c) for c in table.view_columns()] if visible else [(c, c) for c in kinds]
        present = set(present)
        parts = []
        for physical, shown in pairs:
            value = quote(physical) if physical in present else f"CAST(NULL AS {kinds[physical]})"
            parts.append(value if value == quote(shown) else f"{value} AS {quote(shown)}")
        return ", ".join(parts)

    def _union_sql(self, table: TableInfo, visible: bool) -> str:
        """The memory tier and the magnetic tier's Parquet files as one relation: the user's columns
        (``visible``) or the tiers' own (with the version, for look-ups)."""
        sql = f"SELECT {self._select_list(table, table.physical_columns(), visible)} FROM {table.mem_table}"
        files = self._files.get(table.id, [])
        if files:
            present = set().union(*(set(f.columns) for f in files))
            paths = ", ".join(literal(str(self.data_dir / f.path)) for f in files)
            sql += (
                f" UNION ALL SELECT {self._select_list(table, present, visible)} "
                f"FROM read_parquet([{paths}], union_by_name = true)"
            )
        return sql

    # ------------------------------------------------------------------------------------ queries
    def query_relations(self, tables: Sequence[TableRef], now_ns: int) -> tuple[list[str], list[str], int]:
        """What each table a query reads should be read from, the view over both tiers of each, and
        the tier generation of that choice; ResourceNotFoundException names a missing one.

        A table whose rows the query bounds to ``time >= now - since_ns`` (or a fixed ``after_ns``) is
        read from the memory tier alone when every magnetic file ends before that bound (files know
        their newest time), so queries over recent data do not open the history's Parquet files.
        Taken under the store lock, which tier moves hold from start to commit; the engine re-runs
        the query over both tiers if the generation changed before it finished.
        """
        relations, full = [], []
        with self._lock:
            for ref in tables:
                where = f" at line {ref.line}:{ref.col}" if ref.line else ""
                table = self._find_table(ref.database, ref.table, where)
                full.append(table.view)
                bounds = [b for b in (None if ref.since_ns is None else now_ns - ref.since_ns, ref.after_ns)
                          if b is not None]  # fmt: skip
                files = self._files.get(table.id)
                recent = bool(bounds) and (not files or max(f.max_time for f in files) < max(bounds))
                relations.append(table.recent_view if recent else table.view)
            return relations, full, self._tier_generation

    def tier_generation(self) -> int:
        return self._tier_generation

    def _find_database(self, name: str, where: str = "") -> str:
        """A database as a query names it: exactly, else the one whose name differs only in case."""
        if name in self._databases:
            return name
        for existing in self._databases:
            if existing.lower() == name.lower():
                return existing
        raise ResourceNotFoundException(f"The database {name} does not exist{where}.")

    def _find_table(self, database: str, name: str, where: str = "") -> TableInfo:
        """A table as a query names it (SQL names are case-insensitive; the store refuses names that
        differ only in case, so at most one matches)."""
        database = self._find_database(database, where)
        table = self._tables.get((database, name))
        if table is not None:
            return table
        for (db, existing), table in self._tables.items():
            if db == database and existing.lower() == name.lower():
                return table
        raise ResourceNotFoundException(f"The table {name} does not exist in database {database}{where}.")

    def database_names(self) -> list[str]:
        """Every database, sorted (SHOW DATABASES)."""
        with self._lock:
            return sorted(self._databases)

    def table_names(self, database: str) -> list[str]:
        """The tables of a database, sorted (SHOW TABLES FROM <database>)."""
        with self._lock:
            found = self._find_database(database)
            return sorted(name for db, name in self._tables if db == found)

    # ------------------------------------------------------------------------------ control plane
    def create_database(self, name: str, kms_key_id: str | None = None) -> DatabaseInfo:
        resources.validate_resource_name(name, "DatabaseName", creating=True)
        with self.exclusive():
            self._flush(holding_lock=True)
            if any(existing.lower() == name.lower() for existing in self._databases):
                raise ConflictException(f"The database {name} already exists.")
            now = time.time()
            info = DatabaseInfo(
                name=name,
                arn=database_arn(self.region, name),
                kms_key_id=kms_key_id
                or f"arn:aws:kms:{self.region}:000000000000:key/00000000-0000-0000-0000-000000000000",
                created=now,
                updated=now,
            )
            self._sql(
                f"INSERT INTO {quote(INTERNAL_SCHEMA)}.meta_databases VALUES (?, ?)", [name, info.to_doc()]
            )
            self._databases[name] = info
            return info

    def _database(self, name: str) -> DatabaseInfo:
        info = self._databases.get(name)
        if info is None:
            raise ResourceNotFoundException(f"The database {name} does not exist.")
        return info

    def _table(self, database: str, name: str) -> TableInfo:
        self._database(database)
        table = self._tables.get((database, name))
        if table is None:
            raise ResourceNotFoundException(f"The table {name} does not exist.")
        return table

    def table_count(self, database: str) -> int:
        return sum(1 for db, _ in self._tables if db == database)

    def describe_database(self, name: str) -> DatabaseInfo:
        with self.exclusive():
            return self._database(name)

    def list_databases(self) -> list[DatabaseInfo]:
        with self.exclusive():
            return [self._databases[name] for name in sorted(self._databases)]

    def update_database(self, name: str, kms_key_id: str) -> DatabaseInfo:
        with self.exclusive():
            info = self._database(name)
            info.kms_key_id = kms_key_id
            info.updated = time.time()
            schema = quote(INTERNAL_SCHEMA)
            self._sql("BEGIN")
            self._sql(f"DELETE FROM {schema}.meta_databases WHERE name = ?", [name])
            self._sql(f"INSERT INTO {schema}.meta_databases VALUES (?, ?)", [name, info.to_doc()])
            self._sql("COMMIT")
            return info

    def delete_database(self, name: str) -> None:
        with self.exclusive():
            self._database(name)
            if self.table_count(name):
                raise ValidationException(
                    f"Cannot delete the database {name} because it still has tables; delete them first."
                )
            self._sql(f"DELETE FROM {quote(INTERNAL_SCHEMA)}.meta_databases WHERE name = ?", [name])
            del self._databases[name]

    def create_table(
        self,
        database: str,
        name: str,
        retention: Retention | None = None,
        magnetic_writes: dict[str, Any] | None = None,
        schema: dict[str, Any] | None = None,
    ) -> TableInfo:
        resources.validate_resource_name(name, "TableName", creating=True)
        with self.exclusive():
            self._flush(holding_lock=True)
            self._database(database)
            if any(db == database and existing.lower() == name.lower() for db, existing in self._tables):
                raise ConflictException(f"The table {name} already exists.")
            now = time.time()
            table_id = self._state("next_table_id", 1)
            table = TableInfo(
                id=table_id,
                database=database,
                name=name,
                arn=table_arn(self.region, database, name),
                created=now,
                updated=now,
                retention=retention or Retention(),
                magnetic_writes=magnetic_writes or {"EnableMagneticStoreWrites": False},
                schema=schema or models.DEFAULT_SCHEMA,
            )
            self._sql("BEGIN")
            try:
                self._set_state("next_table_id", table_id + 1)
                self._sql(f"DROP TABLE IF EXISTS {table.mem_table}")
                self._ensure_view(table)
                self._sql(
                    f"INSERT INTO {quote(INTERNAL_SCHEMA)}.meta_tables VALUES (?, ?, ?, ?)",
                    [table_id, database, name, table.to_doc()],
                )
                self._sql("COMMIT")
            except Exception:
                self._sql("ROLLBACK")
                raise
            self._tables[(database, name)] = table
            self._series[table.id] = {}
            return table

    def describe_table(self, database: str, name: str) -> TableInfo:
        with self.exclusive():
            return self._table(database, name)

    def list_tables(self, database: str | None) -> list[TableInfo]:
        with self.exclusive():
            if database is not None:
                self._database(database)
            return [
                self._tables[key] for key in sorted(self._tables) if database is None or key[0] == database
            ]

    def update_table(
        self,
        database: str,
        name: str,
        retention: Retention | None,
        magnetic_writes: dict[str, Any] | None,
        schema: dict[str, Any] | None,
    ) -> TableInfo:
        with self.exclusive():
            table = self._table(database, name)
            if retention is not None:
                table.retention = retention
            if magnetic_writes is not None:
                table.magnetic_writes = magnetic_writes
            if schema is not None:
                table.schema = schema
            table.updated = time.time()
            self._sql("BEGIN")
            self._save_table(table)
            self._sql("COMMIT")
            return table

    def _save_table(self, table: TableInfo) -> None:
        schema = quote(INTERNAL_SCHEMA)
        self._sql(f"DELETE FROM {schema}.meta_tables WHERE id = ?", [table.id])
        self._sql(
            f"INSERT INTO {schema}.meta_tables VALUES (?, ?, ?, ?)",
            [table.id, table.database, table.name, table.to_doc()],
        )

    def delete_table(self, database: str, name: str) -> None:
        with self.exclusive():
            self._flush(holding_lock=True)
            table = self._table(database, name)
            schema = quote(INTERNAL_SCHEMA)
            files = self._files.get(table.id, [])
            self._sql("BEGIN")
            try:
                self._sql(f"DROP VIEW IF EXISTS {table.view}")
                self._sql(f"DROP VIEW IF EXISTS {table.recent_view}")
                self._sql(f"DROP TABLE IF EXISTS {table.mem_table}")
                self._sql(f"DELETE FROM {schema}.meta_tables WHERE id = ?", [table.id])
                self._sql(f"DELETE FROM {schema}.meta_files WHERE table_id = ?", [table.id])
                for file in files:
                    self._sql(f"INSERT INTO {schema}.meta_trash VALUES (?)", [file.path])
                self._sql("COMMIT")
            except Exception:
                self._sql("ROLLBACK")
                raise
            del self._tables[(database, name)]
            self._files.pop(table.id, None)
            self._series.pop(table.id, None)

    # ---------------------------------------------------------------------------------- writes
    def write_records(self, request: WriteRequest) -> tuple[WriteOutcome, list[Rejection]]:
        """WriteRecords: store every acceptable record; return counts and the rejected ones."""
        with self._lock:
            self._check_healthy()
            self._table(request.database, request.table)  # unknown table fails the whole call first
        rejections: list[Rejection] = []
        parsed: list[ParsedRecord] = []
        parser = RecordParser(request.common, self._known_names)
        for index, record in enumerate(request.records):
            try:
                parsed.append(parser.parse(index, record))
            except RecordError as error:
                rejections.append(Rejection(index, str(error)))
        outcome = WriteOutcome()
        with self._lock:
            self._check_healthy()
            table = self._table(request.database, request.table)
            now = self.clock_ns()
            if not rejections and self._append_fast(table, request, parsed, now):
                outcome.memory = len(parsed)
                return outcome, rejections
            accepted = self._check_window(table, parsed, now, rejections)
            accepted, schema_change = self._check_schema(table, accepted, rejections)
            inserts, replaced, noops = self._resolve_versions(table, accepted, rejections)
            if inserts or schema_change:
                self._apply(table, request, inserts, replaced, schema_change)
            for record in (*inserts, *noops):
                if record.magnetic:
                    outcome.magnetic += 1
                else:
                    outcome.memory += 1
        rejections.sort(key=lambda r: r.index)
        return outcome, rejections

    def write_streaming(self, body: bytes) -> int | None:
        """WriteRecords' fast path (fastpath.py): the number of records appended to the memory store,
        or None when the request is not plain streaming data; then nothing changed and the caller
        runs the full path (write_records) on the same body."""
        if not self.streaming_writes:
            return None
        request = fastpath.decode(body)
        if request is None:
            return None
        batch = fastpath.parse(request, self._known_names)
        if batch is None:
            return None
        with self._lock:
            if self._failure or self._stalled:
                return None  # the full path answers with the reason
            table = self._tables.get((batch.database, batch.table))
            stored = None if table is None else self._streaming_spans(table, batch)
            if table is None or stored is None:
                return None
            seq, position = self._append_log(table.id, None, body)
            self._pending.add(table.id, batch.rows, seq, position)
            if self._pending.size >= FLUSH_ROWS:
                self._flush_wakeup.set()
            series = self._series_for(table)
            for spans, series_key, time_ns in zip(stored, batch.series, batch.times, strict=True):
                if spans is not None:
                    spans.add(time_ns, time_ns)
                else:  # a new series (it may occur again further on in the batch)
                    self._stored_span(series, series_key).add(time_ns, time_ns)
            return batch.rows.count

    def _streaming_spans(
        self, table: TableInfo, batch: fastpath.StreamingBatch
    ) -> list[TimeSpans | None] | None:
        """When every record of the batch is a plain append (inside the memory-store window, of the
        table's columns and measure types, new for its series: no stored row can share its key and
        no other record of the batch has it), each record's series spans (None for a new series,
        looked up once for the check and the update); otherwise None."""
        now = self.clock_ns()
        memory_oldest = now - table.retention.memory_hours * models.NS_PER_HOUR
        newest = now + models.FUTURE_TOLERANCE_NS
        if not memory_oldest <= min(batch.times) <= max(batch.times) <= newest:
            return None
        measure_types = table.measure_types
        if not batch.dimensions.issubset(table.dimensions) or any(
            measure_types.get(name) != kind for name, kind in batch.measures
        ):
            return None
        stored = list(map(self._series_for(table).get, batch.series))
        # Two records with one key go to the version rules. Records of distinct stored series have
        # distinct TimeSpans objects, so comparing identities spares hashing every key again; only
        # when a series (or, through None, a new one) repeats are the keys themselves compared.
        if len(set(map(id, stored))) != len(stored) and len(
            set(zip(batch.series, batch.times, strict=True))
        ) != len(stored):
            return None
        for spans, time_ns in zip(stored, batch.times, strict=True):
            if spans is not None and spans.covers(time_ns):
                return None
        return stored

    def _append_fast(
        self, table: TableInfo, request: WriteRequest, records: list[ParsedRecord], now: int
    ) -> bool:
        """The streaming case in one pass: every record is new (outside its series' stored time span),
        inside the memory-store window, single-measure and of known columns. Then it is appended to the
        log; otherwise nothing happens and the caller applies the full rules."""
        oldest = now - table.retention.memory_hours * models.NS_PER_HOUR
        newest = now + models.FUTURE_TOLERANCE_NS
        measure_types = table.measure_types
        known = set(table.dimensions)
        series = self._series_for(table)
        seen: set[tuple] = set()
        for record in records:
            time_ns = record.time_ns
            if not oldest <= time_ns <= newest or measure_types.get(record.measure_name) != record.kind:
                return False
            dims = record.dims
            for name, _value in dims:
                if name not in known:
                    return False
            series_key = (dims, record.measure_name)
            stored = series.get(series_key)
            if stored is not None and stored.covers(time_ns):
                return False
            key = (series_key, time_ns)
            if key in seen or record.kind == "MULTI":
                return False
            seen.add(key)
        self._apply_buffered(table, request, records)
        for record in records:
            self._stored_span(series, (record.dims, record.measure_name)).add(record.time_ns, record.time_ns)
        return True

    def _check_window(
        self, table: TableInfo, records: list[ParsedRecord], now: int, rejections: list[Rejection]
    ) -> list[ParsedRecord]:
        accepted = []
        memory_oldest = now - table.retention.memory_hours * models.NS_PER_HOUR
        newest = now + models.FUTURE_TOLERANCE_NS
        for record in records:
            if memory_oldest <= record.time_ns <= newest:
                accepted.append(record)
                continue
            reason = table_rules.ingestion_window_reason(
                record.time_ns, now, table.retention, table.magnetic_writes_enabled
            )
            if reason is None:
                record.magnetic = True
                accepted.append(record)
            else:
                rejections.append(Rejection(record.index, reason))
        return accepted

    @staticmethod
    def _fits_schema(table: TableInfo, records: list[ParsedRecord]) -> bool:
        """The common case, checked fast: every record uses only known columns with their types."""
        known = set(table.dimensions)
        measure_types = table.measure_types
        attributes = table.attributes
        for record in records:
            if measure_types.get(record.measure_name) != record.kind:
                return False
            for name, _value in record.dims:
                if name not in known:
                    return False
            if record.kind == "MULTI" and any(attributes.get(n) != t for n, t in record.value_types.items()):
                return False
        return True

    def _check_schema(
        self, table: TableInfo, records: list[ParsedRecord], rejections: list[Rejection]
    ) -> tuple[list[ParsedRecord], dict[str, Any] | None]:
        """Reject records that conflict with the table's columns; collect new columns."""
        if self._fits_schema(table, records):
            return records, None
        check = table_rules.SchemaCheck(table.dimensions, table.attributes, table.measure_types)
        accepted = []
        for record in records:
            reason = check.problem(record)
            if reason:
                rejections.append(Rejection(record.index, reason))
            else:
                check.accept(record)
                accepted.append(record)
        return accepted, check.change()

    def _series_for(self, table: TableInfo) -> dict[SeriesKey, TimeSpans]:
        """The oldest and newest time stored per series (dimensions + measure name), loaded on first use."""
        series = self._series.get(table.id)
        if series is not None:
            return series
        series = {}
        dims = table.dimensions
        select = ", ".join(quote(table.physical_name(d)) for d in dims)
        select = f"{select}, " if select else ""
        query = (
            f"SELECT {select}measure_name, epoch_ns(min(time)), epoch_ns(max(time)) FROM ({self._physical_sql(table)}) "
            f"GROUP BY ALL"
        )
        with self._db_lock:
            rows = self._sql(query)
        for row in rows:
            key_dims = tuple(sorted((dims[i], row[i]) for i in range(len(dims)) if row[i] is not None))
            series[(key_dims, row[len(dims)])] = TimeSpans(row[len(dims) + 1], row[len(dims) + 2])
        self._series[table.id] = series
        return series

    @staticmethod
    def _stored_span(series: dict[SeriesKey, TimeSpans], key: SeriesKey) -> TimeSpans:
        """The series' spans, created when missing (not setdefault: that builds a TimeSpans per call)."""
        spans = series.get(key)
        if spans is None:
            spans = series[key] = TimeSpans()
        return spans

    def _physical_sql(self, table: TableInfo) -> str:
        """Both tiers with the version column (for look-ups), as one relation of the tiers' columns."""
        return self._union_sql(table, visible=False)

    def _resolve_versions(
        self, table: TableInfo, records: list[ParsedRecord], rejections: list[Rejection]
    ) -> tuple[list[ParsedRecord], list[ExistingRow], list[ParsedRecord]]:
        """Apply Timestream's version rules; returns (rows to insert, stored rows to drop, no-ops)."""
        series = self._series_for(table)
        batch: dict[RecordKey, ParsedRecord] = {}
        noops: list[ParsedRecord] = []
        slow: list[ParsedRecord] = []
        for record in records:
            key = record.key
            if key in batch:
                slow.append(record)
                continue
            spans = series.get((record.dims, record.measure_name))
            if spans is None or not spans.covers(record.time_ns):
                batch[key] = record
            else:
                slow.append(record)
        replaced: list[ExistingRow] = []
        if slow:
            stored = self._lookup(table, [r for r in slow if r.key not in batch])
            for record in slow:
                key = record.key
                current = batch.get(key)
                existing = stored.get(key) if current is None else None
                if current is None and existing is None:
                    batch[key] = record
                    continue
                version = current.version if current is not None else existing.version
                values = current.values if current is not None else existing.values
                if record.version > version:
                    batch[key] = record
                    if existing is not None:
                        replaced.append(existing)
                        stored.pop(key)
                elif values == record.values:
                    noops.append(record)
                else:
                    rejections.append(
                        Rejection(
                            record.index,
                            "A record with the same dimensions, time and measure name already exists with a "
                            f"different measure value and version {version}; send a higher Version to update it.",
                            existing_version=version,
                        )
                    )
        return list(batch.values()), replaced, noops

    def _lookup(self, table: TableInfo, records: list[ParsedRecord]) -> dict[RecordKey, ExistingRow]:
        """Stored rows (both tiers) with the same keys as these records."""
        if not records:
            return {}
        with self._db_lock:
            self._flush(holding_lock=True)
            return self._lookup_locked(table, records)

    def _lookup_locked(self, table: TableInfo, records: list[ParsedRecord]) -> dict[RecordKey, ExistingRow]:
        wanted = {r.key for r in records}
        times = sorted({r.time_ns for r in records})
        measure_names = sorted({r.measure_name for r in records})
        dims = table.dimensions
        names = table.column_names()
        value_columns = table.value_columns()
        select_values = [
            f"epoch_ns({quote(names[c])})" if kind == "TIMESTAMP_NS" else quote(names[c])
            for c, kind in value_columns.items()
        ]
        found: dict[RecordKey, ExistingRow] = {}
        time_list = ", ".join(f"make_timestamp_ns({t})" for t in times)
        name_list = ", ".join(literal(n) for n in measure_names)
        where = (
            f"time BETWEEN make_timestamp_ns({times[0]}) AND make_timestamp_ns({times[-1]}) "
            f"AND time IN ({time_list}) AND measure_name IN ({name_list})"
        )
        sources: list[tuple[str, str | None, set[str]]] = [
            (table.mem_table, None, set(table.physical_columns()))
        ]
        for file in self._files.get(table.id, []):
            if file.max_time >= times[0] and file.min_time <= times[-1]:
                source = f"read_parquet({literal(str(self.data_dir / file.path))}, file_row_number = true)"
                sources.append((source, file.path, set(file.columns)))
        for source, path, present in sources:
            position = "rowid" if path is None else "file_row_number"

            def column(name: str, expr: str, present: set[str] = present) -> str:
                return expr if name in present else "NULL"

            select = [position]
            select += [column(names[d], quote(names[d])) for d in dims]
            select += ["measure_name", "epoch_ns(time)", quote(VERSION_COLUMN)]
            select += [column(names[c], e) for c, e in zip(value_columns, select_values, strict=True)]
            rows = self._sql(f"SELECT {', '.join(select)} FROM {source} WHERE {where}")
            for row in rows:
                offset = 1 + len(dims)
                key_dims = tuple(
                    sorted((dims[i], row[1 + i]) for i in range(len(dims)) if row[1 + i] is not None)
                )
                key = (key_dims, row[offset], row[offset + 1])
                if key not in wanted:
                    continue
                values = {
                    c: v for c, v in zip(value_columns, row[offset + 3 :], strict=True) if v is not None
                }
                location = ("mem", row[0]) if path is None else ("file", (path, row[0]))
                found[key] = ExistingRow(row[offset + 2], values, location)
        return found

    def _apply(
        self,
        table: TableInfo,
        request: WriteRequest,
        inserts: list[ParsedRecord],
        replaced: list[ExistingRow],
        schema_change: dict[str, Any] | None,
    ) -> None:
        if schema_change or replaced:
            with self._db_lock:
                self._flush(holding_lock=True)
                try:
                    self._apply_sync(table, inserts, replaced, schema_change)
                except duckdb.Error as error:
                    raise InternalServerException(
                        f"The records were not stored: {describe_failure(error)}. Nothing of this call was kept."
                    ) from error
        else:
            self._apply_buffered(table, request, inserts)
        series = self._series_for(table)
        for record in inserts:
            self._stored_span(series, (record.dims, record.measure_name)).add(record.time_ns, record.time_ns)

    def _apply_sync(
        self,
        table: TableInfo,
        inserts: list[ParsedRecord],
        replaced: list[ExistingRow],
        schema_change: dict[str, Any] | None,
    ) -> None:
        """Schema changes and overwrites: one DuckDB transaction, committed before the reply."""
        from timestream_local.storage import tiers  # noqa: PLC0415 - tiers imports this module

        file_rewrites: dict[str, list[int]] = {}
        mem_rowids = []
        for row in replaced:
            kind, where = row.location
            if kind == "mem":
                mem_rowids.append(where)
            else:
                file_rewrites.setdefault(where[0], []).append(where[1])
        self._sql("BEGIN")
        try:
            if schema_change:
                table.dimensions.extend(schema_change["dimensions"])
                table.attributes.update(schema_change["attributes"])
                table.measure_types.update(schema_change["measures"])
                table.updated = time.time()
                self._save_table(table)
                self._ensure_view(table)
            if mem_rowids:
                ids = ", ".join(str(int(r)) for r in mem_rowids)
                self._sql(f"DELETE FROM {table.mem_table} WHERE rowid IN ({ids})")
            for path, positions in file_rewrites.items():
                tiers.rewrite_without_rows(self, table, path, positions)
            if file_rewrites:
                self._ensure_view(table)
            self._insert_rows(table, Columns.from_records(inserts))
            self._sql("COMMIT")
        except Exception:
            self._rollback()
            if schema_change:  # reload the table's description as committed
                self._reload_table(table)
            raise

    def _reload_table(self, table: TableInfo) -> None:
        rows = self._sql(f"SELECT doc FROM {quote(INTERNAL_SCHEMA)}.meta_tables WHERE id = ?", [table.id])
        fresh = TableInfo.from_doc(table.id, table.database, table.name, rows[0][0])
        self._tables[(table.database, table.name)] = fresh

    def _insert_rows(self, table: TableInfo, rows: Columns) -> None:
        """Insert rows into the memory tier inside the current transaction.

        The rows go to DuckDB as one JSON document of columns (one array per column), which DuckDB
        parses and unnests in C++: a few microseconds per row, far less than per-row Python values.
        A column holding one string or integer in every row (the measure name, the version, often a
        dimension) goes as that one value, which halves the flusher's work for streaming data.
        """
        if not rows.count:
            return
        kinds = {**table.view_columns(), VERSION_KEY: "BIGINT"}
        physical = table.column_names()
        names = list(rows.data)
        document = []
        selects = []
        for number, name in enumerate(names, start=1):
            values = rows.data[name]
            kind = kinds[name]
            element = "BIGINT" if kind == "TIMESTAMP_NS" else kind
            if name != "time" and _same_value(values):  # time is unnested: it makes the rows
                document.append(values[:1])
                select = f"CAST(j[{number}] AS {element}[])[1]"
            else:
                document.append(values)
                select = f"unnest(CAST(j[{number}] AS {element}[]))"
            selects.append(f"make_timestamp_ns({select})" if kind == "TIMESTAMP_NS" else select)
        payload = msgspec.json.encode(document).decode()  # ~10x json.dumps (values are finite, valid UTF-8)
        self._sql(
            f"INSERT INTO {table.mem_table} ({', '.join(quote(physical[n]) for n in names)}) "
            f"SELECT {', '.join(selects)} FROM (SELECT json_transform(?, '[\"JSON\"]') AS j)",
            [payload],
        )

    # ------------------------------------------------------------------ buffered appends (durable log)
    def _apply_buffered(self, table: TableInfo, request: WriteRequest, inserts: list[ParsedRecord]) -> None:
        """Plain appends: log the request, answer, and let the flusher batch the rows into DuckDB."""
        indexes = None if len(inserts) == len(request.records) else [r.index for r in inserts]
        body = request.raw
        if body is None:
            body = json.dumps({"CommonAttributes": request.common, "Records": request.records}).encode()
        seq, position = self._append_log(table.id, indexes, body)
        self._pending.add(table.id, Columns.from_records(inserts), seq, position)
        if self._pending.size >= FLUSH_ROWS:
            self._flush_wakeup.set()

    def _append_log(self, table_id: int, indexes: list[int] | None, body: bytes) -> tuple[int, Position]:
        """Log an entry (under the store lock). When the log cannot take it, nothing of it stays there
        and the call fails naming the cause; the next append tries again by itself."""
        try:
            logged = self._log.append(table_id, indexes, body)
        except WriteLogError as error:
            if self._log_trouble is None:
                log.error("WriteRecords calls fail: %s; they work again once that is fixed", error)
            self._log_trouble = str(error)
            remedy = "the disk has room" if "is full" in str(error) else "that is fixed"
            raise InternalServerException(
                f"The records were not stored: {error}. Nothing of this call was kept; retry it (writes work "
                f"again by themselves once {remedy})."
            ) from error
        if self._log_trouble is not None:
            log.warning("the write log takes entries again (after: %s)", self._log_trouble)
            self._log_trouble = None
        return logged

    def _replay_log(self) -> None:
        """Apply the entries that the last run acknowledged but did not commit. An entry that cannot be
        parsed again (e.g. rules became stricter since) is set aside, not allowed to stop the start."""
        applied = self._state("log_applied_seq", 0)
        replayed = 0
        by_id = {t.id: t for t in self._tables.values()}
        for entry in self._log.read_after(applied):
            table = by_id.get(entry.table_id)
            if table is None:  # the table was deleted after the entry was logged
                self._pending.advance(entry.seq)
                continue
            try:
                rows = self._parse_entry(entry)
            except Exception as error:
                self._set_aside(table, entry, f"the logged request cannot be read again: {error}")
                self._pending.advance(entry.seq)
                continue
            self._pending.add(entry.table_id, rows, entry.seq, entry.position)
            replayed += rows.count
        if replayed:
            log.info("replaying %d acknowledged records from the write log", replayed)
        try:
            self._flush()
        except InternalServerException as error:
            if self._failure:
                raise
            log.error("%s", error.message)  # the flusher retries; the server starts meanwhile

    def _parse_entry(self, entry: LogEntry) -> Columns:
        request = json.loads(entry.body)
        records = request.get("Records") or []
        parser = RecordParser(request.get("CommonAttributes") or {}, self._known_names)
        indexes = range(len(records)) if entry.indexes is None else entry.indexes
        return Columns.from_records(parser.parse(i, records[i]) for i in indexes)

    def _set_aside(self, table: TableInfo | None, entry: LogEntry, reason: str) -> Path:
        """Write a log entry that cannot be applied to <data dir>/quarantine/<seq>.json (with the reason
        and the request as received), durably, before the applied sequence number passes it. Raises
        OSError when that file cannot be written (then the entry stays in the log)."""
        folder = self.data_dir / "quarantine"
        folder.mkdir(exist_ok=True)
        try:
            request: Any = json.loads(entry.body)
            key = "request"
        except ValueError:
            request, key = base64.b64encode(entry.body).decode(), "request_base64"
        document = {
            "seq": entry.seq,
            "database": None if table is None else table.database,
            "table": None if table is None else table.name,
            "reason": reason,
            "set_aside_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "accepted_record_indexes": entry.indexes,
            key: request,
        }
        target = folder / f"{entry.seq:020d}.json"
        partial = target.with_suffix(".json.partial")
        with partial.open("w", encoding="utf-8") as file:
            json.dump(document, file, indent=1)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        partial.replace(target)
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        name = "an unknown table" if table is None else f"{table.database}.{table.name}"
        log.error(
            "acknowledged write-log entry %d for %s cannot be applied (%s); it was set aside in %s. Its records "
            "are not in the table: fix the cause and write them again from that file.",
            entry.seq,
            name,
            reason,
            target,
        )
        return target

    def _check_healthy(self) -> None:
        if self._failure:
            raise InternalServerException(
                f"Writes are stopped after a storage failure ({self._failure}); restart the server "
                "(acknowledged writes are kept in the write log)."
            )
        if self._stalled:
            raise InternalServerException(
                f"Writes are paused: acknowledged writes cannot be committed to the database ({self._stalled}). "
                "They are kept in the write log and retried every second; writes resume by themselves once "
                "that is fixed."
            )

    def _flush(self, holding_lock: bool = False) -> None:
        """Commit every pending row to DuckDB; on return all acknowledged writes are visible to queries.

        Pending rows are taken and the DuckDB lock acquired while holding the store lock, so commits
        happen in log order; the insert itself runs without the store lock. Rows a failed commit left
        (`_carry`, kept under the DuckDB lock) go first. Raises InternalServerException naming the cause
        when the database cannot commit; the rows then stay pending (and in the log) for the next try.
        """
        if not holding_lock:
            self._lock.acquire()
        try:
            batch = self._pending.take()
            segments = self._log.rotate() if batch.last_seq is not None else []
            self._db_lock.acquire()
        finally:
            if not holding_lock:
                self._lock.release()
        try:
            if self._carry is not None:
                batch, self._carry = self._carry.then(batch), None
            if batch.last_seq is None:
                return
            if self._failure:
                self._carry = batch
                self._check_healthy()
            self._commit(batch)
            if self._stalled:
                log.warning(
                    "committing to the database works again (after: %s); writes resume", self._stalled
                )
                self._stalled = None
        finally:
            self._db_lock.release()
        for segment in segments:
            segment.unlink(missing_ok=True)

    def _commit(self, batch: PendingBatch) -> None:
        """One transaction for the whole batch; when DuckDB refuses the rows themselves, entry by entry."""
        by_id = {t.id: t for t in self._tables.values()}
        try:
            self._sql("BEGIN")
            for table_id, rows in batch.tables.items():
                table = by_id.get(table_id)
                if table is not None:
                    self._insert_rows(table, rows)
            self._set_state("log_applied_seq", batch.last_seq)
            self._sql("COMMIT")
        except Exception as error:
            self._rollback()
            # the database's memory limit may fit one entry at a time where the whole batch did not
            if _is_environmental(error) and not isinstance(error, duckdb.OutOfMemoryException):
                self._hold(batch, error)
            log.warning(
                "committing %d buffered entries failed (%s); applying them one at a time",
                len(batch.entries),
                describe_failure(error),
            )
            self._commit_each(batch, by_id)

    def _commit_each(self, batch: PendingBatch, by_id: dict[int, TableInfo]) -> None:
        """Each entry in its own transaction, in log order; an entry DuckDB refuses is set aside (see
        _set_aside) and the others are committed, so one bad entry stops neither the flusher, nor other
        tables, nor the next start."""
        for number, (seq, table_id, rows, position) in enumerate(batch.each()):
            table = by_id.get(table_id)
            try:
                self._sql("BEGIN")
                if table is not None:
                    self._insert_rows(table, rows)
                self._set_state("log_applied_seq", seq)
                self._sql("COMMIT")
                continue
            except Exception as error:
                self._rollback()
                if _is_environmental(error):
                    self._hold(batch.rest(number), error)
                reason = f"the database refused its rows: {describe_failure(error)}"
            try:
                self._set_aside(table, self._log.read_entry(position), reason)
                self._sql("BEGIN")
                self._set_state("log_applied_seq", seq)
                self._sql("COMMIT")
            except Exception as error:
                self._rollback()
                self._hold(batch.rest(number), error)
        if batch.last_seq is not None and (not batch.entries or batch.last_seq > batch.entries[-1][0]):
            try:
                self._sql("BEGIN")
                self._set_state("log_applied_seq", batch.last_seq)
                self._sql("COMMIT")
            except Exception as error:
                self._rollback()
                self._hold(PendingBatch(last_seq=batch.last_seq), error)

    def _hold(self, batch: PendingBatch, error: BaseException) -> NoReturn:
        """Keep rows a commit could not take for the next try (the log keeps them across restarts) and
        refuse writes meanwhile; raise InternalServerException naming the cause."""
        self._carry = batch
        reason = describe_failure(error)
        if isinstance(error, duckdb.FatalException) or "invalidated" in str(error):
            self._failure = reason
            log.error(
                "the database failed (%s); writes are stopped until a restart, which replays them", reason
            )
        elif self._stalled != reason:
            log.error(
                "committing acknowledged writes to the database failed: %s. They stay in the write log and are "
                "retried every second; writes are refused until then",
                reason,
            )
            self._stalled = reason
        raise InternalServerException(
            f"Acknowledged writes cannot be committed to the database ({reason}); they are kept in the write "
            "log and retried every second."
        ) from error

    def _rollback(self) -> None:
        """End the current transaction, if any (a failed COMMIT has ended it already)."""
        with contextlib.suppress(duckdb.Error):
            self._sql("ROLLBACK")

    def sync(self) -> None:
        """Make every acknowledged write visible to queries (called before each query)."""
        self._flush()

    def _flush_loop(self) -> None:
        delay = self._flush_interval
        while not self._closed:
            self._flush_wakeup.wait(delay)
            self._flush_wakeup.clear()
            if self._closed:
                return
            delay = self._flush_interval
            if self._failure:
                continue
            try:
                self._flush()
            except Exception:  # logged; the rows stay pending and writes answer with the reason
                delay = min(delay, 1.0)  # retried every second until the database commits again

    # ---------------------------------------------------------------------------------- tiers
    def tables(self) -> list[TableInfo]:
        with self.exclusive():
            return list(self._tables.values())

    def files(self, table_id: int) -> list[MagneticFile]:
        return self._files.setdefault(table_id, [])

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        return self._con

    def sql(self, sql: str, params: Iterable[Any] | None = None) -> list[tuple]:
        return self._sql(sql, params)

    def ensure_view(self, table: TableInfo) -> None:
        self._ensure_view(table)

    def forget_series(self, table_id: int) -> None:
        """Drop cached series maxima (after rows were deleted) so they are recomputed on next write."""
        self._series.pop(table_id, None)

    # ---------------------------------------------------------------------------------- shutdown
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._flush_wakeup.set()
        self._flusher.join(timeout=10)
        with self.exclusive():
            try:
                if not self._failure:
                    try:
                        self._flush(holding_lock=True)
                    except InternalServerException as error:
                        log.warning("%s They are replayed at the next start.", error.message)
                with contextlib.suppress(duckdb.Error):
                    self._sql("CHECKPOINT")
            finally:
                self._log.close()
                self._con.close()
