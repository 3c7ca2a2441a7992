"""Kinesis Data Streams sink: PutRecords in batches within AWS limits, failed entries retried.

Each record's partition key is its station, so load spreads over shards and one station's
readings stay in one shard, in order. When PutRecords accepts a batch only partly, just the
failed entries are resent (with backoff) before the next batch goes out; a resent reading can
then sit behind a later reading of the same station in its shard (its Time is still right).
Nothing is dropped: a batch that cannot be delivered within the retry budget ends the run
with an error that says how many records were not delivered.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from simulator.errors import ConfigError, DeliveryError
from simulator.records import Reading, RecordEncoder, partition_key
from simulator.sinks.base import RetryPolicy, SinkStats, config_error_from

log = logging.getLogger("simulator")

MAX_RECORDS = 500  # PutRecords: records per call
MAX_BATCH_BYTES = 5 * 1024 * 1024  # PutRecords: data + partition keys per call
MAX_RECORD_BYTES = 1024 * 1024  # one record's data + partition key

# Whole-call errors worth retrying: throttling and transient service faults.
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "ThrottlingException",
        "KMSThrottlingException",
        "InternalFailure",
        "InternalFailureException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)

Entry = dict[str, Any]


class KinesisSink:
    name = "kinesis"

    def __init__(
        self,
        client,
        stream: str,
        retry: RetryPolicy | None = None,
        max_records: int = MAX_RECORDS,
        max_bytes: int = MAX_BATCH_BYTES,
    ) -> None:
        self._client = client
        self.stream = stream
        self._retry = retry or RetryPolicy()
        self._max_records = min(max_records, MAX_RECORDS)
        self._max_bytes = min(max_bytes, MAX_BATCH_BYTES)
        self._encoder = RecordEncoder()
        self._buffer: list[Entry] = []
        self._buffer_bytes = 0
        self.stats = SinkStats()
        self.batches = 0

    def check(self) -> None:
        """The stream must exist and be writable (ACTIVE or UPDATING)."""
        region = self._client.meta.region_name
        try:
            summary = self._client.describe_stream_summary(StreamName=self.stream)["StreamDescriptionSummary"]
        except (ClientError, BotoCoreError) as exc:
            raise config_error_from(
                exc,
                "Kinesis",
                self._client,
                f"Kinesis stream {self.stream!r} does not exist in {region} at {self._client.meta.endpoint_url}; "
                "create it or pass --stream",
            ) from None
        status = summary.get("StreamStatus")
        if status not in ("ACTIVE", "UPDATING"):
            raise ConfigError(
                f"Kinesis stream {self.stream!r} is {status}; wait until it is ACTIVE and start again"
            )

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def send(self, readings: Sequence[Reading]) -> None:
        for reading in readings:
            data = self._encoder.encode(reading).encode("utf-8")
            key = partition_key(reading.station)
            size = len(data) + len(key.encode("utf-8"))
            if size > MAX_RECORD_BYTES:
                raise DeliveryError(f"a record for {key} is {size} bytes, over Kinesis's 1 MB limit")
            if len(self._buffer) >= self._max_records or self._buffer_bytes + size > self._max_bytes:
                self.flush()
            self._buffer.append({"Data": data, "PartitionKey": key})
            self._buffer_bytes += size

    def flush(self) -> None:
        if not self._buffer:
            return
        self.put_all(self._buffer)
        self._buffer = []
        self._buffer_bytes = 0

    def close(self) -> None:
        self.flush()

    def put_all(self, entries: list[Entry]) -> None:
        """PutRecords until every entry is accepted: failed entries (only those) are resent with backoff."""
        started = self._retry.clock()
        attempt = 0
        remaining = entries
        while remaining:
            self.batches += 1
            try:
                response = self._client.put_records(StreamName=self.stream, Records=remaining)
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code = error.get("Code", "")
                if code not in RETRYABLE_CODES:
                    raise DeliveryError(
                        f"Kinesis refused a batch of {len(remaining)} records for stream {self.stream!r}: "
                        f"{code}: {error.get('Message', '')}"
                    ) from None
                self.stats.throttled += 1
                log.warning("Kinesis answered %s for %d records; backing off", code, len(remaining))
                self._retry.wait(
                    attempt, started, f"{len(remaining)} records not accepted by Kinesis ({code})"
                )
                attempt += 1
                continue
            except BotoCoreError as exc:
                log.warning("Kinesis call failed (%s); retrying %d records", exc, len(remaining))
                self._retry.wait(
                    attempt, started, f"{len(remaining)} records not delivered to Kinesis ({exc})"
                )
                attempt += 1
                continue
            failed = int(response.get("FailedRecordCount", 0))
            self.stats.sent += len(remaining) - failed
            if failed == 0:
                return
            results = response["Records"]
            retry = [
                entry for entry, result in zip(remaining, results, strict=True) if result.get("ErrorCode")
            ]
            codes = Counter(result["ErrorCode"] for result in results if result.get("ErrorCode"))
            summary = ", ".join(f"{code} x{count}" for code, count in codes.most_common())
            log.warning(
                "Kinesis did not accept %d of %d records (%s); resending them",
                failed,
                len(remaining),
                summary,
            )
            self.stats.retried += len(retry)
            remaining = retry
            self._retry.wait(
                attempt, started, f"{len(remaining)} records not accepted by Kinesis ({summary})"
            )
            attempt += 1
