"""Which times of a series may hold stored rows: a few disjoint spans, kept conservatively, and the
exact times of the newest rows.

WriteRecords must look up stored rows only for records that could collide with one. A record whose
time lies outside every span of its series cannot, so it is appended without a look-up. Live appends
(newer than everything) and history loaded after live data (older than everything, then ascending)
both stay outside the spans. Spans only ever grow or merge, so a span may cover times without rows
(a harmless extra look-up) but never misses a stored row; retention deleting old rows keeps that true.

Spans alone would send every late record to a look-up: two writers sending batches of one stream at
once deliver a series' times slightly out of order, and the older record falls inside the span the
newer one just extended. So each series also keeps the exact times of its newest rows (every stored
time from ``_recent_from`` on, RECENT_TIMES to twice as many): a late record near the head of the
series is judged by them, exactly.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort

MAX_SPANS = 16
RECENT_TIMES = 16  # exact times kept per series at least (once it has that many rows): 16-32 ints
_RECENT_LIMIT = 2 * RECENT_TIMES
_NO_TIME = -(2**63)  # below every time: a new series knows all its times exactly (none)


class TimeSpans:
    """Disjoint half-open spans [start, end) as a flat sorted list [start0, end0, start1, end1, ...],
    and, from ``_recent_from`` on, the sorted list of every stored time."""

    __slots__ = ("_bounds", "_recent", "_recent_from")

    def __init__(self, oldest: int | None = None, newest: int | None = None) -> None:
        self._bounds: list[int] = [] if oldest is None or newest is None else [oldest, newest + 1]
        self._recent: list[int] = []
        # rows already stored (loaded as one range) are known by their span only
        self._recent_from = _NO_TIME if newest is None else newest + 1

    def covers(self, time_ns: int) -> bool:
        """True when a stored row may exist at this time."""
        bounds = self._bounds
        if not bounds or time_ns >= bounds[-1]:  # the live case: newer than every row
            return False
        if time_ns >= self._recent_from:
            recent = self._recent
            i = bisect_left(recent, time_ns)
            return i < len(recent) and recent[i] == time_ns
        return bisect_right(bounds, time_ns) % 2 == 1

    def add(self, oldest: int, newest: int) -> None:
        """Record rows written between ``oldest`` and ``newest`` (inclusive).

        The new span absorbs every span it overlaps and the span just before it: ascending writes then
        extend one span instead of adding one per call. A single time (oldest == newest) is also kept
        exactly when it is recent; a wider range there makes its times known by span only.
        """
        bounds = self._bounds
        if bounds and bounds[-1] <= oldest:  # the live case: past the newest span, extend it
            bounds[-1] = newest + 1
            if oldest == newest:
                recent = self._recent  # every time in it is older: appending keeps it sorted
                recent.append(newest)
                if len(recent) > _RECENT_LIMIT:
                    self._forget_older_half()
            else:
                self._recent.clear()
                self._recent_from = newest + 1
            return
        self._add_recent(oldest, newest)
        start, end = oldest, newest + 1
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

    def _add_recent(self, oldest: int, newest: int) -> None:
        if newest < self._recent_from:
            return
        recent = self._recent
        if oldest != newest:  # the times inside the range are not known one by one
            self._recent_from = newest + 1
            del recent[: bisect_right(recent, newest)]
            return
        if not recent or recent[-1] < newest:
            recent.append(newest)  # newer than every time kept: stays sorted
        elif not self.covers(newest):
            insort(recent, newest)
        if len(recent) > _RECENT_LIMIT:
            self._forget_older_half()

    def _forget_older_half(self) -> None:
        """Bound the exact times; the spans still cover the ones forgotten."""
        del self._recent[:RECENT_TIMES]
        self._recent_from = self._recent[0]

    def __repr__(self) -> str:
        pairs = zip(self._bounds[::2], self._bounds[1::2], strict=True)
        return f"TimeSpans({', '.join(f'[{a}, {b})' for a, b in pairs)})"
