"""Reading Kinesis: shard readiness under resharding (pure) and ShardReader against real kinesalite."""

from __future__ import annotations

import os
import threading

from forwarder.awsjson import AwsJsonClient, Endpoint
from forwarder.progress import Position
from forwarder.reader import KinesisApi, ShardReader, ready_shards
from tests.forwarder.helpers import create_stream, put, unique


def shard(shard_id: str, parent: str | None = None, adjacent: str | None = None) -> dict:
    entry = {"ShardId": shard_id}
    if parent:
        entry["ParentShardId"] = parent
    if adjacent:
        entry["AdjacentParentShardId"] = adjacent
    return entry


def test_children_wait_for_every_parent_to_be_finished():
    shards = [shard("p"), shard("q"), shard("c1", "p"), shard("c2", "p"), shard("m", "c1", "q")]
    assert ready_shards(shards, {}, set()) == ["p", "q"]
    assert ready_shards(shards, {"p": Position.after("5")}, {"q"}) == ["p"]
    done = {"p": Position.end()}
    assert ready_shards(shards, done, {"q"}) == ["c1", "c2"]
    assert ready_shards(shards, {**done, "c1": Position.end()}, {"q", "c2"}) == []  # q unfinished
    assert ready_shards(shards, {**done, "c1": Position.end(), "q": Position.end()}, {"c2"}) == ["m"]


def test_a_parent_gone_from_the_stream_does_not_block_its_children():
    assert ready_shards([shard("c", "expired-parent")], {}, set()) == ["c"]


def kinesis_api(kinesalite, stream: str) -> KinesisApi:
    import botocore.session

    credentials = botocore.session.get_session().get_credentials()
    assert credentials is not None and os.environ["AWS_ACCESS_KEY_ID"] == "local"
    client = AwsJsonClient(
        credentials=credentials,
        signing_name="kinesis",
        target_prefix="Kinesis_20131202",
        json_version="1.1",
        region="us-east-1",
        endpoint=Endpoint(kinesalite.url),
    )
    return KinesisApi(client, stream)


def read_all(api: KinesisApi, shard_id: str, start: Position | None, expect: int, limit: int = 7):
    got: list[tuple[bytes, str]] = []
    ended = threading.Event()
    stop = threading.Event()

    def handle(_shard, records):
        got.extend((data, seq) for data, seq, _arrival in records)
        if len(got) >= expect:
            stop.set()

    def on_end(_shard):
        ended.set()
        stop.set()

    reader = ShardReader(
        api, shard_id, start, handle=handle, on_end=on_end, on_lag=lambda *_: None,
        wait_for_room=lambda _timeout: True, stop=stop, limit=limit, idle_wait=0.05,
    )  # fmt: skip
    reader.start()
    stop.wait(20)
    stop.set()
    reader.join(10)
    return got, ended.is_set()


def test_a_shard_is_read_in_order_from_the_start_or_after_a_checkpoint(kinesalite, kinesis_client):
    stream = unique("reader")
    create_stream(kinesis_client, stream, 1)
    answers = put(kinesis_client, stream, [(f"record {n}", "key") for n in range(20)])
    api = kinesis_api(kinesalite, stream)
    (only,) = api.list_shards()
    got, ended = read_all(api, only["ShardId"], None, expect=20)
    assert [data for data, _ in got] == [f"record {n}".encode() for n in range(20)]
    assert [seq for _, seq in got] == [a["SequenceNumber"] for a in answers]
    assert not ended
    got, _ = read_all(api, only["ShardId"], Position.after(answers[14]["SequenceNumber"]), expect=5)
    assert [data for data, _ in got] == [f"record {n}".encode() for n in range(15, 20)]


def test_a_split_parent_is_read_to_its_end_and_reported_closed(kinesalite, kinesis_client):
    stream = unique("split")
    create_stream(kinesis_client, stream, 1)
    put(kinesis_client, stream, [(f"before {n}", f"k{n}") for n in range(10)])
    api = kinesis_api(kinesalite, stream)
    (parent,) = api.list_shards()
    kinesis_client.split_shard(
        StreamName=stream, ShardToSplit=parent["ShardId"], NewStartingHashKey=str(2**127)
    )
    kinesis_client.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.1})
    put(kinesis_client, stream, [(f"after {n}", f"k{n}") for n in range(10)])
    got, ended = read_all(api, parent["ShardId"], None, expect=10**6)
    assert ended
    assert [data for data, _ in got] == [f"before {n}".encode() for n in range(10)]
    shards = api.list_shards()
    children = [s["ShardId"] for s in shards if s.get("ParentShardId") == parent["ShardId"]]
    assert len(children) == 2
    assert ready_shards(shards, {parent["ShardId"]: Position.end()}, {parent["ShardId"]}) == sorted(children)
    after = []
    for child in children:
        got, _ = read_all(api, child, None, expect=1, limit=100)
        after += [data for data, _ in got]
    assert sorted(after) == sorted(f"after {n}".encode() for n in range(10))
