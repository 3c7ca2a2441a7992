"""Reading a Kinesis stream: every shard, from its checkpoint, following resharding.

* ``KinesisApi``: the few Kinesis calls the forwarder makes.
* ``ready_shards``: which shards may be read now. A shard created by a split or a merge waits
  until every parent still in the stream is finished (its end checkpointed), so each key's older
  records are written before its newer ones.
* ``ShardReader``: one thread per shard, GetRecords in a loop; hands each non-empty answer to the
  runner, waits when too many records are still unwritten (back-pressure), renews expired
  iterators from the last record read, retries throttling and network errors with backoff, and
  reports the shard's end.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from forwarder.awsjson import AwsError, AwsJsonClient
from forwarder.backoff import Backoff, Retrying
from forwarder.progress import Position

log = logging.getLogger(__name__)

MAX_GET_RECORDS = 10_000  # Kinesis limit per GetRecords


class KinesisApi:
    def __init__(self, client: AwsJsonClient, stream: str) -> None:
        self.client = client
        self.stream = stream

    def describe(self) -> dict[str, Any]:
        answer = self.client.call("DescribeStreamSummary", {"StreamName": self.stream})
        return answer.get("StreamDescriptionSummary") or {}

    def list_shards(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        request: dict[str, Any] = {"StreamName": self.stream}
        while True:
            answer = self.client.call("ListShards", request)
            shards += answer.get("Shards") or []
            token = answer.get("NextToken")
            if not token:
                return shards
            request = {"NextToken": token}

    def shard_iterator(self, shard_id: str, position: Position | None) -> str:
        request: dict[str, Any] = {"StreamName": self.stream, "ShardId": shard_id}
        if position is None:
            request["ShardIteratorType"] = "TRIM_HORIZON"
        elif position.kind == Position.SEQUENCE:
            request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=position.value)
        elif position.kind == Position.AT_TIMESTAMP:
            request.update(ShardIteratorType="AT_TIMESTAMP", Timestamp=float(position.value))
        else:
            raise ValueError(f"no iterator for a finished shard ({shard_id})")
        return str(self.client.call("GetShardIterator", request)["ShardIterator"])

    def get_records(self, iterator: str, limit: int) -> dict[str, Any]:
        return self.client.call("GetRecords", {"ShardIterator": iterator, "Limit": limit})


def ready_shards(
    shards: Iterable[dict[str, Any]], checkpoints: dict[str, Position], started: set[str]
) -> list[str]:
    """Shards to start now: not started, not finished, and every listed parent finished."""
    listed = {shard["ShardId"] for shard in shards}
    ready = []
    for shard in shards:
        shard_id = shard["ShardId"]
        position = checkpoints.get(shard_id)
        if shard_id in started or (position is not None and position.finished):
            continue
        parents = [shard.get("ParentShardId"), shard.get("AdjacentParentShardId")]
        if all(
            parent is None
            or parent not in listed
            or (checkpoints.get(parent) is not None and checkpoints[parent].finished)
            for parent in parents
        ):
            ready.append(shard_id)
    return sorted(ready)


def decode_records(records: list[dict[str, Any]]) -> list[tuple[bytes, str, float | None]]:
    """(data, sequence number, arrival time) for each record of a GetRecords answer."""
    return [
        (
            base64.b64decode(record["Data"]),
            record["SequenceNumber"],
            record.get("ApproximateArrivalTimestamp"),
        )
        for record in records
    ]


class ShardReader(threading.Thread):
    def __init__(
        self,
        api: KinesisApi,
        shard_id: str,
        start: Position | None,
        *,
        handle: Callable[[str, list[tuple[bytes, str, float | None]]], None],
        on_end: Callable[[str], None],
        on_lag: Callable[[str, float], None],
        wait_for_room: Callable[[float], bool],
        stop: threading.Event,
        limit: int = MAX_GET_RECORDS,
        idle_wait: float = 0.25,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(name=f"reader-{shard_id}", daemon=True)
        self.api = api
        self.shard_id = shard_id
        self.start_position = start
        self._handle = handle
        self._on_end = on_end
        self._on_lag = on_lag
        self._wait_for_room = wait_for_room
        self._stopping = stop
        self._limit = limit
        self._idle_wait = idle_wait
        self._backoff = backoff or Backoff(base=0.2, cap=10.0)
        self.last_sequence: str | None = None
        self.ended = False

    def _position(self) -> Position | None:
        return Position.after(self.last_sequence) if self.last_sequence else self.start_position

    def _iterator(self) -> str:
        position = self._position()
        try:
            return self.api.shard_iterator(self.shard_id, position)
        except AwsError as error:
            if error.code != "InvalidArgumentException" or position is None:
                raise
            log.error(
                "shard %s: position %s %s is not valid in this stream (%s); reading the shard from its start",
                self.shard_id,
                position.kind,
                position.value,
                error.message,
            )
            self.start_position, self.last_sequence = None, None
            return self.api.shard_iterator(self.shard_id, None)

    def run(self) -> None:
        iterator: str | None = None
        retrying: Retrying | None = None
        while not self._stopping.is_set():
            if not self._wait_for_room(0.5):
                continue
            try:
                if iterator is None:
                    iterator = self._iterator()
                answer = self.api.get_records(iterator, self._limit)
            except AwsError as error:
                if error.code == "ExpiredIteratorException":
                    iterator = None
                    continue
                retrying = retrying or Retrying(backoff=self._backoff)
                delay, warn = retrying.failed()
                if error.code in ("ResourceNotFoundException", "InvalidArgumentException"):
                    iterator = None
                if warn:
                    log.warning(
                        "shard %s: reading failed (%s)%s; retrying in %.1f s",
                        self.shard_id,
                        error,
                        f", failing for {retrying.failing_for:.0f} s" if retrying.attempts > 1 else "",
                        delay,
                    )
                self._stopping.wait(delay)
                continue
            if retrying is not None:
                log.info("shard %s: reading again after %d failed attempts", self.shard_id, retrying.attempts)
                retrying = None
            records = answer.get("Records") or []
            lag = float(answer.get("MillisBehindLatest") or 0)
            if records:
                decoded = decode_records(records)
                self._handle(self.shard_id, decoded)
                self.last_sequence = decoded[-1][1]
                arrival = decoded[-1][2]
                if arrival is not None:  # kinesalite always reports 0 ms behind; the age is a floor
                    lag = max(lag, (time.time() - float(arrival)) * 1000)
            self._on_lag(self.shard_id, lag)
            iterator = answer.get("NextShardIterator")
            if iterator is None:
                self.ended = True
                self._on_lag(self.shard_id, 0.0)
                self._on_end(self.shard_id)
                return
            if len(records) < self._limit and not answer.get("MillisBehindLatest"):
                self._stopping.wait(self._idle_wait)  # at the tip: Kinesis allows 5 reads/s per shard
