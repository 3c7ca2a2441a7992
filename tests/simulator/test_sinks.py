"""Sink logic with tiny fake clients: batching limits, retry of only the failed entries,
throttling backoff, giving up loudly, Timestream CommonAttributes and rejected records.
(The real services are exercised in the integration tests.)"""

from __future__ import annotations

import io
import json
import logging
import random

import pytest

from catalogue import Station, load_catalogue
from simulator.errors import DeliveryError
from simulator.records import Reading
from simulator.sinks import KinesisSink, RetryPolicy, StdoutSink, TimestreamSink
from simulator.sinks.stdout import OutputClosed
from tests.simulator.fakes import FakeClock, client_error

CATALOGUE = load_catalogue()


def readings(count: int, stations=CATALOGUE.stations) -> list[Reading]:
    """``count`` readings, cycling through stations tick by tick."""
    out = []
    for index in range(count):
        tick, position = divmod(index, len(stations))
        out.append(Reading(stations[position], 1_772_400_000_000 + tick * 1000, 10 + index % 90))
    return out


def policy(clock: FakeClock, give_up_after: float = 600.0) -> RetryPolicy:
    return RetryPolicy(
        base_delay=0.1,
        max_delay=2.0,
        give_up_after=give_up_after,
        sleep=clock.sleep,
        clock=clock.time,
        rng=random.Random(0),
    )


class FakeKinesis:
    """Accepts PutRecords; ``plan`` says, per call, which entry indexes fail or which error to raise."""

    def __init__(self, plan=()):
        self.plan = list(plan)
        self.calls: list[list[dict]] = []
        self.accepted: list[dict] = []

    def put_records(self, StreamName, Records):
        self.calls.append(list(Records))
        step = self.plan.pop(0) if self.plan else None
        if isinstance(step, Exception):
            raise step
        failing = set(step or ())
        results = []
        for index, entry in enumerate(Records):
            if index in failing:
                code = "ProvisionedThroughputExceededException" if index % 2 else "InternalFailure"
                results.append({"ErrorCode": code, "ErrorMessage": "Rate exceeded for shard"})
            else:
                self.accepted.append(entry)
                results.append({"SequenceNumber": str(len(self.accepted)), "ShardId": "shardId-000000000000"})
        return {"FailedRecordCount": len(failing), "Records": results}


def decoded(entries):
    return [(entry["PartitionKey"], json.loads(entry["Data"])) for entry in entries]


def expected(batch):
    return [
        (
            f"{r.station.city}/{r.station.name}",
            {
                "city": r.station.city,
                "location": r.station.name,
                "MeasureName": "pm2.5",
                "MeasureValue": str(r.value),
                "MeasureValueType": "BIGINT",
                "Time": str(r.time_ms),
            },
        )
        for r in batch
    ]


def test_kinesis_batches_hold_at_most_500_records():
    client = FakeKinesis()
    sink = KinesisSink(client, "s", policy(FakeClock(0)))
    batch = readings(1234)
    sink.send(batch)
    assert [len(call) for call in client.calls] == [500, 500]
    assert sink.pending == 234
    sink.flush()
    assert [len(call) for call in client.calls] == [500, 500, 234]
    assert decoded(client.accepted) == expected(batch)
    assert sink.stats.sent == 1234


def test_kinesis_batches_respect_the_byte_limit():
    client = FakeKinesis()
    sink = KinesisSink(client, "s", policy(FakeClock(0)), max_bytes=3000)
    batch = readings(100)
    sink.send(batch)
    sink.flush()
    sizes = [sum(len(e["Data"]) + len(e["PartitionKey"].encode()) for e in call) for call in client.calls]
    assert max(sizes) <= 3000
    assert len(client.calls) > 1
    assert decoded(client.accepted) == expected(batch)


