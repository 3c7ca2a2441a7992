"""Batch load's limits and state rules, each at AWS's limit and one past: files per task, file size and
task size (on the listing the loader gets from S3), the 16 MB CSV row (on the streaming reader), active
tasks per table and per account; and the task states kept across a restart of a real store (a task
IN_PROGRESS when it stopped comes back PROGRESS_STOPPED, resumable for 7 days).
"""

from __future__ import annotations

import pytest

from timestream_local.domain.batch_config import MAX_FILE_BYTES, MAX_TASK_BYTES, check_sources
from timestream_local.domain.batch_loads import STOPPED_BY_RESTART
from timestream_local.domain.batch_rows import MAX_ROW_BYTES, TOO_LONG, CsvFormat, read_rows
from timestream_local.exceptions import ServiceQuotaExceededException, ValidationException
from timestream_local.store import Store

GB = 1024**3


def test_quotas_on_the_files_of_a_task():
    assert len(check_sources([(f"in/{n}.csv", 10) for n in range(100)], "s3://b/in/")) == 100
    with pytest.raises(
        ValidationException, match=r"names 101 objects under s3://b/in/; .* at most 100 files"
    ):
        check_sources([(f"in/{n}.csv", 10) for n in range(101)], "s3://b/in/")
    assert MAX_FILE_BYTES == 5 * GB and MAX_TASK_BYTES == 100 * GB
    assert check_sources([("in/big.csv", 5 * GB), ("in/", 0)], "s3://b/in/") == [("in/big.csv", 5 * GB)]
    with pytest.raises(
        ValidationException, match=r"names in/big.csv, which is 5368709121 bytes; .* \(5 GB\)"
    ):
        check_sources([("in/big.csv", 5 * GB + 1)], "s3://b/in/")
    assert len(check_sources([(f"in/{n}.csv", 5 * GB) for n in range(20)], "s3://b/in/")) == 20
    with pytest.raises(ValidationException, match=r"at most 107374182400 bytes \(100 GB\)"):
        check_sources([(f"in/{n}.csv", 5 * GB) for n in range(20)] + [("in/x.csv", 1)], "s3://b/in/")
    with pytest.raises(ValidationException, match=r"ObjectKeyPrefix names no objects"):
        check_sources([("in/", 0)], "s3://b/in/")


def _chunks(data: bytes, size: int = 1 << 20):
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("quoted", [False, True])
def test_a_csv_row_of_16_mb_is_read_and_one_byte_more_is_refused(quoted):
    def row(total: int, number: int) -> bytes:
        """A row of ``total`` bytes with its newline (its second field, quoted across two lines or not)."""
        if quoted:
            body = b'"' + b"x" * (total - len(f"{number},".encode()) - 4) + b'\n"'
        else:
            body = b"x" * (total - len(f"{number},".encode()) - 1)
        return f"{number},".encode() + body + b"\n"

    data = b"n,text\n" + row(MAX_ROW_BYTES, 1) + row(MAX_ROW_BYTES + 1, 2) + b"3,after\n"
    rows = list(read_rows(_chunks(data), CsvFormat(None)))
    assert [(r.line, r.error) for r in rows] == [
        (1, None),
        (2, None),
        (3 + quoted, TOO_LONG),
        (4 + 2 * quoted, None),
    ]
    assert len(rows[1].fields[1]) == MAX_ROW_BYTES - 3 - (2 if quoted else 0)
    assert rows[3].fields == ["3", "after"]


def _request(table: str) -> dict:
    return {"TargetDatabaseName": "db", "TargetTableName": table}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_active_tasks_at_most_5_per_table_and_10_per_account(tmp_path):
    store = Store(tmp_path / "data")
    try:
        tasks = store.batch_loads
        first = [tasks.create(_request("a"), {}, [("k", 1)], None) for _ in range(5)]
        with pytest.raises(ServiceQuotaExceededException, match=r"table a has 5 active .* \(5\)"):
            tasks.create(_request("a"), {}, [("k", 1)], None)
        for _ in range(5):
            tasks.create(_request("b"), {}, [("k", 1)], None)
        with pytest.raises(ServiceQuotaExceededException, match=r"account has 10 active .* \(10\)"):
            tasks.create(_request("c"), {}, [("k", 1)], None)
        claimed = tasks.claim()
        assert claimed is not None and claimed.task_id == first[0]
        tasks.finish(claimed, "SUCCEEDED")  # a finished task is no longer active
        tasks.create(_request("a"), {}, [("k", 1)], None)
        assert len(tasks.list("CREATED")) == 10 and len(tasks.list("SUCCEEDED")) == 1
    finally:
        store.close()


def test_task_states_survive_a_restart(tmp_path):
    clock = Clock()
    store = Store(tmp_path / "data", scheduled_clock=clock)  # the clock of its scheduled queries and tasks
    try:
        tasks = store.batch_loads
        token = "t" * 40
        running = tasks.create(_request("a"), {"time": "t"}, [("k", 1)], token)
        clock.now += 1  # the loader claims the oldest task (ties would go by the random task id)
        waiting = tasks.create(_request("a"), {"time": "t"}, [("k", 1)], None)
        assert tasks.create(_request("a"), {"time": "t"}, [("k", 1)], token) == running  # ClientToken
        with pytest.raises(ValidationException, match="ClientToken was used"):
            tasks.create(_request("b"), {"time": "t"}, [("k", 1)], token)
        work = tasks.claim()
        work.progress["RecordsProcessed"] = 100
        work.position = [0, 100]
        tasks.checkpoint(work)
    finally:
        store.close()  # the server stops with the task IN_PROGRESS

    clock.now += 60
    store = Store(tmp_path / "data", scheduled_clock=clock)
    try:
        tasks = store.batch_loads
        stopped = tasks.describe(running)
        assert (stopped["TaskStatus"], stopped["ErrorMessage"]) == ("PROGRESS_STOPPED", STOPPED_BY_RESTART)
        assert stopped["ResumableUntil"] == clock.now + 7 * 86_400
        assert stopped["ProgressReport"]["RecordsProcessed"] == 100
        assert tasks.describe(waiting)["TaskStatus"] == "CREATED"
        with pytest.raises(
            ValidationException, match="is CREATED; only a PROGRESS_STOPPED task can be resumed"
        ):
            tasks.resume(waiting)
        clock.now += 7 * 86_400  # the last moment it can be resumed
        tasks.resume(running)
        assert tasks.describe(running)["TaskStatus"] == "PENDING_RESUME"
        assert "ResumableUntil" not in tasks.describe(running)
        resumed = tasks.claim()  # the oldest waiting task: the resumed one, from its saved position
        assert (resumed.task_id, resumed.position) == (running, [0, 100])
        tasks.finish(resumed, "PROGRESS_STOPPED", "S3 is unreachable.")
        clock.now += 7 * 86_400 + 1  # one second past ResumableUntil
        with pytest.raises(ValidationException, match="resumable only until its ResumableUntil"):
            tasks.resume(running)
    finally:
        store.close()
