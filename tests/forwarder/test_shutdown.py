"""Stopping and starting: SIGTERM writes everything read and checkpoints it; LATEST is pinned durably."""

from __future__ import annotations

import signal
import time

from tests.forwarder.helpers import (
    checkpoints,
    create_stream,
    create_table,
    forwarder_command,
    put,
    reading,
    scalar,
    start_forwarder,
    stop,
    unique,
    wait_until,
)


def test_sigterm_in_full_flow_writes_what_was_read_checkpoints_it_and_exits_0(
    kinesalite, timestream_local, kinesis_client, timestream_write, timestream_query, tmp_path
):
    stream, table = unique("sigterm"), unique("pm25").replace("-", "_")
    create_stream(kinesis_client, stream, 2)
    create_table(timestream_write, table)
    base = (int(time.time()) - 3600) * 1000
    answers = put(
        kinesis_client,
        stream,
        [(reading(f"st-{n % 40}", base + (n // 40) * 1000, n % 97), f"st-{n % 40}") for n in range(20_000)],
    )
    state = tmp_path / "state"
    argv = forwarder_command(stream, table, kinesalite, timestream_local, state, "--max-pending", "3000")
    process = start_forwarder(argv, tmp_path / "forwarder.log")
    count_sql = f'SELECT COUNT(*) FROM "iot"."{table}"'
    wait_until(lambda: int(scalar(timestream_query, count_sql)) >= 1000, 60, "the first records", 0.05)
    code = stop(process, signal.SIGTERM, timeout=60)
    log = (tmp_path / "forwarder.log").read_text()
    assert code == 0, log
    assert "SIGTERM received: finishing up" in log

    # Everything up to each shard's checkpoint is stored, and nothing beyond it was read.
    saved = checkpoints(state)
    assert set(saved) == {a["ShardId"] for a in answers}
    upto = sum(
        1
        for a in answers
        if saved[a["ShardId"]][0] == "SEQUENCE" and int(a["SequenceNumber"]) <= int(saved[a["ShardId"]][1])
    )
    stored = int(scalar(timestream_query, count_sql))
    assert stored == upto, f"{stored} stored, {upto} up to the checkpoints"
    assert stored < len(answers), "the forwarder finished before the SIGTERM; the test proves nothing"
    totals = log.rsplit("totals: ", 1)[1]
    assert totals.startswith(f"read {stored:,}, written {stored:,}, duplicates 0,"), totals

    process = start_forwarder(argv, tmp_path / "forwarder-2.log")
    try:
        wait_until(lambda: scalar(timestream_query, count_sql) == str(len(answers)), 60, "the rest")
    finally:
        assert stop(process) == 0


def test_latest_skips_the_backlog_but_not_records_sent_during_a_restart(
    kinesalite, timestream_local, kinesis_client, timestream_write, timestream_query, tmp_path
):
    stream, table = unique("latest"), unique("pm25").replace("-", "_")
    create_stream(kinesis_client, stream, 2)
    create_table(timestream_write, table)
    base = (int(time.time()) - 3600) * 1000
    put(kinesis_client, stream, [(reading(f"old-{n}", base, n), f"old-{n}") for n in range(50)])
    time.sleep(1.1)  # kinesalite's arrival times have a resolution of 1 ms; keep old and new apart
    state = tmp_path / "state"
    argv = forwarder_command(stream, table, kinesalite, timestream_local, state, "--start-position", "LATEST")
    process = start_forwarder(argv, tmp_path / "forwarder.log")
    wait_until(lambda: (state / "checkpoints" / "forwarder-checkpoints.sqlite3").exists() and checkpoints(state),
               30, "the pinned start")  # fmt: skip
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert {kind for kind, _ in checkpoints(state).values()} == {"AT_TIMESTAMP"}
    time.sleep(0.1)
    put(kinesis_client, stream, [(reading(f"new-{n}", base, n), f"new-{n}") for n in range(30)])
    process = start_forwarder(argv, tmp_path / "forwarder-2.log")
    count_sql = f'SELECT COUNT(*) FROM "iot"."{table}"'
    try:
        wait_until(lambda: scalar(timestream_query, count_sql) == "30", 60, "the 30 new records")
        time.sleep(1)
    finally:
        assert stop(process) == 0
    assert (
        scalar(timestream_query, f'SELECT COUNT(*) FROM "iot"."{table}" WHERE location LIKE \'old-%\'') == "0"
    )
