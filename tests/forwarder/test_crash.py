"""Crash test: 100,000+ records while the forwarder is killed with SIGKILL at random moments.

Afterwards every record is in the table exactly once with its value, and the dead-letter file
holds exactly the malformed records, once each.
"""

from __future__ import annotations

import json
import random
import re
import signal
import threading
import time

import pytest

from tests.forwarder.helpers import (
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

STATIONS = 115
SECONDS = 870  # 115 x 870 = 100,050 readings
KILLS = 4


def value(station: int, second: int) -> int:
    return (station * 37 + second * 11) % 500 + 1


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_and_duplicates_nothing(
    kinesalite, timestream_local, kinesis_client, timestream_write, timestream_query, tmp_path
):
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    stream, table = unique("crash"), unique("pm25").replace("-", "_")
    create_stream(kinesis_client, stream, 4)
    create_table(timestream_write, table)
    base = (int(time.time()) - 2 * 3600) * 1000

    records: list[tuple[bytes | dict, str]] = []
    malformed: list[int] = []  # their positions in `records`
    for second in range(SECONDS):
        for station in range(STATIONS):
            records.append((reading(f"st-{station}", base + second * 1000, value(station, second), f"c{station % 12}"),
                            f"st-{station}"))  # fmt: skip
        if second % 15 == 7:  # 58 malformed records spread through the load
            kind = len(malformed) % 3
            malformed.append(len(records))
            text = b"{broken" if kind == 0 else b'{"location":"x","Time":"1"}' if kind == 1 else b"\xff\xfe"
            records.append((text, f"bad-{second}"))
        if second % 50 == 3:  # identical re-sends, as a producer retrying would make
            records += records[-STATIONS // 2 :][:40]
    good = STATIONS * SECONDS
    answers: list[dict] = []

    def load() -> None:
        # paced over ~25 s, as live readings arrive, so that every kill lands while records are on
        # their way however fast this machine drains them
        for start in range(0, len(records), 5000):
            answers.extend(put(kinesis_client, stream, records[start : start + 5000]))
            time.sleep(1.2)

    loader = threading.Thread(target=load, daemon=True)
    loader.start()

    state = tmp_path / "state"
    argv = forwarder_command(stream, table, kinesalite, timestream_local, state)
    count_sql = f'SELECT COUNT(*) FROM "iot"."{table}"'
    kills = []
    mid_stream = 0  # kills that hit while records were still on their way
    for _run in range(KILLS):
        process = start_forwarder(argv, tmp_path / "forwarder.log")
        pause = rng.uniform(2.0, 5.0)
        time.sleep(pause)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        kills.append(round(pause, 1))
        mid_stream += loader.is_alive() or int(scalar(timestream_query, count_sql)) < good
        if rng.random() < 0.5:
            time.sleep(rng.uniform(0, 1))  # sometimes restart at once, sometimes after a moment
    loader.join(timeout=180)
    assert not loader.is_alive(), "loading 100,000 records into kinesalite took more than 3 minutes"
    assert len(answers) == len(records)

    assert mid_stream >= 3, f"only {mid_stream} of the kills hit while records were on their way"
    process = start_forwarder(argv, tmp_path / "forwarder.log")
    try:
        wait_until(lambda: scalar(timestream_query, count_sql) == str(good), 150, f"{good} records", 1.0)
        wait_until(
            lambda: len(dead_letters(state / "dead-letter.jsonl")) >= len(malformed), 30, "dead letters"
        )
        time.sleep(1)
    finally:
        code = stop(process, signal.SIGTERM)
    context = f"seed {seed}, killed after {kills} s"
    assert code == 0, context
    log = (tmp_path / "forwarder.log").read_text()
    resumed = len(re.findall(r"reading shard shardId-\d+ from SEQUENCE \d+", log))
    assert resumed >= 4, f"{context}: only {resumed} shard starts resumed from a checkpoint"

    assert scalar(timestream_query, count_sql) == str(good), context
    distinct = scalar(
        timestream_query, f'SELECT COUNT(*) FROM (SELECT DISTINCT location, time FROM "iot"."{table}")'
    )
    assert distinct == str(good), context
    per_station = query(
        timestream_query,
        f'SELECT location, COUNT(*), SUM(measure_value::bigint) FROM "iot"."{table}" GROUP BY location',
    )
    expected = {
        f"st-{station}": (SECONDS, sum(value(station, second) for second in range(SECONDS)))
        for station in range(STATIONS)
    }
    assert {loc: (int(n), int(total)) for loc, n, total in per_station} == expected, context
    # A checksum that also catches a value stored at the wrong time.
    checksum = scalar(
        timestream_query,
        f'SELECT SUM(measure_value::bigint * ((to_milliseconds(time) - {base}) / 1000 + 1)) FROM "iot"."{table}"',
    )
    assert int(checksum) == sum(
        value(station, second) * (second + 1) for station in range(STATIONS) for second in range(SECONDS)
    ), context

    letters = dead_letters(state / "dead-letter.jsonl")
    got = sorted((d["shard_id"], d["sequence_number"]) for d in letters)
    want = sorted((answers[i]["ShardId"], answers[i]["SequenceNumber"]) for i in malformed)
    assert got == want, context  # exactly the malformed ones, each once
    texts = {json.dumps(d["record"]) for d in letters}
    assert texts == {json.dumps(r) for r in ("{broken", '{"location":"x","Time":"1"}', "\ufffd\ufffd")}
