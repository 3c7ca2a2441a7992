"""Batching: size limit, flush timer, same-point readings never in flight together, MULTI merging."""

from __future__ import annotations

import json

from forwarder.batcher import Batch, Batcher, Item
from forwarder.records import parse_record


def item(location: str, time: int, value: int = 1, measure: str = "pm2.5", seq: str = "1") -> Item:
    data = json.dumps(
        {
            "city": "Shenzhen",
            "location": location,
            "MeasureName": measure,
            "MeasureValue": str(value),
            "MeasureValueType": "BIGINT",
            "Time": str(time),
        }
    ).encode()
    return Item(parse_record(data), data, "shardId-000000000000", seq)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def values(batch: Batch) -> list[str]:
    return [entry.record["MeasureValue"] for entry in batch.entries]


def test_batches_hold_at_most_100_records_and_keep_the_reading_order():
    batches: list[Batch] = []
    batcher = Batcher(batches.append)
    batcher.add(item(f"s{n}", 1000, value=n) for n in range(250))
    assert [len(b) for b in batches] == [100, 100]
    assert values(batches[0]) == [str(n) for n in range(100)]
    assert batcher.buffered == 50
    batcher.flush()
    assert [len(b) for b in batches] == [100, 100, 50]
    assert values(batches[2]) == [str(n) for n in range(200, 250)]


def test_a_partial_batch_is_flushed_once_its_oldest_record_waited_the_interval():
    batches: list[Batch] = []
    clock = Clock()
    batcher = Batcher(batches.append, flush_interval=1.0, clock=clock)
    batcher.add([item("a", 1)])
    clock.now += 0.6
    batcher.add([item("b", 1)])
    assert not batcher.flush_due()
    clock.now += 0.4  # the first record has now waited 1.0 s, although one arrived 0.4 s ago
    assert batcher.flush_due()
    assert [values(b) for b in batches] == [["1", "1"]]
    assert not batcher.flush_due()  # nothing left: nothing sent
    assert len(batches) == 1


def test_a_second_reading_of_the_same_point_waits_until_the_first_is_written():
    batches: list[Batch] = []
    batcher = Batcher(batches.append)
    batcher.add(
        [item("a", 1, value=10), item("b", 1, value=20), item("a", 1, value=11), item("c", 1, value=30)]
    )
    # the twin of "a" forced the buffer out and waits; "c" goes on without it
    assert [values(b) for b in batches] == [["10", "20"]]
    assert batcher.held == 1
    batcher.flush()
    assert [values(b) for b in batches] == [["10", "20"], ["30"]]
    assert batcher.held == 1
    batcher.done(batches[1])  # another batch finishing does not release it
    batcher.flush()
    assert len(batches) == 2 and batcher.held == 1
    batcher.done(batches[0])
    batcher.flush()
    assert [values(b) for b in batches] == [["10", "20"], ["30"], ["11"]]
    assert batcher.held == 0


def test_readings_behind_a_held_twin_keep_their_order():
    batches: list[Batch] = []
    batcher = Batcher(batches.append)
    batcher.add([item("a", 1, value=1)])
    batcher.flush()
    batcher.add([item("a", 1, value=2), item("a", 1, value=3)])
    assert batcher.held == 2
    batcher.done(batches[0])
    batcher.flush()
    batcher.done(batches[1])
    batcher.flush()
    assert [values(b) for b in batches] == [["1"], ["2"], ["3"]]


def test_different_measures_or_times_of_one_station_are_different_points():
    batches: list[Batch] = []
    batcher = Batcher(batches.append)
    batcher.add([item("a", 1), item("a", 2), item("a", 1, measure="pm10")])
    batcher.flush()
    assert len(batches) == 1 and len(batches[0]) == 3 and batcher.held == 0


def test_multi_measure_merges_readings_of_a_series_at_one_time():
    batches: list[Batch] = []
    batcher = Batcher(batches.append, multi_measure_name="readings")
    batcher.add([item("a", 1, 5), item("b", 1, 6), item("a", 1, 7, measure="pm10"), item("a", 2, 8)])
    batcher.flush()
    (batch,) = batches
    assert [len(entry.items) for entry in batch.entries] == [2, 1, 1]
    assert batch.item_count == 4
    assert batch.entries[0].record["MeasureValues"] == [
        {"Name": "pm2.5", "Value": "5", "Type": "BIGINT"},
        {"Name": "pm10", "Value": "7", "Type": "BIGINT"},
    ]
    assert batch.entries[0].record["MeasureName"] == "readings"


def test_multi_measure_does_not_merge_two_values_of_the_same_measure():
    batches: list[Batch] = []
    batcher = Batcher(batches.append, multi_measure_name="readings")
    batcher.add([item("a", 1, 5), item("a", 1, 6)])
    assert [len(b) for b in batches] == [1]
    assert batcher.held == 1
