"""TimeSpans: the conservative record of which times of a series may hold rows."""

from __future__ import annotations

import random

from timestream_local.spans import MAX_SPANS, TimeSpans


def test_every_written_time_stays_covered_whatever_the_order():
    rng = random.Random(7)
    for _ in range(500):
        spans, written = TimeSpans(), []
        for _ in range(rng.randint(1, 60)):
            oldest = rng.randint(0, 10_000)
            newest = oldest + rng.randint(0, 50)
            spans.add(oldest, newest)
            written += range(oldest, newest + 1)
        assert all(spans.covers(t) for t in written)


def test_live_then_history_leaves_the_gap_free():
    spans = TimeSpans(1_000, 2_000)  # live data already stored
    for start in range(0, 900, 100):  # history, oldest first, in 100-unit batches
        assert not any(spans.covers(t) for t in range(start, start + 100))
        spans.add(start, start + 99)
    assert not spans.covers(950)  # still between history and live: no look-up needed
    assert spans.covers(500) and spans.covers(1_500) and not spans.covers(2_001)
    assert repr(spans) == "TimeSpans([0, 900), [1000, 2001))"


def test_span_count_is_bounded():
    spans = TimeSpans()
    for start in range(10_000, 0, -100):  # each batch older than everything: a new span each time
        spans.add(start, start + 1)
    assert repr(spans).count("[") <= MAX_SPANS
    assert spans.covers(10_000) and spans.covers(100)
