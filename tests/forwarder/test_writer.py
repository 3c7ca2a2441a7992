"""WriteRecords outcomes, record by record: stored, duplicates, refused; retries; bisection."""

from __future__ import annotations

import json
import logging

from forwarder.awsjson import AwsError
from forwarder.backoff import Backoff
from forwarder.batcher import Entry, Item
from forwarder.records import parse_record
from forwarder.writer import TimestreamWriter, classify_rejections, is_identical_duplicate


def entry(n: int) -> Entry:
    data = json.dumps(
        {
            "location": f"s{n}",
            "MeasureName": "pm2.5",
            "MeasureValue": str(n),
            "MeasureValueType": "BIGINT",
            "Time": "1",
        }
    ).encode()
    reading = parse_record(data)
    return Entry(key=(n,), items=[Item(reading, data, "shard", str(n))], record=reading.to_record())


class ScriptedTimestream:
    """Answers WriteRecords from a script of outcomes; records what was sent."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.sent: list[list[str]] = []

    def call(self, operation: str, payload: dict) -> dict:
        assert operation == "WriteRecords"
        assert (payload["DatabaseName"], payload["TableName"]) == ("iot", "pm25")
        values = [record["MeasureValue"] for record in payload["Records"]]
        self.sent.append(values)
        answer = self.answers.pop(0) if self.answers else None
        if callable(answer):
            answer = answer(values)
        if isinstance(answer, AwsError):
            raise answer
        return {"RecordsIngested": {"Total": len(values)}}


def writer(client, sleeps: list[float] | None = None) -> TimestreamWriter:
    sleeps = [] if sleeps is None else sleeps
    return TimestreamWriter(client, "iot", "pm25", backoff=Backoff(base=0.1, cap=1.0), sleep=sleeps.append)


def rejected(*rows) -> AwsError:
    return AwsError(
        "RejectedRecordsException",
        "One or more records have been rejected.",
        419,
        {"RejectedRecords": list(rows)},
    )


def test_identical_duplicates_are_told_apart_from_conflicts():
    assert is_identical_duplicate(
        "The record is identical to a stored record (same measure value and version)."
    )
    assert is_identical_duplicate("A record with the same value already exists")
    assert not is_identical_duplicate(
        "A record with the same dimensions, time and measure name already exists with a different measure value"
    )
    assert not is_identical_duplicate("The record timestamp is outside the time range of the memory store.")
    assert not is_identical_duplicate("Records with the same dimensions exist with a higher version.")


def test_classify_rejections_names_every_record():
    entries = [entry(n) for n in range(4)]
    result = classify_rejections(
        entries,
        [
            {"RecordIndex": 1, "Reason": "A record with the same value already exists", "ExistingVersion": 1},
            {"RecordIndex": 3, "Reason": "different measure value", "ExistingVersion": 2},
            {"RecordIndex": 9, "Reason": "out of range index is ignored"},
        ],
    )
    assert result.stored == [entries[0], entries[2]]
    assert result.duplicates == [entries[1]]
    assert result.refused == [(entries[3], "different measure value (existing version 2)")]


def test_success_stores_everything_in_one_call():
    client = ScriptedTimestream(None)
    entries = [entry(n) for n in range(3)]
    result = writer(client).write(entries)
    assert result.stored == entries and not result.refused and not result.duplicates
    assert client.sent == [["0", "1", "2"]]


def test_after_rejections_the_records_that_succeeded_are_not_sent_again():
    client = ScriptedTimestream(rejected({"RecordIndex": 1, "Reason": "outside the memory store time range"}))
    entries = [entry(n) for n in range(3)]
    result = writer(client).write(entries)
    assert client.sent == [["0", "1", "2"]]
    assert result.stored == [entries[0], entries[2]]
    assert result.refused == [(entries[1], "outside the memory store time range")]


def test_throttling_and_network_errors_are_retried_with_growing_jittered_delays(caplog):
    throttled = AwsError("ThrottlingException", "Rate exceeded", 400)
    down = AwsError("NetworkError", "Could not connect to the endpoint URL")
    client = ScriptedTimestream(throttled, down, AwsError("InternalServerException", "oops", 500), None)
    sleeps: list[float] = []
    with caplog.at_level(logging.WARNING):
        result = writer(client, sleeps).write([entry(1)])
    assert len(result.stored) == 1
    assert client.sent == [["1"]] * 4
    assert 0.05 <= sleeps[0] <= 0.1 and 0.1 <= sleeps[1] <= 0.2 and 0.2 <= sleeps[2] <= 0.4
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings[0].startswith(
        "WriteRecords of 1 records failed (ThrottlingException: Rate exceeded); retrying in"
    )


def test_a_whole_batch_validation_error_is_narrowed_down_to_the_bad_record():
    def refuse_batches_with_7(values):
        if "7" in values:
            return AwsError("ValidationException", "Dimension value exceeds the limit", 400)
        return None

    client = ScriptedTimestream(*[refuse_batches_with_7] * 20)
    entries = [entry(n) for n in range(10)]
    result = writer(client).write(entries)
    assert [e.items[0].sequence_number for e in result.stored] == [str(n) for n in range(10) if n != 7]
    assert result.refused == [(entries[7], "ValidationException: Dimension value exceeds the limit")]
    assert sum(len(sent) for sent in client.sent if "7" not in sent) == 9  # each good record stored once
