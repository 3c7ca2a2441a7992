"""TimeSpans: the conservative record of which times of a series may hold rows."""

from __future__ import annotations

import random

from timestream_local.domain.spans import MAX_SPANS, RECENT_TIMES, TimeSpans


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


def test_late_times_near_the_head_are_known_exactly():
    """Two writers deliver a series slightly out of order: the late times were never stored, and
    the spans must not send them to a look-up; the stored ones must still be caught."""
    spans = TimeSpans(0, 1_000)  # loaded from disk: known by span only
    for t in (1_010, 1_030, 1_020, 1_050):
        spans.add(t, t)
    assert [t for t in range(1_001, 1_060) if spans.covers(t)] == [1_010, 1_020, 1_030, 1_050]
    assert spans.covers(500) and spans.covers(1_000)  # the loaded range stays covered


def test_exact_times_match_an_independent_model_under_reordering():
    rng = random.Random(11)
    for _ in range(200):
        spans, written = TimeSpans(), set()
        times = list(range(0, 3_000, 10))
        for start in range(0, len(times), 8):  # batches of 8 in shuffled order: bounded reordering
            chunk = times[start : start + 8]
            rng.shuffle(chunk)
            times[start : start + 8] = chunk
        for t in times[: rng.randint(1, len(times))]:
            if rng.random() < 0.2:
                continue  # a reading that was lost: its time must stay free
            spans.add(t, t)
            written.add(t)
        assert all(spans.covers(t) for t in written)
        head = max(written) - RECENT_TIMES * 10  # within the exact times kept
        assert [t for t in range(head, max(written) + 1) if spans.covers(t)] == sorted(
            t for t in written if t >= head
        )


def test_a_range_near_the_head_is_covered_as_a_whole():
    spans = TimeSpans()
    spans.add(100, 100)
    spans.add(200, 300)  # rows somewhere in 200..300, not known one by one
    assert spans.covers(250) and spans.covers(200) and spans.covers(100)
    spans.add(310, 310)
    assert not spans.covers(305) and spans.covers(310) and spans.covers(300)


def test_exact_times_are_bounded_and_older_ones_stay_covered():
    spans = TimeSpans()
    for t in range(0, 10_000, 2):
        spans.add(t, t)
    assert len(spans._recent) <= 2 * RECENT_TIMES  # the memory bound is the point
    assert all(spans.covers(t) for t in range(0, 10_000, 2))
    assert not spans.covers(9_997)  # recent and never written
    assert spans.covers(1)  # old: only the span is left, conservative
