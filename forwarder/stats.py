"""Counters shared by the forwarder's threads, and the periodic summary line."""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields, replace


@dataclass
class Counts:
    read: int = 0  # records taken from Kinesis
    written: int = 0  # records Timestream stored
    duplicates: int = 0  # identical to a stored record (Timestream said so): delivered
    rejected: int = 0  # refused by Timestream (then dead-lettered)
    invalid: int = 0  # not valid JSON / missing fields (then dead-lettered)
    dead_lettered: int = 0  # lines added to the dead-letter file
    retries: int = 0  # failed calls that were retried


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = Counts()
        self._lag: dict[str, float] = {}

    def add(self, **increments: int) -> None:
        with self._lock:
            for name, value in increments.items():
                setattr(self._counts, name, getattr(self._counts, name) + value)

    def snapshot(self) -> Counts:
        with self._lock:
            return replace(self._counts)

    def set_lag(self, shard_id: str, millis: float) -> None:
        with self._lock:
            self._lag[shard_id] = millis

    def forget_shard(self, shard_id: str) -> None:
        with self._lock:
            self._lag.pop(shard_id, None)

    @property
    def lag(self) -> float:
        with self._lock:
            return max(self._lag.values(), default=0.0)


def _duration(millis: float) -> str:
    if millis < 1000:
        return f"{millis:.0f} ms"
    if millis < 120_000:
        return f"{millis / 1000:.1f} s"
    return f"{millis / 60_000:.1f} min"


def summary_line(
    before: Counts, now: Counts, seconds: float, *, lag_ms: float, pending: int, shards: int
) -> str:
    """One line for the log: rates over the last interval, totals since the start."""
    seconds = max(seconds, 1e-9)
    rate_in = (now.read - before.read) / seconds
    rate_out = (now.written + now.duplicates - before.written - before.duplicates) / seconds
    return (
        f"in {rate_in:,.0f} rec/s | written {now.written:,} ({rate_out:,.0f} rec/s) | "
        f"duplicates {now.duplicates:,} | rejected {now.rejected:,} | dead-lettered {now.dead_lettered:,} | "
        f"pending {pending:,} | lag {_duration(lag_ms)} | shards {shards}"
    )


def totals_line(counts: Counts) -> str:
    return ", ".join(
        f"{field.name.replace('_', '-')} {getattr(counts, field.name):,}" for field in fields(counts)
    )
