"""End to end: kinesalite -> python -m forwarder -> timestream_local, read back with the Query API."""

from __future__ import annotations

import datetime as dt
import json
import re
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


def timestream_time(ms: int) -> str:
    moment = dt.datetime.fromtimestamp(ms // 1000, dt.UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{ms % 1000:03d}000000"


def test_records_in_equal_records_stored_with_bad_and_duplicate_records_mixed_in(
    kinesalite, timestream_local, kinesis_client, timestream_write, timestream_query, tmp_path
):
    stream, table = unique("pipeline"), unique("pm25").replace("-", "_")
    create_stream(kinesis_client, stream, 2)
    create_table(timestream_write, table)
    base = (int(time.time()) - 3600) * 1000
    good = {
        (f"station-{s}", base + i * 1000): (s * 31 + i * 7) % 200 + 1 for s in range(10) for i in range(30)
    }
    records = [(reading(loc, t, v, city="Testcity"), loc) for (loc, t), v in good.items()]
    caps = {"city": "Testcity", "location": "caps", "MEASURENAME": "pm2.5", "measurevalue": 77}
    caps |= {"measureVALUEtype": "bigint", "TIME": base, "TimeUnit": "milliseconds"}
    good[("caps", base)] = 77
    conflict = reading("station-3", base + 5000, 999, city="Testcity")
    too_old = reading("station-4", base - 3 * 24 * 3600 * 1000, 5, city="Testcity")
    malformed = [
        ("not json", "not valid JSON: Expecting value: line 1 column 1 (char 0)"),
        ('{"city":"Testcity","location":"x","MeasureName":"pm2.5","MeasureValueType":"BIGINT","Time":"1"}',
         "missing field MeasureValue"),
        (json.dumps(reading("station-1", base, 1) | {"MeasureValue": "abc"}), "MeasureValue 'abc' is not a BIGINT"),
        ("[1, 2, 3]", "not a JSON object (got an array)"),
    ]  # fmt: skip
    duplicates = records[::20]  # identical copies, sent again later: Timestream keeps one
    tail = [
        (caps, "caps"),
        (conflict, "station-3"),
        (too_old, "station-4"),
        *((text, f"bad-{n}") for n, (text, _reason) in enumerate(malformed)),
        *duplicates,
    ]
    answers = put(kinesis_client, stream, records + tail)
    where = {index: (a["ShardId"], a["SequenceNumber"]) for index, a in enumerate(answers)}
    first_tail = len(records)

    state = tmp_path / "state"
    log_path = tmp_path / "forwarder.log"
    argv = forwarder_command(stream, table, kinesalite, timestream_local, state)
    process = start_forwarder(argv, log_path)
    try:
        wait_until(lambda: len(dead_letters(state / "dead-letter.jsonl")) >= 6, 60, "six dead letters")
        count_sql = f'SELECT COUNT(*) FROM "iot"."{table}"'
        wait_until(lambda: scalar(timestream_query, count_sql) == str(len(good)), 60, "all good records")
        # The summary line reports rates, counts and lag (and nothing extra arrives meanwhile).
        summary = re.compile(
            r"in [\d,]+ rec/s \| written [\d,]+ \([\d,]+ rec/s\) \| duplicates \d+ \| rejected 2 \| "
            r"dead-lettered 6 \| pending 0 \| lag [\d.]+ (ms|s) \| shards 2"
        )
        wait_until(lambda: summary.search(log_path.read_text()), 10, "a summary line")
    finally:
        code = stop(process, signal.SIGTERM)
    log = log_path.read_text()
    assert code == 0, log
    assert "Traceback" not in log

    rows = query(timestream_query, f'SELECT location, time, measure_value::bigint, city FROM "iot"."{table}"')
    stored = sorted((loc, t, int(v)) for loc, t, v, _city in rows)
    assert stored == sorted((loc, timestream_time(t), v) for (loc, t), v in good.items())
    assert {city for *_rest, city in rows} == {"Testcity"}
    total = scalar(timestream_query, f'SELECT SUM(measure_value::bigint) FROM "iot"."{table}"')
    assert int(total) == sum(good.values())

    letters = dead_letters(state / "dead-letter.jsonl")
    expected = [
        (json.dumps(conflict, separators=(",", ":")), *where[first_tail + 1]),
        (json.dumps(too_old, separators=(",", ":")), *where[first_tail + 2]),
        *((text, *where[first_tail + 3 + n]) for n, (text, _reason) in enumerate(malformed)),
    ]
    assert sorted((d["record"], d["shard_id"], d["sequence_number"]) for d in letters) == sorted(expected)
    reasons = {d["record"]: d["reason"] for d in letters}
    for text, reason in malformed:
        assert reasons[text] == reason
    assert reasons[json.dumps(conflict, separators=(",", ":"))].startswith(
        "A record with the same dimensions, time and measure name already exists with a different measure value"
    )
    assert "outside the time range" in reasons[json.dumps(too_old, separators=(",", ":"))]
    assert {d["stream"] for d in letters} == {stream}

    # SIGTERM left a checkpoint at each shard's last record.
    last = {}
    for shard, sequence in where.values():
        last[shard] = max(last.get(shard, sequence), sequence, key=int)
    assert checkpoints(state) == {shard: ("SEQUENCE", sequence) for shard, sequence in last.items()}

    # A restart resumes from the checkpoints: only the new records are read, nothing is dead-lettered twice.
    more = {(f"station-{s}", base + 100_000): 50 + s for s in range(10)}
    put(kinesis_client, stream, [(reading(loc, t, v, city="Testcity"), loc) for (loc, t), v in more.items()])
    process = start_forwarder(argv, tmp_path / "forwarder-2.log")
    try:
        wait_until(
            lambda: scalar(timestream_query, count_sql) == str(len(good) + len(more)), 60, "the new records"
        )
    finally:
        code = stop(process, signal.SIGTERM)
    log = (tmp_path / "forwarder-2.log").read_text()
    assert code == 0, log
    assert "totals: read 10, written 10, duplicates 0, rejected 0, invalid 0, dead-lettered 0" in log
    assert len(dead_letters(state / "dead-letter.jsonl")) == 6


def test_multi_measure_records_merge_readings_of_a_station(
    kinesalite, timestream_local, kinesis_client, timestream_write, timestream_query, tmp_path
):
    stream, table = unique("multi"), unique("pm25").replace("-", "_")
    create_stream(kinesis_client, stream, 1)
    create_table(timestream_write, table)
    base = (int(time.time()) - 600) * 1000
    records = []
    for s in range(3):
        for i in range(4):
            pm25 = reading(f"station-{s}", base + i * 1000, 10 * s + i)
            pm10 = pm25 | {"MeasureName": "pm10", "MeasureValue": str(100 + s + i)}
            records += [(pm25, f"station-{s}"), (pm10, f"station-{s}")]
    put(kinesis_client, stream, records)
    state = tmp_path / "state"
    process = start_forwarder(
        forwarder_command(stream, table, kinesalite, timestream_local, state, "--multi-measure", "air"),
        tmp_path / "forwarder.log",
    )
    try:
        sql = f'SELECT COUNT(*) FROM "iot"."{table}"'
        wait_until(lambda: scalar(timestream_query, sql) == "12", 60, "twelve MULTI records")
    finally:
        assert stop(process, signal.SIGINT) == 0  # Ctrl-C stops as cleanly as SIGTERM
    rows = query(
        timestream_query,
        f'SELECT location, measure_name, "pm2.5", pm10 FROM "iot"."{table}" ORDER BY location, time',
    )
    assert rows == [
        [f"station-{s}", "air", str(10 * s + i), str(100 + s + i)] for s in range(3) for i in range(4)
    ]


def test_a_lone_record_is_written_by_the_flush_timer_without_any_record_after_it(
    kinesalite, timestream_local, kinesis_client, timestream_write, timestream_query, tmp_path
):
    stream, table = unique("lone"), unique("pm25").replace("-", "_")
    create_stream(kinesis_client, stream, 1)
    create_table(timestream_write, table)
    state = tmp_path / "state"
    argv = forwarder_command(stream, table, kinesalite, timestream_local, state, "--flush-interval", "1")
    process = start_forwarder(argv, tmp_path / "forwarder.log")
    try:
        time.sleep(1)  # the forwarder is up and idle
        put(kinesis_client, stream, [(reading("lonely", int(time.time()) * 1000, 42), "lonely")])
        # counted first: until a BIGINT arrives the table has no measure_value::bigint column (as on AWS)
        count_sql = f'SELECT COUNT(*) FROM "iot"."{table}"'
        wait_until(lambda: scalar(timestream_query, count_sql) == "1", 15, "the lone record")
        assert query(timestream_query, f'SELECT measure_value::bigint FROM "iot"."{table}"') == [["42"]]
    finally:
        assert stop(process) == 0
