"""WriteRecords outcomes, record by record: stored, duplicates, refused; retries; bisection."""

from __future__ import annotations

import json
import logging

from forwarder.awsjson import AwsError
from forwarder.backoff import Backoff
from forwarder.batcher import Entry, Item
from forwarder.records import parse_record
from forwarder.writer import (
    StoreHealth,
    TimestreamWriter,
    classify_rejections,
    is_identical_duplicate,
    is_server_error,
)


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


def writer(client, sleeps: list[float] | None = None, health: StoreHealth | None = None) -> TimestreamWriter:
    sleeps = [] if sleeps is None else sleeps
    return TimestreamWriter(
        client, "iot", "pm25", backoff=Backoff(base=0.1, cap=1.0), sleep=sleeps.append, health=health
    )


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
    slow_down = AwsError("SlowDown", "Please reduce your request rate", 503)  # a 5xx, but a rate limit
    client = ScriptedTimestream(throttled, down, slow_down, None)
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


def server_error(message: str = "Internal server error") -> AwsError:
    return AwsError("InternalServerException", message, 500)


def test_which_failures_may_be_a_records_fault():
    assert is_server_error(server_error())
    assert is_server_error(AwsError("HTTP502", "Bad Gateway", 502))
    assert is_server_error(AwsError("NetworkError", "Read timeout on endpoint URL", timed_out=True))
    assert not is_server_error(AwsError("NetworkError", "Connection refused"))
    assert not is_server_error(AwsError("ThrottlingException", "Rate exceeded", 400))
    assert not is_server_error(AwsError("SlowDown", "Please reduce your request rate", 503))
    assert not is_server_error(AwsError("AccessDeniedException", "no", 400))


def test_a_server_error_hands_the_batch_back_unsettled_after_one_try():
    client = ScriptedTimestream(server_error())
    entries = [entry(n) for n in range(3)]
    result = writer(client).write(entries)
    assert client.sent == [["0", "1", "2"]]
    assert result.unsettled == [entries] and not result.stored and not result.refused
    assert [e.failures for e in entries] == [1, 1, 1]


class Pipeline:
    """The runner's loop, by hand: a queue of batches; unsettled groups go to its back. With
    `traffic`, a new one-record batch of other readings joins the queue after every call, as
    sensors keep sending."""

    def __init__(self, client, health: StoreHealth, sleeps: list[float], traffic: bool = True) -> None:
        self.writer = writer(client, sleeps, health)
        self.traffic = traffic
        self.queue: list[list[Entry]] = []
        self.stored: list[str] = []
        self.refused: list[tuple[str, str]] = []
        self._next_other = 10_000

    def run(self, batches: list[list[Entry]], rounds: int, until_settled: list[Entry] | None = None) -> None:
        self.queue += batches
        for _ in range(rounds):
            if until_settled is not None and not self.unsettled(until_settled):
                return
            result = self.writer.write(self.queue.pop(0))
            self.stored += [e.items[0].sequence_number for e in result.stored]
            self.refused += [(e.items[0].sequence_number, reason) for e, reason in result.refused]
            self.queue += result.unsettled
            if self.traffic:
                self.queue.append([entry(self._next_other)])
                self._next_other += 1

    def unsettled(self, entries: list[Entry]) -> list[Entry]:
        waiting = {id(e) for group in self.queue for e in group}
        return [e for e in entries if id(e) in waiting]

    def stored_of(self, entries: list[Entry]) -> list[str]:
        mine = {e.items[0].sequence_number for e in entries}
        return sorted((s for s in self.stored if s in mine), key=int)


class PoisonTimestream(ScriptedTimestream):
    """Answers 500 to any call carrying a poison value, and to every call while `down` is set."""

    def __init__(self, poison: set[str]) -> None:
        super().__init__()
        self.poison = poison
        self.down = False

    def call(self, operation: str, payload: dict) -> dict:
        values = {record["MeasureValue"] for record in payload["Records"]}
        self.answers = [server_error("boom") if self.down or values & self.poison else None]
        return super().call(operation, payload)


def test_a_poison_record_is_isolated_and_refused_with_the_servers_answer():
    client = PoisonTimestream({"37"})
    entries = [entry(n) for n in range(100)]
    pipeline = Pipeline(client, StoreHealth(Backoff(base=0.1, cap=1.0)), [])
    pipeline.run([entries], rounds=150)
    assert pipeline.unsettled(entries) == []
    assert pipeline.stored_of(entries) == [str(n) for n in range(100) if n != 37]
    assert pipeline.refused == [
        (
            "37",
            "HTTP 500 InternalServerException: boom (failed alone 3 times, the store storing other "
            "records in between)",
        )
    ]
    # each good record of the batch was sent in exactly one call, which succeeded
    sent_ok = [v for values in client.sent if "37" not in values for v in values if int(v) < 100]
    assert sorted(sent_ok, key=int) == [str(n) for n in range(100) if n != 37]
    # the other traffic flowed meanwhile: every other record is stored or still in the queue
    others = {s for s in pipeline.stored if int(s) >= 10_000}
    assert len(others) + sum(len(group) for group in pipeline.queue) == 150


def test_without_other_records_stored_in_between_a_record_is_never_set_aside():
    """Nothing else arrives: the store might be failing every write, so the batch is neither split
    nor set aside; once other records are stored between its tries, it is isolated."""
    client = PoisonTimestream({"0"})
    entries = [entry(n) for n in range(8)]
    pipeline = Pipeline(client, StoreHealth(Backoff(base=0.1, cap=1.0)), [], traffic=False)
    pipeline.run([entries], rounds=30)
    assert client.sent == [[str(n) for n in range(8)]] * 30
    assert pipeline.stored == [] and pipeline.refused == [] and pipeline.queue == [entries]

    pipeline.traffic = True  # readings arrive again
    pipeline.run([], rounds=100, until_settled=entries)
    assert pipeline.stored_of(entries) == [str(n) for n in range(1, 8)]
    assert [sequence for sequence, _ in pipeline.refused] == ["0"]


def test_while_the_store_fails_every_write_nothing_is_split_or_refused():
    client = PoisonTimestream({"37"})
    client.down = True
    sleeps: list[float] = []
    entries = [entry(n) for n in range(100)]
    pipeline = Pipeline(client, StoreHealth(Backoff(base=0.1, cap=1.0)), sleeps)
    pipeline.run([entries], rounds=300)
    assert pipeline.stored == [] and pipeline.refused == []
    assert all(len(values) in (1, 100) for values in client.sent)  # never split
    assert sum(1 for values in client.sent if len(values) == 100) >= 2
    assert 0.5 <= sleeps[-1] <= 1.0  # the shared backoff grew to its cap (1 s, jitter down to 0.5 s)
    assert len(sleeps) == 299  # every call but the first waited

    client.down = False  # the store is back: the poison record still has to prove itself alone
    pipeline.run([], rounds=20_000, until_settled=entries)
    assert pipeline.unsettled(entries) == []
    assert pipeline.stored_of(entries) == [str(n) for n in range(100) if n != 37]
    assert [sequence for sequence, _ in pipeline.refused] == ["37"]
    others = [s for s in pipeline.stored if int(s) >= 10_000]
    assert len(others) == len(set(others)) == pipeline._next_other - 10_000 - len(pipeline.queue)
