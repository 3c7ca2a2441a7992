"""The Query API's own state: results kept for NextToken paging (at most a byte budget of them, for at
most QUERY_CACHE_SECONDS) and the queries running now, so that CancelQuery can stop them.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import msgspec

from timestream_local.exceptions import ValidationException
from timestream_local.lru import LruCache

DEFAULT_RESULTS_BYTES = 256 * 2**20  # query results kept for paging, together (and the most one may hold)
QUERY_CACHE_SECONDS = 600
QUERY_CACHE_ENTRIES = 64
CANCELLED_IDS = 1024  # cancelled queries remembered, so that cancelling one again is not an error


@dataclass
class StoredResult:
    query_string: str
    column_info: list[dict[str, Any]]
    rows: list[msgspec.Raw]  # each row's JSON, encoded once
    size: int  # the rows' JSON bytes
    created: float = field(default_factory=time.monotonic)


class QueryRegistry:
    """Results kept for NextToken paging (at most ``max_bytes`` of them, oldest dropped first), and
    running queries for CancelQuery."""

    def __init__(self, max_bytes: int = DEFAULT_RESULTS_BYTES) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._results: OrderedDict[str, StoredResult] = OrderedDict()
        self._bytes = 0
        self._running: dict[str, tuple[Any, threading.Event]] = {}
        self._cancelled: set[str] = set()
        self._cancelled_ids: LruCache[str, bool] = LruCache(CANCELLED_IDS)  # for a repeated CancelQuery

    def start(self, query_id: str, cursor: Any) -> threading.Event:
        """Register a running query; the event it returns is set when the query is cancelled."""
        stop = threading.Event()
        with self._lock:
            self._running[query_id] = (cursor, stop)
        return stop

    def finish(self, query_id: str) -> bool:
        """Forget a running query; True when it was cancelled meanwhile."""
        with self._lock:
            self._running.pop(query_id, None)
            if query_id in self._cancelled:
                self._cancelled.discard(query_id)
                return True
            return False

    def cancel(self, query_id: str) -> str:
        """CancelQuery: idempotent, as AWS documents it: cancelling a query again answers that it
        has already been cancelled."""
        with self._lock:
            if self._cancelled_ids.get(query_id):
                return f"Query {query_id} has already been cancelled."
            running = self._running.get(query_id)
            if running is not None:
                self._cancelled.add(query_id)
                self._cancelled_ids.put(query_id, True)
                running[1].set()
                running[0].interrupt()
                return f"Query {query_id} was cancelled."
            if self._pop(query_id) is not None:
                self._cancelled_ids.put(query_id, True)
                return f"Query {query_id} had already finished; its remaining pages were discarded."
        raise ValidationException(f"The query ID {query_id} does not match a running or paged query.")

    def store(self, query_id: str, result: StoredResult) -> None:
        with self._lock:
            self._expire()
            self._pop(query_id)
            self._results[query_id] = result
            self._bytes += result.size
            while len(self._results) > 1 and (
                len(self._results) > QUERY_CACHE_ENTRIES or self._bytes > self.max_bytes
            ):
                self._pop(next(iter(self._results)))

    def get(self, query_id: str) -> StoredResult | None:
        with self._lock:
            self._expire()
            return self._results.get(query_id)

    def drop(self, query_id: str) -> None:
        with self._lock:
            self._pop(query_id)

    @property
    def stored_bytes(self) -> int:
        with self._lock:
            return self._bytes

    def _pop(self, query_id: str) -> StoredResult | None:
        result = self._results.pop(query_id, None)
        if result is not None:
            self._bytes -= result.size
        return result

    def _expire(self) -> None:
        deadline = time.monotonic() - QUERY_CACHE_SECONDS
        for key in [k for k, v in self._results.items() if v.created < deadline]:
            self._pop(key)
