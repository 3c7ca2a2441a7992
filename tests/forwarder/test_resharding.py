"""Resharding while the forwarder runs: a split, then a merge; every record delivered, parents first.

The order per key shows in Timestream through conflicts: each generation of shards carries a
different value for the same few points (same station, same time). Timestream keeps the first
value written and rejects later different ones, so the stored value must be the parent's and the
children's values must be in the dead-letter file, although the children's copies come first in
their shards and the parent is still being drained when they arrive.
"""

from __future__ import annotations

import signal
import time

from tests.forwarder.helpers import (
    checkpoints,
    create_stream,
    create_table,
    dead_letters,
    forwarder_command,
    put,
    query,
    reading,
    scalar,
    start_forwarder,
    stop,
    unique,
    wait_until,
)

CONFLICTS = 5


def wait_active(kinesis, stream: str) -> None:
    wait_until(
        lambda: (
            kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamStatus"]
            == "ACTIVE"
        ),
        30,
        "the stream to be ACTIVE",
        0.05,
    )


def test_split_and_merge_mid_stream_deliver_everything_parents_before_children(
    kinesalite, timestream_local, kinesis_client, timestream_write, timestream_query, tmp_path
):
    stream, table = unique("reshard"), unique("pm25").replace("-", "_")
    create_stream(kinesis_client, stream, 1)
    create_table(timestream_write, table)
    base = (int(time.time()) - 3600) * 1000
    conflict_time = base - 60_000

    def generation(number: int) -> list[tuple[dict, str]]:
        return [
            (reading(f"st-{s}", base + (number * 100 + t) * 1000, number * 1000 + s * 10 + t), f"st-{s}")
            for t in range(100)
            for s in range(30)
        ]

    def conflicts(value: int) -> list[tuple[dict, str]]:
        return [(reading(f"conf-{k}", conflict_time, value), f"conf-{k}") for k in range(CONFLICTS)]

    put(kinesis_client, stream, generation(0) + conflicts(1))  # the parent's values come last
    state = tmp_path / "state"
    argv = forwarder_command(stream, table, kinesalite, timestream_local, state, "--max-pending", "300")
    process = start_forwarder(argv, tmp_path / "forwarder.log")
    try:
        (parent,) = kinesis_client.list_shards(StreamName=stream)["Shards"]
        kinesis_client.split_shard(
            StreamName=stream, ShardToSplit=parent["ShardId"], NewStartingHashKey=str(2**127)
        )
        wait_active(kinesis_client, stream)
        children = [
            s for s in kinesis_client.list_shards(StreamName=stream)["Shards"] if s.get("ParentShardId")
        ]
        assert len(children) == 2
        put(kinesis_client, stream, conflicts(2) + generation(1))  # the children's values come first
        kinesis_client.merge_shards(
            StreamName=stream,
            ShardToMerge=children[0]["ShardId"],
            AdjacentShardToMerge=children[1]["ShardId"],
        )
        wait_active(kinesis_client, stream)
        put(kinesis_client, stream, conflicts(3) + generation(2))
        shards = kinesis_client.list_shards(StreamName=stream)["Shards"]
        (merged,) = [s for s in shards if s.get("AdjacentParentShardId")]

        expected = 3 * 3000 + CONFLICTS
        sql = f'SELECT COUNT(*) FROM "iot"."{table}"'
        wait_until(lambda: scalar(timestream_query, sql) == str(expected), 90, f"{expected} records")
        wait_until(
            lambda: len(dead_letters(state / "dead-letter.jsonl")) >= 2 * CONFLICTS, 30, "dead letters"
        )
    finally:
        code = stop(process, signal.SIGTERM)
    log = (tmp_path / "forwarder.log").read_text()
    assert code == 0, log

    stored = query(
        timestream_query, f'SELECT location, measure_value::bigint FROM "iot"."{table}" ORDER BY location'
    )
    conflict_rows = [row for row in stored if row[0].startswith("conf-")]
    assert conflict_rows == [
        [f"conf-{k}", "1"] for k in range(CONFLICTS)
    ]  # the parent's value won everywhere
    total = scalar(
        timestream_query,
        f'SELECT SUM(measure_value::bigint) FROM "iot"."{table}" WHERE location LIKE \'st-%\'',
    )
    assert int(total) == sum(n * 1000 + s * 10 + t for n in range(3) for t in range(100) for s in range(30))

    letters = dead_letters(state / "dead-letter.jsonl")
    assert sorted((d["record"].split('"MeasureValue":"')[1][0], d["shard_id"]) for d in letters) == sorted(
        [("2", child["ShardId"]) for child in children for _k in range(CONFLICTS) if _belongs(child, _k)]
        + [("3", merged["ShardId"])] * CONFLICTS
    )
    assert all("different measure value" in d["reason"] for d in letters)

    assert checkpoints(state) == {
        parent["ShardId"]: ("SHARD_END", ""),
        children[0]["ShardId"]: ("SHARD_END", ""),
        children[1]["ShardId"]: ("SHARD_END", ""),
        merged["ShardId"]: checkpoints(state)[merged["ShardId"]],
    }
    assert checkpoints(state)[merged["ShardId"]][0] == "SEQUENCE"
    assert f"shard {parent['ShardId']} is closed (resharding)" in log


def _belongs(child: dict, key: int) -> bool:
    """Whether conf-<key>'s partition key hashes into this child's range (MD5, as Kinesis does)."""
    import hashlib

    digest = int(hashlib.md5(f"conf-{key}".encode()).hexdigest(), 16)  # noqa: S324 - Kinesis's hash
    low, high = (int(child["HashKeyRange"][edge]) for edge in ("StartingHashKey", "EndingHashKey"))
    return low <= digest <= high
