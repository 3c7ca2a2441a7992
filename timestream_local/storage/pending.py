"""Acknowledged rows on their way from the write log to the memory tier, in column form.

A writer adds the rows of each logged entry (``PendingWrites.add``); the flusher takes everything at
once (``take``) and commits it as one batch, or entry by entry when DuckDB refuses the batch
(``PendingBatch.each`` / ``rest``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from timestream_local.storage.columns import Columns
from timestream_local.storage.writelog import Position


@dataclass
class PendingBatch:
    """Rows taken from PendingWrites for one commit: per table id in column form, plus the entries
    they came from in log order (seq, table id, row count, position), so that a batch DuckDB refuses
    can be applied entry by entry. `last_seq` may exceed the last entry's (entries of deleted tables)."""

    tables: dict[int, Columns] = field(default_factory=dict)
    entries: list[tuple[int, int, int, Position]] = field(default_factory=list)
    last_seq: int | None = None

    def then(self, later: PendingBatch) -> PendingBatch:
        """This batch followed by a later one (which is consumed)."""
        for table_id, rows in later.tables.items():
            mine = self.tables.get(table_id)
            if mine is None:
                self.tables[table_id] = rows
            else:
                mine.extend(rows)
        self.entries.extend(later.entries)
        if later.last_seq is not None:
            self.last_seq = later.last_seq
        return self

    def each(self) -> Iterator[tuple[int, int, Columns, Position]]:
        """(seq, table id, rows, position) per entry, in log order."""
        starts: dict[int, int] = {}
        for seq, table_id, count, position in self.entries:
            start = starts.get(table_id, 0)
            starts[table_id] = start + count
            yield seq, table_id, self.tables[table_id].slice(start, start + count), position

    def rest(self, first: int) -> PendingBatch:
        """The batch from its entry number `first` on."""
        skipped: dict[int, int] = {}
        for _seq, table_id, count, _position in self.entries[:first]:
            skipped[table_id] = skipped.get(table_id, 0) + count
        remaining = self.entries[first:]
        kept = {table_id for _seq, table_id, _count, _position in remaining}
        tables = {
            table_id: rows.slice(skipped.get(table_id, 0), rows.count)
            for table_id, rows in self.tables.items()
            if table_id in kept
        }
        return PendingBatch(tables, remaining, self.last_seq)


class PendingWrites:
    """Acknowledged rows not yet in DuckDB, per table id, in column form (what the flusher inserts)."""

    def __init__(self) -> None:
        self._batch = PendingBatch()
        self.size = 0

    def add(self, table_id: int, rows: Columns, seq: int, position: Position) -> None:
        """Queue rows logged as entry `seq`; the first batch of a table is kept (not copied) and
        extended in place, so callers hand over rows they no longer touch."""
        batch = self._batch
        mine = batch.tables.get(table_id)
        if mine is None:
            batch.tables[table_id] = rows
        else:
            mine.extend(rows)
        batch.entries.append((seq, table_id, rows.count, position))
        self.size += rows.count
        batch.last_seq = seq

    def advance(self, seq: int) -> None:
        self._batch.last_seq = seq

    def take(self) -> PendingBatch:
        batch = self._batch
        self._batch, self.size = PendingBatch(), 0
        return batch
