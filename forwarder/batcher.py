"""Gathers readings into WriteRecords batches of at most 100 records, with a flush timer.

* A batch is handed on (``emit``) when it is full, or by ``flush_due()`` once its oldest record has
  waited ``flush_interval`` seconds (the runner calls it several times a second, so a quiet stream
  is still written promptly), or by ``flush()``.
* Two readings of the same point (same dimensions, time and measure name) never travel at the same
  time: the second waits ("held") until the batch with the first one is finished. Writers run in
  parallel, so this keeps "first read, first written" for the rare conflicting duplicate, and an
  identical duplicate then simply meets its twin in Timestream, which accepts it.
* With ``multi_measure_name`` set, readings of the same series and time are merged into one MULTI
  record named so (one measure per reading's MeasureName).

Not thread-safe by itself except through its lock: every public method takes it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from forwarder.records import Reading, multi_record

MAX_BATCH = 100  # WriteRecords limit


@dataclass(eq=False, slots=True)
class Item:
    """One reading on its way, with where it came from."""

    reading: Reading
    data: bytes
    shard_id: str
    sequence_number: str
    chunk: Any = None  # progress.Chunk


@dataclass(eq=False, slots=True)
class Entry:
    """One Timestream record of a batch: a reading, or several merged into a MULTI record."""

    key: tuple
    items: list[Item]
    record: dict[str, Any] | None = None
    # Server errors of the calls that carried it, for telling a poison record from an outage (writer.py):
    failures: int = 0
    failures_alone: int = 0  # ... of calls that carried it alone, with other records stored in between
    first_failure: int = -1  # StoreHealth.stored at its first server error
    last_failure: int = -1  # ... and at its latest one


@dataclass(eq=False)
class Batch:
    entries: list[Entry]

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def item_count(self) -> int:
        return sum(len(entry.items) for entry in self.entries)


class Batcher:
    def __init__(
        self,
        emit: Callable[[Batch], None],
        *,
        max_records: int = MAX_BATCH,
        flush_interval: float = 1.0,
        multi_measure_name: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= max_records <= MAX_BATCH:
            raise ValueError(f"max_records must be within 1..{MAX_BATCH}")
        self._emit = emit
        self._max = max_records
        self._interval = flush_interval
        self._multi = multi_measure_name
        self._clock = clock
        self._lock = threading.RLock()
        self._buffer: dict[tuple, Entry] = {}
        self._oldest: float | None = None
        self._in_flight: Counter[tuple] = Counter()
        self._held: deque[Item] = deque()
        self._held_keys: Counter[tuple] = Counter()
        self._dimension_lists: dict[tuple, list[dict[str, str]]] = {}  # one per station, reused

    def _key(self, reading: Reading) -> tuple:
        if self._multi is not None:
            return (reading.series_id, reading.time_ns)
        return (reading.series_id, reading.time_ns, reading.measure_name)

    def add(self, items: Iterable[Item]) -> None:
        with self._lock:
            for item in items:
                self._add(item)

    def _add(self, item: Item) -> None:
        key = self._key(item.reading)
        if key in self._held_keys or key in self._in_flight:
            self._hold(key, item)
            return
        entry = self._buffer.get(key)
        if entry is not None:
            name = item.reading.measure_name
            if self._multi is not None and all(other.reading.measure_name != name for other in entry.items):
                entry.items.append(item)
                return
            self._emit_buffer()  # the twin is now in flight; this one waits for it
            self._hold(key, item)
            return
        if not self._buffer:
            self._oldest = self._clock()
        self._buffer[key] = Entry(key, [item])
        if len(self._buffer) >= self._max:
            self._emit_buffer()

    def _hold(self, key: tuple, item: Item) -> None:
        self._held.append(item)
        self._held_keys[key] += 1

    def _emit_buffer(self) -> None:
        if not self._buffer:
            return
        entries = list(self._buffer.values())
        self._buffer = {}
        self._oldest = None
        in_flight = self._in_flight
        if self._multi is not None:
            for entry in entries:
                entry.record = multi_record([item.reading for item in entry.items], self._multi)
                in_flight[entry.key] += 1
        else:
            shared = self._dimension_lists
            if len(shared) > 10_000:
                shared.clear()
            for entry in entries:
                reading = entry.items[0].reading
                dimensions = shared.get(reading.dimensions)
                if dimensions is None:
                    dimensions = shared[reading.dimensions] = reading.dimension_list()
                entry.record = reading.to_record(dimensions)
                in_flight[entry.key] += 1
        self._emit(Batch(entries))

    def flush_due(self) -> bool:
        """Emit the buffer if its oldest record has waited flush_interval; True if it did."""
        with self._lock:
            if self._oldest is not None and self._clock() - self._oldest >= self._interval:
                self._emit_buffer()
                return True
            return False

    def flush(self) -> None:
        with self._lock:
            self._emit_buffer()

    def done(self, batch: Batch) -> None:
        """The batch is settled: its points may travel again; held readings go back in line."""
        with self._lock:
            for entry in batch.entries:
                self._in_flight[entry.key] -= 1
                if self._in_flight[entry.key] <= 0:
                    del self._in_flight[entry.key]
            if self._held:
                held, self._held, self._held_keys = self._held, deque(), Counter()
                for item in held:
                    self._add(item)

    @property
    def buffered(self) -> int:
        with self._lock:
            return sum(len(entry.items) for entry in self._buffer.values())

    @property
    def held(self) -> int:
        with self._lock:
            return len(self._held)
