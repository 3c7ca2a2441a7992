"""Checkpoint positions advance only over settled records."""

from __future__ import annotations

import threading

import pytest

from forwarder.progress import Position, Progress


def test_the_position_advances_over_the_longest_settled_prefix_of_chunks():
    progress = Progress()
    first = progress.read("s0", "100", 3)
    second = progress.read("s0", "200", 2)
    assert progress.pending == 5
    progress.settle(second, 2)  # later records done first: nothing may be checkpointed yet
    assert progress.take_checkpoints() == {}
    progress.settle(first, 2)
    assert progress.take_checkpoints() == {}
    progress.settle(first)
    assert progress.take_checkpoints() == {"s0": Position.after("200")}
    assert progress.take_checkpoints() == {}  # reported once
    assert progress.pending == 0


def test_shards_are_independent():
    progress = Progress()
    a = progress.read("s0", "10", 1)
    progress.read("s1", "20", 1)
    progress.settle(a)
    assert progress.take_checkpoints() == {"s0": Position.after("10")}


def test_a_closed_shard_is_finished_only_when_its_records_are_settled():
    progress = Progress()
    chunk = progress.read("s0", "10", 1)
    progress.end("s0")
    assert progress.take_checkpoints() == {}
    progress.settle(chunk)
    assert progress.take_checkpoints() == {"s0": Position.end()}
    assert Position.end().finished


def test_an_empty_closed_shard_is_finished_at_once():
    progress = Progress()
    progress.end("s9")
    assert progress.take_checkpoints() == {"s9": Position.end()}


def test_settling_more_than_was_read_is_a_bug_and_says_so():
    progress = Progress()
    chunk = progress.read("s0", "10", 1)
    with pytest.raises(ValueError, match="settling 2 records of a chunk with 1 left"):
        progress.settle(chunk, 2)


def test_positions_of_a_failed_save_come_back():
    progress = Progress()
    progress.settle(progress.read("s0", "10", 1))
    moved = progress.take_checkpoints()
    progress.restore(moved)
    assert progress.take_checkpoints() == {"s0": Position.after("10")}


def test_readers_wait_for_room_until_writers_settle():
    progress = Progress()
    chunk = progress.read("s0", "10", 5)
    assert not progress.wait_for_room(5, timeout=0.05)
    timer = threading.Timer(0.05, progress.settle, args=(chunk, 1))
    timer.start()
    assert progress.wait_for_room(5, timeout=5)
    timer.join()
