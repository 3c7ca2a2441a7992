"""The forwarder's real lag: what the stream holds beyond the forwarder's stored checkpoints.

Read independently of the forwarder (it may be dead, or stuck): for every shard, the records after its
checkpoint (or the whole shard when it has none) are counted with GetRecords, and the oldest one's
arrival time gives the lag. The checkpoint trails the writes by a second or so (it is stored every
second, in steps of at most 500 records), so a healthy forwarder shows about that much.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHECKPOINTS = "forwarder-checkpoints.sqlite3"
GET_RECORDS_LIMIT = 10_000


@dataclass(frozen=True)
class Backlog:
    waiting: int  # records after the checkpoints (at least, when capped)
    capped: bool  # stopped counting at the cap
    oldest_arrival: float | None  # epoch seconds of the oldest record waiting
    shards: int  # open shards looked at

    def lag(self, now: float | None = None) -> float:
        if self.oldest_arrival is None:
            return 0.0
        return max(0.0, (time.time() if now is None else now) - self.oldest_arrival)


def read_checkpoints(
    checkpoint_dir: Path, stream: str, database: str, table: str
) -> dict[str, tuple[str, str]]:
    """shard -> (kind, position) as the forwarder stored them; empty when it never stored any."""
    path = Path(checkpoint_dir) / CHECKPOINTS
    if not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        rows = db.execute(
            "SELECT shard_id, kind, position FROM checkpoints"
            " WHERE stream = ? AND database_name = ? AND table_name = ?",
            (stream, database, table),
        ).fetchall()
    except sqlite3.Error:
        return {}
    finally:
        db.close()
    return {shard: (kind, position) for shard, kind, position in rows}


def _iterator(kinesis: Any, stream: str, shard_id: str, checkpoint: tuple[str, str] | None) -> str | None:
    request: dict[str, Any] = {"StreamName": stream, "ShardId": shard_id}
    if checkpoint is None:
        request["ShardIteratorType"] = "TRIM_HORIZON"
    elif checkpoint[0] == "SEQUENCE":
        request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=checkpoint[1])
    elif checkpoint[0] == "AT_TIMESTAMP":
        request.update(ShardIteratorType="AT_TIMESTAMP", Timestamp=float(checkpoint[1]))
    else:
        return None  # SHARD_END: finished
    return kinesis.get_shard_iterator(**request)["ShardIterator"]


def forwarder_backlog(
    kinesis: Any, stream: str, checkpoints: dict[str, tuple[str, str]], cap: int = 200_000
) -> Backlog:
    waiting, oldest, shards = 0, None, 0
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = _iterator(kinesis, stream, shard["ShardId"], checkpoints.get(shard["ShardId"]))
        if iterator is None:
            continue
        shards += 1
        while iterator and waiting < cap:
            answer = kinesis.get_records(ShardIterator=iterator, Limit=GET_RECORDS_LIMIT)
            records = answer.get("Records") or []
            if records:
                arrival = records[0]["ApproximateArrivalTimestamp"].timestamp()
                oldest = arrival if oldest is None else min(oldest, arrival)
                waiting += len(records)
            elif not answer.get("MillisBehindLatest"):
                break  # at the tip of the shard
            iterator = answer.get("NextShardIterator")
    return Backlog(waiting=min(waiting, cap), capped=waiting >= cap, oldest_arrival=oldest, shards=shards)
