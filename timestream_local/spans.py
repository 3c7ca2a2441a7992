"""Which times of a series may hold stored rows: a few disjoint spans, kept conservatively.

WriteRecords must look up stored rows only for records that could collide with one. A record whose
time lies outside every span of its series cannot, so it is appended without a look-up. Live appends
(newer than everything) and history loaded after live data (older than everything, then ascending)
both stay outside the spans. Spans only ever grow or merge, so a span may cover times without rows
(a harmless extra look-up) but never misses a stored row; retention deleting old rows keeps that true.
"""

from __future__ import annotations

from bisect import bisect_right

MAX_SPANS = 16


class TimeSpans:
    """Disjoint half-open spans [start, end) as a flat sorted list [start0, end0, start1, end1, ...]."""

    __slots__ = ("_bounds",)

    def __init__(self, oldest: int | None = None, newest: int | None = None) -> None:
        self._bounds: list[int] = [] if oldest is None or newest is None else [oldest, newest + 1]

    def covers(self, time_ns: int) -> bool:
        """True when a stored row may exist at this time."""
        return bisect_right(self._bounds, time_ns) % 2 == 1

    def add(self, oldest: int, newest: int) -> None:
        """Record rows written between ``oldest`` and ``newest`` (inclusive).

        The new span absorbs every span it overlaps and the span just before it: ascending writes then
        extend one span instead of adding one per call.
        """
        start, end = oldest, newest + 1
        bounds = self._bounds
        if len(bounds) >= 2 and bounds[-1] <= start:  # the live case: past the newest span, extend it
            bounds[-1] = end
            return
        first = bisect_right(bounds, start)
        if first % 2 == 1:  # starts inside a span: extend that span
            first -= 1
        elif first >= 2:  # starts in a gap: absorb the span before it
            first -= 2
        if first < len(bounds):
            start = min(start, bounds[first])
        last = bisect_right(bounds, end)
        if last % 2 == 1:  # ends inside a span: absorb it
            end = max(end, bounds[last])
            last += 1
        bounds[first:last] = [start, end]
        if len(bounds) > 2 * MAX_SPANS:
            bounds[1:3] = []  # merge the two oldest spans

    def __repr__(self) -> str:
        pairs = zip(self._bounds[::2], self._bounds[1::2], strict=True)
        return f"TimeSpans({', '.join(f'[{a}, {b})' for a, b in pairs)})"
