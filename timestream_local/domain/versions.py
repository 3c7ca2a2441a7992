"""Version resolution: what a record does to a stored row with the same key (dimensions, measure name
and time). A higher Version replaces the stored row, the same values are a no-op, anything else is
rejected naming the stored version (Timestream's upsert rules).

Looking rows up costs a query over both tiers, so each table keeps, per series (dimensions and
measure name), the time spans it holds rows in (spans.py): a record outside them cannot collide and
skips the look-up, which is what makes streaming appends cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from timestream_local.catalog import VERSION_COLUMN, TableInfo, literal, quote
from timestream_local.domain.spans import TimeSpans
from timestream_local.models import ParsedRecord, Rejection
from timestream_local.storage.database import Database
from timestream_local.storage.flusher import Flusher
from timestream_local.storage.magnetic import MagneticTier
from timestream_local.storage.views import Views

SeriesKey = tuple[tuple[tuple[str, str], ...], str]
# The times of a series that may hold stored rows (spans.py): records outside them skip the look-up.
RecordKey = tuple[tuple[tuple[str, str], ...], str, int]


@dataclass(slots=True)
class ExistingRow:
    """A stored row that a new record with the same key would overwrite."""

    version: int
    values: dict[str, Any]
    location: tuple[str, Any]  # ("mem", rowid) or ("file", (path, file_row_number)) or ("batch", None)


def stored_span(series: dict[SeriesKey, TimeSpans], key: SeriesKey) -> TimeSpans:
    """The series' spans, created when missing (not setdefault: that builds a TimeSpans per call)."""
    spans = series.get(key)
    if spans is None:
        spans = series[key] = TimeSpans()
    return spans


class Versions:
    """The series spans of every table (changed under the store lock) and the look-ups behind them."""

    def __init__(self, database: Database, views: Views, magnetic: MagneticTier, flusher: Flusher) -> None:
        self._db = database
        self._views = views
        self._magnetic = magnetic
        self._flusher = flusher
        self._series: dict[int, dict[SeriesKey, TimeSpans]] = {}

    def new_table(self, table_id: int) -> None:
        """A new table holds no rows: its spans start empty, without a look-up."""
        self._series[table_id] = {}

    def forget(self, table_id: int) -> None:
        self._series.pop(table_id, None)

    def series(self, table: TableInfo) -> dict[SeriesKey, TimeSpans]:
        """The oldest and newest time stored per series (dimensions + measure name), loaded on first use."""
        series = self._series.get(table.id)
        if series is not None:
            return series
        series = {}
        dims = table.dimensions
        select = ", ".join(quote(table.physical_name(d)) for d in dims)
        select = f"{select}, " if select else ""
        query = (
            f"SELECT {select}measure_name, epoch_ns(min(time)), epoch_ns(max(time)) "
            f"FROM ({self._views.physical_sql(table)}) GROUP BY ALL"
        )
        with self._db.db_lock:
            rows = self._db.sql(query)
        for row in rows:
            key_dims = tuple(sorted((dims[i], row[i]) for i in range(len(dims)) if row[i] is not None))
            series[(key_dims, row[len(dims)])] = TimeSpans(row[len(dims) + 1], row[len(dims) + 2])
        self._series[table.id] = series
        return series

    def note_stored(self, table: TableInfo, records: list[ParsedRecord]) -> None:
        """Records now stored (or logged to be): their series spans cover their times."""
        series = self.series(table)
        for record in records:
            stored_span(series, (record.dims, record.measure_name)).add(record.time_ns, record.time_ns)

    def resolve(
        self, table: TableInfo, records: list[ParsedRecord], rejections: list[Rejection]
    ) -> tuple[list[ParsedRecord], list[ExistingRow], list[ParsedRecord]]:
        """Apply Timestream's version rules; returns (rows to insert, stored rows to drop, no-ops)."""
        series = self.series(table)
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
        with self._db.db_lock:
            self._flusher.flush(holding_lock=True)
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
        for file in self._magnetic.files(table.id):
            if file.max_time >= times[0] and file.min_time <= times[-1]:
                sources.append((self._magnetic.source(file, row_numbers=True), file.path, set(file.columns)))
        for source, path, present in sources:
            position = "rowid" if path is None else "file_row_number"

            def column(name: str, expr: str, present: set[str] = present) -> str:
                return expr if name in present else "NULL"

            select = [position]
            select += [column(names[d], quote(names[d])) for d in dims]
            select += ["measure_name", "epoch_ns(time)", quote(VERSION_COLUMN)]
            select += [column(names[c], e) for c, e in zip(value_columns, select_values, strict=True)]
            rows = self._db.sql(f"SELECT {', '.join(select)} FROM {source} WHERE {where}")
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
