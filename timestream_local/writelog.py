"""The write log: acknowledged appends wait here until the flusher commits them to DuckDB.

A WriteRecords call whose accepted records are plain appends writes one entry and only then answers:
a header line `<seq> <table_id> <body length> <accepted record indexes as JSON>` followed by the
request body exactly as received. The flusher regularly takes everything pending, rotates to a new
segment file, inserts the rows into DuckDB in one transaction that also records the highest sequence
number applied, and deletes the old segments. On start, entries with a higher sequence number than
the recorded one are parsed again and applied, so a kill -9 at any moment loses nothing that was
acknowledged and applies nothing twice.

Entries reach the operating system before the reply (a killed process loses nothing); with
`sync=True` each entry is also fsynced, so an acknowledged write survives a power failure too.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from timestream_local.columns import Columns

log = logging.getLogger("timestream_local.writelog")
SEGMENT_BYTES = 32 * 1024 * 1024


class WriteLog:
    def __init__(self, folder: Path, sync: bool = False) -> None:
        self.folder = folder
        self.sync = sync
        self.last_seq = 0
        folder.mkdir(parents=True, exist_ok=True)
        self._file: Any = None

    def segments(self) -> list[Path]:
        return sorted(self.folder.glob("*.log"))

    def read_after(self, applied_seq: int) -> Iterator[tuple[int, int, list[int] | None, dict[str, Any]]]:
        """(seq, table_id, accepted indexes or None for all, request) for entries not yet applied."""
        self.last_seq = max(self.last_seq, applied_seq)
        for segment in self.segments():
            with segment.open("rb") as source:
                while True:
                    header = source.readline()
                    if not header:
                        break
                    try:
                        seq_text, table_text, length_text, indexes_text = header.rstrip(b"\n").split(b" ", 3)
                        seq, table_id, length = int(seq_text), int(table_text), int(length_text)
                        body = source.read(length)
                        if len(body) != length or source.read(1) != b"\n":
                            raise ValueError("truncated entry")
                        if seq <= applied_seq:
                            self.last_seq = max(self.last_seq, seq)
                            continue
                        indexes = json.loads(indexes_text)
                        request = json.loads(body)
                    except ValueError:
                        log.warning(
                            "ignoring an incomplete entry at the end of %s (never acknowledged)", segment
                        )
                        break
                    self.last_seq = max(self.last_seq, seq)
                    yield seq, table_id, indexes, request

    def append(self, table_id: int, indexes: list[int] | None, body: bytes) -> int:
        if self._file is None:
            self._file = (self.folder / f"{self.last_seq + 1:020d}.log").open("ab")
        self.last_seq += 1
        header = f"{self.last_seq} {table_id} {len(body)} {json.dumps(indexes, separators=(',', ':'))}\n"
        self._file.write(header.encode() + body + b"\n")
        self._file.flush()
        if self.sync:
            os.fdatasync(self._file.fileno())
        return self.last_seq

    def rotate(self) -> list[Path]:
        """Called when everything logged so far is about to be committed: close the current segment once
        it is big (creating files is slow on some file systems, so small ones are kept) and return the
        closed segments, which the caller deletes after the commit."""
        if self._file is not None and self._file.tell() >= SEGMENT_BYTES:
            self._file.close()
            self._file = None
        if self._file is None:
            return self.segments()
        current = Path(self._file.name)
        return [segment for segment in self.segments() if segment != current]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class PendingWrites:
    """Acknowledged rows not yet in DuckDB, per table id, in column form (what the flusher inserts)."""

    def __init__(self) -> None:
        self._batches: dict[int, Columns] = {}
        self._last_seq: int | None = None
        self.size = 0

    def add(self, table_id: int, rows: Columns, seq: int) -> None:
        """Queue rows logged as entry `seq`; the first batch of a table is kept (not copied) and
        extended in place, so callers hand over rows they no longer touch."""
        batch = self._batches.get(table_id)
        if batch is None:
            self._batches[table_id] = rows
        else:
            batch.extend(rows)
        self.size += rows.count
        self._last_seq = seq

    def advance(self, seq: int) -> None:
        self._last_seq = seq

    def take(self) -> tuple[dict[int, Columns], int | None]:
        batches, last_seq = self._batches, self._last_seq
        self._batches, self._last_seq, self.size = {}, None, 0
        return batches, last_seq
