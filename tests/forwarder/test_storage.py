"""Checkpoint store (SQLite) and dead-letter file: durable, idempotent across restarts."""

from __future__ import annotations

import json

import pytest

from forwarder.backoff import Backoff, Retrying
from forwarder.checkpoint import CheckpointError, CheckpointStore
from forwarder.deadletter import DeadLetterFile
from forwarder.progress import Position


def test_checkpoints_survive_a_reopen_and_are_kept_per_stream_and_table(tmp_path):
    store = CheckpointStore(tmp_path, "stream", "iot", "pm25")
    assert store.check_stream("1700000000.0")
    store.save({"s0": Position.after("123"), "s1": Position.end()})
    store.save({"s0": Position.after("456")})
    store.close()
    again = CheckpointStore(tmp_path, "stream", "iot", "pm25")
    assert again.check_stream("1700000000.0")
    assert again.load() == {"s0": Position.after("456"), "s1": Position.end()}
    assert CheckpointStore(tmp_path, "stream", "iot", "other").load() == {}


def test_a_recreated_stream_drops_the_old_checkpoints(tmp_path):
    store = CheckpointStore(tmp_path, "stream", "iot", "pm25")
    store.check_stream("1")
    store.save({"s0": Position.after("123")})
    assert not store.check_stream("2")
    assert store.load() == {}


def test_a_checkpoint_folder_that_is_a_file_is_refused_clearly(tmp_path):
    target = tmp_path / "taken"
    target.write_text("x")
    with pytest.raises(CheckpointError, match=r"^cannot keep checkpoints in .*taken: "):
        CheckpointStore(target, "stream", "iot", "pm25")


def test_dead_letter_lines_hold_record_reason_shard_and_sequence(tmp_path):
    path = tmp_path / "dl.jsonl"
    dead = DeadLetterFile(path)
    assert dead.write(
        data=b"not json", reason="not valid JSON", stream="st", shard_id="s0", sequence_number="7"
    )
    assert dead.write(data=b"\xff", reason="not UTF-8 text", stream="st", shard_id="s0", sequence_number="8")
    dead.close()
    first, second = (json.loads(line) for line in path.read_text().splitlines())
    assert {k: v for k, v in first.items() if k != "dead_lettered_at"} == {
        "record": "not json",
        "reason": "not valid JSON",
        "stream": "st",
        "shard_id": "s0",
        "sequence_number": "7",
    }
    assert first["dead_lettered_at"].endswith("Z")
    assert second["record_base64"] == "/w=="


def test_a_record_already_dead_lettered_is_not_written_twice_after_a_restart(tmp_path):
    path = tmp_path / "dl.jsonl"
    dead = DeadLetterFile(path)
    dead.write(data=b"x", reason="r", stream="st", shard_id="s0", sequence_number="7")
    dead.close()
    again = DeadLetterFile(path)
    assert ("s0", "7") in again
    assert not again.write(data=b"x", reason="r", stream="st", shard_id="s0", sequence_number="7")
    assert again.write(data=b"x", reason="r", stream="st", shard_id="s1", sequence_number="7")
    again.close()
    assert len(path.read_text().splitlines()) == 2


def test_a_line_torn_by_a_crash_is_cut_off_and_the_record_written_again(tmp_path):
    path = tmp_path / "dl.jsonl"
    whole = json.dumps({"record": "a", "reason": "r", "shard_id": "s0", "sequence_number": "1"})
    path.write_text(whole + "\n" + '{"record": "b", "reason": "r", "sha')
    dead = DeadLetterFile(path)
    assert ("s0", "1") in dead
    assert dead.write(data=b"b", reason="r", stream="st", shard_id="s0", sequence_number="2")
    dead.close()
    lines = path.read_text().splitlines()
    assert lines[0] == whole
    assert [json.loads(line)["sequence_number"] for line in lines] == ["1", "2"]


def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half():
    backoff = Backoff(base=0.1, cap=2.0)
    for attempt, ceiling in [(1, 0.1), (2, 0.2), (3, 0.4), (5, 1.6), (6, 2.0), (50, 2.0), (5000, 2.0)]:
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
        assert max(delays) - min(delays) > ceiling / 10  # really jittered


def test_retrying_warns_at_first_then_at_most_every_interval():
    now = [0.0]
    retrying = Retrying(backoff=Backoff(), warn_every=10.0, clock=lambda: now[0])
    warnings = []
    for _ in range(25):
        warnings.append(retrying.failed()[1])
        now[0] += 1.0
    assert [n for n, warned in enumerate(warnings) if warned] == [0, 10, 20]
    assert retrying.failing_for == 25.0
