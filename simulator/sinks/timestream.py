"""Timestream sink: WriteRecords in batches of <= 100 with CommonAttributes; rejections reported."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from catalogue import Station
from simulator.errors import DeliveryError
from simulator.records import MEASURE_NAME, MEASURE_VALUE_TYPE, Reading, partition_key, record_dict
from simulator.sinks.base import RetryPolicy, SinkStats, config_error_from

log = logging.getLogger("simulator")

MAX_RECORDS = 100  # WriteRecords: records per call
WARN_EVERY = 5.0  # seconds between two warnings about rejected records
RETRYABLE_CODES = frozenset({"ThrottlingException", "InternalServerException", "ServiceUnavailable"})
SHARED = {"MeasureName": MEASURE_NAME, "MeasureValueType": MEASURE_VALUE_TYPE, "TimeUnit": "MILLISECONDS"}


def iso_time(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def dimensions(reading: Reading) -> list[dict[str, str]]:
    return [
        {"Name": "city", "Value": reading.station.city, "DimensionValueType": "VARCHAR"},
        {"Name": "location", "Value": reading.station.name, "DimensionValueType": "VARCHAR"},
    ]


class TimestreamSink:
    """Buffers per station; a station's full batch of 100 shares its dimensions in CommonAttributes,
    leftovers (live mode: one reading per station per tick) go in mixed batches with per-record dimensions."""

    name = "timestream"

    def __init__(
        self,
        client,
        database: str,
        table: str,
        retry: RetryPolicy | None = None,
        rejected_file: Path | None = None,
    ) -> None:
        self._client = client
        self.database = database
        self.table = table
        self._retry = retry or RetryPolicy()
        self._per_station: dict[Station, list[Reading]] = {}
        self._pending = 0
        self._rejected_path = rejected_file
        self._rejected_out: TextIO | None = None
        self.stats = SinkStats()
        self.batches = 0
        self._last_warning = float("-inf")
        self._unreported = 0

    def check(self) -> None:
        try:
            self._client.describe_table(DatabaseName=self.database, TableName=self.table)
        except (ClientError, BotoCoreError) as exc:
            raise config_error_from(
                exc,
                "Timestream",
                self._client,
                f"Timestream table {self.database}.{self.table} does not exist at {self._client.meta.endpoint_url}; "
                "create it or pass --database/--table",
            ) from None

    @property
    def pending(self) -> int:
        return self._pending

    def send(self, readings: Sequence[Reading]) -> None:
        for reading in readings:
            buffer = self._per_station.setdefault(reading.station, [])
            buffer.append(reading)
            self._pending += 1
            if len(buffer) >= MAX_RECORDS:
                self._write_station(buffer)
                self._pending -= len(buffer)
                buffer.clear()

    def flush(self) -> None:
        leftovers = [reading for buffer in self._per_station.values() for reading in buffer]
        leftovers.sort(key=lambda reading: reading.time_ms)
        self._per_station.clear()
        for start in range(0, len(leftovers), MAX_RECORDS):
            batch = leftovers[start : start + MAX_RECORDS]
            records = [
                {"Dimensions": dimensions(r), "MeasureValue": str(r.value), "Time": str(r.time_ms)}
                for r in batch
            ]
            self._write(batch, SHARED, records)
            self._pending -= len(batch)

    def close(self) -> None:
        self.flush()
        if self._rejected_out is not None:
            self._rejected_out.close()
            self._rejected_out = None

    def _write_station(self, batch: list[Reading]) -> None:
        common = {**SHARED, "Dimensions": dimensions(batch[0])}
        records = [{"MeasureValue": str(r.value), "Time": str(r.time_ms)} for r in batch]
        self._write(batch, common, records)

    def _write(self, batch: list[Reading], common: dict[str, Any], records: list[dict[str, Any]]) -> None:
        started = self._retry.clock()
        attempt = 0
        while True:
            self.batches += 1
            try:
                self._client.write_records(
                    DatabaseName=self.database, TableName=self.table, CommonAttributes=common, Records=records
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                message = exc.response.get("Error", {}).get("Message", "") or str(exc)
                if code == "RejectedRecordsException":
                    rejected = exc.response.get("RejectedRecords") or [
                        {"RecordIndex": i, "Reason": message} for i in range(len(batch))
                    ]
                    self._rejected(batch, rejected)
                    return
                if code == "ValidationException":
                    self._rejected(batch, [{"RecordIndex": i, "Reason": message} for i in range(len(batch))])
                    return
                if code not in RETRYABLE_CODES:
                    raise DeliveryError(
                        f"Timestream refused a batch of {len(batch)} records for {self.database}.{self.table}: "
                        f"{code}: {message}"
                    ) from None
                self.stats.throttled += 1
                log.warning("Timestream answered %s for %d records; backing off", code, len(batch))
                self._retry.wait(
                    attempt, started, f"{len(batch)} records not accepted by Timestream ({code})"
                )
            except BotoCoreError as exc:
                log.warning("Timestream call failed (%s); retrying %d records", exc, len(batch))
                self._retry.wait(
                    attempt, started, f"{len(batch)} records not delivered to Timestream ({exc})"
                )
            else:
                self.stats.sent += len(batch)
                return
            attempt += 1

    def _rejected(self, batch: list[Reading], rejected: list[dict[str, Any]]) -> None:
        """Count and report rejected records (the rest of the batch was written)."""
        seen: set[int] = set()
        for item in rejected:
            index = int(item.get("RecordIndex", -1))
            if not 0 <= index < len(batch) or index in seen:
                continue
            seen.add(index)
            reason = str(item.get("Reason", "no reason given"))
            reading = batch[index]
            self.stats.add_rejected(reason)
            if self._rejected_path is not None:
                if self._rejected_out is None:
                    self._rejected_out = self._rejected_path.open("a", encoding="utf-8")
                line = {"record": record_dict(reading), "reason": reason}
                if "ExistingVersion" in item:
                    line["existing_version"] = item["ExistingVersion"]
                self._rejected_out.write(json.dumps(line) + "\n")
        self.stats.sent += len(batch) - len(seen)
        self._unreported += len(seen)
        moment = self._retry.clock()
        if seen and moment - self._last_warning >= WARN_EVERY:
            # One line now and then, not one per batch: a backfill beyond the retention window
            # would otherwise print thousands. The run's final summary counts every reason.
            first = batch[min(seen)]
            log.warning(
                "Timestream rejected %s records%s, e.g. %s at %s: %s",
                f"{self._unreported:,}",
                ""
                if self._last_warning == float("-inf")
                else f" in the last {moment - self._last_warning:.0f} s",
                partition_key(first.station),
                iso_time(first.time_ms),
                rejected[0].get("Reason", "no reason given"),
            )
            self._last_warning = moment
            self._unreported = 0