def test_kinesis_resends_only_the_failed_entries_until_all_are_accepted():
    clock = FakeClock(0)
    client = FakeKinesis(plan=[{1, 4, 7, 8}, {0, 2}, set()])
    sink = KinesisSink(client, "s", policy(clock))
    batch = readings(10)
    sink.send(batch)
    sink.flush()
    first, second, third = client.calls
    assert len(first) == 10
    assert second == [first[i] for i in (1, 4, 7, 8)]
    assert third == [second[i] for i in (0, 2)]
    # Every record accepted exactly once, none lost, none duplicated.
    assert sorted(decoded(client.accepted), key=str) == sorted(expected(batch), key=str)
    assert sink.stats.sent == 10
    assert sink.stats.retried == 4 + 2
    assert sink.pending == 0
    # Exponential backoff between attempts: 2nd delay from a higher band than the 1st.
    assert len(clock.waits) == 2
    assert 0.05 <= clock.waits[0] <= 0.1
    assert 0.1 <= clock.waits[1] <= 0.2


def test_kinesis_throttled_call_backs_off_and_retries_the_whole_batch():
    clock = FakeClock(0)
    throttled = client_error("ProvisionedThroughputExceededException", "Rate exceeded")
    client = FakeKinesis(plan=[throttled, throttled, throttled, set()])
    sink = KinesisSink(client, "s", policy(clock))
    batch = readings(50)
    sink.send(batch)
    sink.flush()
    assert [len(call) for call in client.calls] == [50, 50, 50, 50]
    assert decoded(client.accepted) == expected(batch)
    assert sink.stats.throttled == 3
    assert clock.waits == sorted(clock.waits)
    assert clock.waits[-1] > clock.waits[0]


def test_retry_delays_double_up_to_the_cap():
    retry = RetryPolicy(base_delay=0.1, max_delay=2.0, rng=random.Random(1))
    for attempt, ceiling in enumerate([0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0]):
        delay = retry.delay(attempt)
        assert ceiling / 2 <= delay <= ceiling


def test_kinesis_gives_up_loudly_after_the_time_budget():
    clock = FakeClock(0)
    throttled = client_error("ProvisionedThroughputExceededException", "Rate exceeded")
    client = FakeKinesis(plan=[throttled] * 1000)
    sink = KinesisSink(client, "s", policy(clock, give_up_after=30))
    sink.send(readings(20))
    with pytest.raises(DeliveryError, match=r"gave up after 30 s .*20 records not accepted by Kinesis"):
        sink.flush()
    assert sink.pending == 20  # still counted as undelivered, not silently dropped
    assert 30 <= clock.now < 35


def test_kinesis_non_retryable_error_is_reported():
    client = FakeKinesis(
        plan=[client_error("ResourceNotFoundException", "Stream s under account x not found.")]
    )
    sink = KinesisSink(client, "s", policy(FakeClock(0)))
    sink.send(readings(3))
    with pytest.raises(DeliveryError, match="ResourceNotFoundException: Stream s under account x not found"):
        sink.flush()


class FakeTimestream:
    def __init__(self, plan=()):
        self.plan = list(plan)
        self.calls: list[dict] = []

    def write_records(self, DatabaseName, TableName, CommonAttributes, Records):
        self.calls.append({"common": CommonAttributes, "records": Records})
        step = self.plan.pop(0) if self.plan else None
        if isinstance(step, Exception):
            raise step
        return {"RecordsIngested": {"Total": len(Records)}}


def flatten(call):
    """Each record of a WriteRecords call as (city, location, name, type, value, time)."""
    out = []
    for record in call["records"]:
        merged = {**call["common"], **record}
        dims = {d["Name"]: d["Value"] for d in merged["Dimensions"]}
        assert merged["TimeUnit"] == "MILLISECONDS"
        out.append(
            (
                dims["city"],
                dims["location"],
                merged["MeasureName"],
                merged["MeasureValueType"],
                merged["MeasureValue"],
                merged["Time"],
            )
        )
    return out


def test_timestream_batches_of_at_most_100_with_common_attributes():
    client = FakeTimestream()
    sink = TimestreamSink(client, "iot", "pm25", policy(FakeClock(0)))
    stations = CATALOGUE.city("Beijing").stations[:3]
    batch = readings(3 * 250 + 7, stations)
    sink.send(batch)
    sink.close()
    assert all(len(call["records"]) <= 100 for call in client.calls)
    # Full per-station batches share the station's dimensions in CommonAttributes.
    per_station = [call for call in client.calls if "Dimensions" in call["common"]]
    assert len(per_station) == 6
    for call in per_station:
        assert all("Dimensions" not in record for record in call["records"])
        assert len(call["records"]) == 100
    written = [row for call in client.calls for row in flatten(call)]
    assert sorted(written) == sorted(
        (r.station.city, r.station.name, "pm2.5", "BIGINT", str(r.value), str(r.time_ms)) for r in batch
    )
    assert sink.stats.sent == len(batch)


