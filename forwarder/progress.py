"""Which records of each shard are settled, and so how far each shard's checkpoint may advance.

A record is *settled* once it is written to Timestream, known to be there already (an identical
duplicate), or durably in the dead-letter file. Records are read in chunks (one GetRecords answer);
a shard's checkpoint moves to the last sequence number of the longest run of fully settled chunks
from the start, so it never passes a record that is still on its way. Records may settle in any
order (several writers run at once).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Position:
    """A place in a shard: after a sequence number, at a time (seconds since the epoch), or its end."""

    kind: str  # "SEQUENCE" | "AT_TIMESTAMP" | "SHARD_END"
    value: str = ""

    SEQUENCE = "SEQUENCE"
    AT_TIMESTAMP = "AT_TIMESTAMP"
    SHARD_END = "SHARD_END"

    @classmethod
    def after(cls, sequence_number: str) -> Position:
        return cls(cls.SEQUENCE, sequence_number)

    @classmethod
    def end(cls) -> Position:
        return cls(cls.SHARD_END)

    @property
    def finished(self) -> bool:
        return self.kind == self.SHARD_END


@dataclass(eq=False)
class Chunk:
    shard_id: str
    last_sequence: str
    remaining: int
    arrival: float = 0.0  # when its oldest record reached the stream (epoch seconds), for the lag


@dataclass
class _Shard:
    chunks: deque[Chunk] = field(default_factory=deque)
    ended: bool = False
    settled: Position | None = None
    dirty: bool = False


class Progress:
    """Thread-safe bookkeeping for all shards; also the in-flight count used for back-pressure."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._shards: dict[str, _Shard] = {}
        self._pending = 0

    def read(self, shard_id: str, last_sequence: str, count: int, arrival: float = 0.0) -> Chunk:
        """Register ``count`` records just read from ``shard_id``, ending at ``last_sequence``;
        ``arrival``: when the first of them reached the stream (epoch seconds)."""
        if count < 1:
            raise ValueError("a chunk holds at least one record")
        with self._lock:
            shard = self._shards.setdefault(shard_id, _Shard())
            if shard.ended:
                raise ValueError(f"shard {shard_id} already ended")
            chunk = Chunk(shard_id, last_sequence, count, arrival)
            shard.chunks.append(chunk)
            self._pending += count
            return chunk

    def end(self, shard_id: str) -> None:
        """The shard is closed and fully read; it is finished once everything read is settled."""
        with self._lock:
            shard = self._shards.setdefault(shard_id, _Shard())
            shard.ended = True
            self._advance(shard)

    def settle(self, chunk: Chunk, count: int = 1) -> None:
        with self._lock:
            if count > chunk.remaining:
                raise ValueError(f"settling {count} records of a chunk with {chunk.remaining} left")
            chunk.remaining -= count
            self._pending -= count
            if chunk.remaining == 0:
                self._advance(self._shards[chunk.shard_id])
            self._lock.notify_all()

    def _advance(self, shard: _Shard) -> None:
        while shard.chunks and shard.chunks[0].remaining == 0:
            shard.settled = Position.after(shard.chunks.popleft().last_sequence)
            shard.dirty = True
        if shard.ended and not shard.chunks:
            shard.settled = Position.end()
            shard.dirty = True

    def take_checkpoints(self) -> dict[str, Position]:
        """Positions that moved since the last call (to be stored durably by the caller)."""
        with self._lock:
            moved = {}
            for shard_id, shard in self._shards.items():
                if shard.dirty and shard.settled is not None:
                    moved[shard_id] = shard.settled
                    shard.dirty = False
            return moved

    def restore(self, positions: dict[str, Position]) -> None:
        """Give moved positions back after a failed save, so the next save retries them."""
        with self._lock:
            for shard_id, position in positions.items():
                shard = self._shards.get(shard_id)
                if shard is not None and not shard.dirty:
                    shard.dirty = True
                    shard.settled = shard.settled or position

    @property
    def pending(self) -> int:
        with self._lock:
            return self._pending

    def oldest_unsettled_arrival(self) -> float | None:
        """When the oldest record read but not yet settled reached the stream; None when all are settled.

        A shard's chunks settle from the front (settled ones are dropped), so its first chunk still
        waiting holds its oldest unsettled record."""
        with self._lock:
            oldest = None
            for shard in self._shards.values():
                for chunk in shard.chunks:
                    if chunk.remaining:
                        if oldest is None or chunk.arrival < oldest:
                            oldest = chunk.arrival
                        break
            return oldest

    def wait_for_room(self, limit: int, timeout: float) -> bool:
        """Block until fewer than ``limit`` records are pending (True) or ``timeout`` passes (False)."""
        with self._lock:
            return self._lock.wait_for(lambda: self._pending < limit, timeout)

    def wait_settled(self, timeout: float) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: self._pending == 0, timeout)
