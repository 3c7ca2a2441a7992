"""WriteRecords: the records of a request checked against the table and stored.

Three ways, cheapest first, each taking only what it can answer exactly as the full rules would:

* ``write_streaming``: the raw body of plain streaming data (fastpath.py decodes and checks it in one
  pass), appended to the write log as it came;
* ``write_records`` on records that are all new appends to known columns inside the memory-store
  window (``_append_fast``): logged, answered, committed later by the flusher;
* the full rules: the ingestion window (table_rules.py), the table's columns (SchemaCheck; new ones
  extend the schema), and version resolution against stored rows (versions.py). Plain appends still
  go through the write log; schema changes and overwrites are committed in one DuckDB transaction
  before the reply.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb

from timestream_local.catalog import TableInfo
from timestream_local.domain import fastpath
from timestream_local.domain.catalogue import Catalogue
from timestream_local.domain.records import RecordParser
from timestream_local.domain.spans import TimeSpans
from timestream_local.domain.table_rules import (
    SchemaCheck,
    ingestion_window_reason,
    missing_partition_key_reason,
)
from timestream_local.domain.versions import ExistingRow, Versions, stored_span
from timestream_local.exceptions import InternalServerException
from timestream_local.models import (
    FUTURE_TOLERANCE_NS,
    NS_PER_HOUR,
    ParsedRecord,
    RecordError,
    Rejection,
    WriteRequest,
)
from timestream_local.storage.columns import Columns
from timestream_local.storage.database import Database, describe_failure
from timestream_local.storage.flusher import Flusher
from timestream_local.storage.magnetic import MagneticTier
from timestream_local.storage.memory import MemoryTier
from timestream_local.storage.views import Views
from timestream_local.storage.writelog import LogEntry


@dataclass
class WriteOutcome:
    """How many records went to each store (WriteRecords' RecordsIngested)."""

    memory: int = 0
    magnetic: int = 0

    @property
    def total(self) -> int:
        return self.memory + self.magnetic


class Writer:
    """Applies WriteRecords to the store (the full rules, and the streaming fast path)."""

    def __init__(
        self,
        database: Database,
        catalogue: Catalogue,
        versions: Versions,
        flusher: Flusher,
        memory: MemoryTier,
        magnetic: MagneticTier,
        views: Views,
        clock_ns: Callable[[], int],
        streaming_writes: bool = True,
    ) -> None:
        self._db = database
        self._catalogue = catalogue
        self._versions = versions
        self._flusher = flusher
        self._memory = memory
        self._magnetic = magnetic
        self._views = views
        self.clock_ns = clock_ns
        # False sends every WriteRecords call through the full rules (the tests compare both paths).
        self.streaming_writes = streaming_writes
        # Dimension and measure names found valid, shared by every call (RecordParser, fastpath).
        self._known_names: set[str] = set()

    # ------------------------------------------------------------------------------ the full rules
    def write_records(self, request: WriteRequest) -> tuple[WriteOutcome, list[Rejection]]:
        """WriteRecords: store every acceptable record; return counts and the rejected ones."""
        with self._db.lock:
            self._flusher.check_healthy()
            self._catalogue.table(request.database, request.table)  # unknown table fails the whole call first
        rejections: list[Rejection] = []
        parsed: list[ParsedRecord] = []
        parser = RecordParser(request.common, self._known_names)
        for index, record in enumerate(request.records):
            try:
                parsed.append(parser.parse(index, record))
            except RecordError as error:
                rejections.append(Rejection(index, str(error)))
        outcome = WriteOutcome()
        with self._db.lock:
            self._flusher.check_healthy()
            table = self._catalogue.table(request.database, request.table)
            now = self.clock_ns()
            required = table.required_dimension
            if required is not None:
                parsed = self._check_partition_key(parsed, required, rejections)
            if not rejections and self._append_fast(table, request, parsed, now):
                outcome.memory = len(parsed)
                return outcome, rejections
            accepted = self._check_window(table, parsed, now, rejections)
            accepted, schema_change = self._check_schema(table, accepted, rejections)
            inserts, replaced, noops = self._versions.resolve(table, accepted, rejections)
            if inserts or schema_change:
                self._apply(table, request, inserts, replaced, schema_change)
            for record in (*inserts, *noops):
                if record.magnetic:
                    outcome.magnetic += 1
                else:
                    outcome.memory += 1
        rejections.sort(key=lambda r: r.index)
        return outcome, rejections

    def parse_entry(self, entry: LogEntry) -> Columns:
        """A logged request's accepted records again, as rows (the flusher's replay at start)."""
        request = json.loads(entry.body)
        records = request.get("Records") or []
        parser = RecordParser(request.get("CommonAttributes") or {}, self._known_names)
        indexes = range(len(records)) if entry.indexes is None else entry.indexes
        return Columns.from_records(parser.parse(i, records[i]) for i in indexes)

    # ----------------------------------------------------------------------------- the fast paths
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
        with self._db.lock:
            if not self._flusher.accepting:
                return None  # the full path answers with the reason
            table = self._catalogue.find(batch.database, batch.table)
            stored = None if table is None else self._streaming_spans(table, batch)
            if table is None or stored is None:
                return None
            self._flusher.append(table.id, None, body, batch.rows)
            series = self._versions.series(table)
            for spans, series_key, time_ns in zip(stored, batch.series, batch.times, strict=True):
                if spans is not None:
                    spans.add(time_ns, time_ns)
                else:  # a new series (it may occur again further on in the batch)
                    stored_span(series, series_key).add(time_ns, time_ns)
            return batch.rows.count

    def _streaming_spans(
        self, table: TableInfo, batch: fastpath.StreamingBatch
    ) -> list[TimeSpans | None] | None:
        """When every record of the batch is a plain append (inside the memory-store window, of the
        table's columns and measure types, new for its series: no stored row can share its key and
        no other record of the batch has it), each record's series spans (None for a new series,
        looked up once for the check and the update); otherwise None."""
        now = self.clock_ns()
        memory_oldest = now - table.retention.memory_hours * NS_PER_HOUR
        newest = now + FUTURE_TOLERANCE_NS
        if not memory_oldest <= min(batch.times) <= max(batch.times) <= newest:
            return None
        # a dimension the partition key requires: every record has it (no None in its column), or the full path
        required = table.required_dimension
        if required is not None and (required not in batch.dimensions or None in batch.rows.data[required]):
            return None
        measure_types = table.measure_types
        if not batch.dimensions.issubset(table.dimensions) or any(
            measure_types.get(name) != kind for name, kind in batch.measures
        ):
            return None
        stored = list(map(self._versions.series(table).get, batch.series))
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
        oldest = now - table.retention.memory_hours * NS_PER_HOUR
        newest = now + FUTURE_TOLERANCE_NS
        measure_types = table.measure_types
        known = set(table.dimensions)
        series = self._versions.series(table)
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
            stored_span(series, (record.dims, record.measure_name)).add(record.time_ns, record.time_ns)
        return True

    # ------------------------------------------------------------------------- the table's rules
    @staticmethod
    def _check_partition_key(
        records: list[ParsedRecord], required: str, rejections: list[Rejection]
    ) -> list[ParsedRecord]:
        """Reject the records without the dimension the table's partition key requires."""
        accepted = []
        for record in records:
            reason = missing_partition_key_reason(record, required)
            if reason is None:
                accepted.append(record)
            else:
                rejections.append(Rejection(record.index, reason))
        return accepted

    def _check_window(
        self, table: TableInfo, records: list[ParsedRecord], now: int, rejections: list[Rejection]
    ) -> list[ParsedRecord]:
        accepted = []
        memory_oldest = now - table.retention.memory_hours * NS_PER_HOUR
        newest = now + FUTURE_TOLERANCE_NS
        for record in records:
            if memory_oldest <= record.time_ns <= newest:
                accepted.append(record)
                continue
            reason = ingestion_window_reason(
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
        check = SchemaCheck(table.dimensions, table.attributes, table.measure_types)
        accepted = []
        for record in records:
            reason = check.problem(record)
            if reason:
                rejections.append(Rejection(record.index, reason))
            else:
                check.accept(record)
                accepted.append(record)
        return accepted, check.change()

    # ---------------------------------------------------------------------------------- storing
    def _apply(
        self,
        table: TableInfo,
        request: WriteRequest,
        inserts: list[ParsedRecord],
        replaced: list[ExistingRow],
        schema_change: dict[str, Any] | None,
    ) -> None:
        if schema_change or replaced:
            with self._db.db_lock:
                self._flusher.flush(holding_lock=True)
                try:
                    self._apply_sync(table, inserts, replaced, schema_change)
                except duckdb.Error as error:
                    raise InternalServerException(
                        f"The records were not stored: {describe_failure(error)}. Nothing of this call was kept."
                    ) from error
        else:
            self._apply_buffered(table, request, inserts)
        self._versions.note_stored(table, inserts)

    def _apply_buffered(self, table: TableInfo, request: WriteRequest, inserts: list[ParsedRecord]) -> None:
        """Plain appends: log the request, answer, and let the flusher batch the rows into DuckDB."""
        indexes = None if len(inserts) == len(request.records) else [r.index for r in inserts]
        body = request.raw
        if body is None:
            body = json.dumps({"CommonAttributes": request.common, "Records": request.records}).encode()
        self._flusher.append(table.id, indexes, body, Columns.from_records(inserts))

    def _apply_sync(
        self,
        table: TableInfo,
        inserts: list[ParsedRecord],
        replaced: list[ExistingRow],
        schema_change: dict[str, Any] | None,
    ) -> None:
        """Schema changes and overwrites: one DuckDB transaction, committed before the reply."""
        file_rewrites: dict[str, list[int]] = {}
        mem_rowids = []
        for row in replaced:
            kind, where = row.location
            if kind == "mem":
                mem_rowids.append(where)
            else:
                file_rewrites.setdefault(where[0], []).append(where[1])
        self._db.sql("BEGIN")
        try:
            if schema_change:
                self._catalogue.extend_schema(table, schema_change)
            if mem_rowids:
                self._memory.delete(table, mem_rowids)
            for path, positions in file_rewrites.items():
                self._magnetic.rewrite_without_rows(table, path, positions)
            if file_rewrites:
                self._views.ensure(table)
            self._memory.insert(table, Columns.from_records(inserts))
            self._db.sql("COMMIT")
        except Exception:
            self._db.rollback()
            if schema_change:  # reload the table's description as committed
                self._catalogue.reload(table)
            raise