def test_timestream_reports_rejected_records_with_their_reason(tmp_path, caplog):
    reason = "A record with the same dimensions and time already exists with a different measure value."
    rejected = client_error(
        "RejectedRecordsException",
        "One or more records have been rejected. See RejectedRecords for details.",
        "WriteRecords",
        RejectedRecords=[
            {"RecordIndex": 2, "Reason": reason, "ExistingVersion": 1},
            {"RecordIndex": 5, "Reason": reason},
        ],
    )
    client = FakeTimestream(plan=[rejected])
    rejected_file = tmp_path / "rejected.jsonl"
    sink = TimestreamSink(client, "iot", "pm25", policy(FakeClock(0)), rejected_file=rejected_file)
    batch = readings(10)
    with caplog.at_level(logging.WARNING, logger="simulator"):
        sink.send(batch)
        sink.close()
    assert sink.stats.rejected == 2
    assert sink.stats.sent == 8
    assert sink.stats.rejected_reasons == {reason: 2}
    assert "Timestream rejected 2 records" in caplog.text and reason in caplog.text
    lines = [json.loads(line) for line in rejected_file.read_text().splitlines()]
    assert [line["reason"] for line in lines] == [reason, reason]
    assert [line["record"]["Time"] for line in lines] == [str(batch[2].time_ms), str(batch[5].time_ms)]
    assert lines[0]["existing_version"] == 1


def test_timestream_rejections_are_summarised_not_logged_per_batch(caplog):
    def too_old(count):
        return client_error(
            "RejectedRecordsException",
            "One or more records have been rejected.",
            "WriteRecords",
            RejectedRecords=[
                {
                    "RecordIndex": i,
                    "Reason": f"The record timestamp 2026-11-26 02:48:{i:02d}.000 is outside the time range",
                }
                for i in range(count)
            ],
        )

    clock = FakeClock(0)
    client = FakeTimestream(plan=[too_old(100)] * 5 + [too_old(50)])
    sink = TimestreamSink(client, "iot", "pm25", policy(clock))
    station = CATALOGUE.city("Sanya").stations[0]
    with caplog.at_level(logging.WARNING, logger="simulator"):
        sink.send(readings(500, [station]))  # five full batches, all rejected, within one second
        clock.sleep(6)
        sink.send(readings(50, [station]))
        sink.close()
    warnings = [r.getMessage() for r in caplog.records if "Timestream rejected" in r.getMessage()]
    assert len(warnings) == 2
    assert warnings[0].startswith("Timestream rejected 100 records, e.g. Sanya/")
    assert warnings[1].startswith("Timestream rejected 450 records in the last 6 s")
    assert sink.stats.rejected == 550
    assert sink.stats.sent == 0
    # Reasons that differ only in their numbers count as one kind.
    assert sink.stats.rejected_reasons == {"The record timestamp # is outside the time range": 550}


def test_timestream_throttling_is_retried():
    clock = FakeClock(0)
    client = FakeTimestream(plan=[client_error("ThrottlingException", "slow down", "WriteRecords")])
    sink = TimestreamSink(client, "iot", "pm25", policy(clock))
    sink.send(readings(5))
    sink.close()
    assert len(client.calls) == 2
    assert sink.stats.sent == 5
    assert sink.stats.throttled == 1
    assert len(clock.waits) == 1


def test_stdout_writes_one_json_record_per_line_and_reports_a_closed_pipe():
    out = io.BytesIO()
    sink = StdoutSink(out, buffer_lines=10)
    batch = readings(25, [Station("Beijing", "dongsi", 38)])
    sink.send(batch)
    sink.close()
    lines = out.getvalue().decode().splitlines()
    assert [json.loads(line) for line in lines] == [record for _, record in expected(batch)]

    class ClosedPipe(io.RawIOBase):
        def write(self, data):
            raise BrokenPipeError

    closed = StdoutSink(ClosedPipe())
    closed.send(batch)
    with pytest.raises(OutputClosed):
        closed.flush()
