"""What `make status` and the panels make of the recorded state: each service's state from its pid and
state files checked against live processes, the stale-data sentence at and past its threshold, and the
answer when no pipeline ran here."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local_pipeline.config import ServiceConfig
from local_pipeline.freshness import parse_timestamp, stale_message
from local_pipeline.services import ServiceStatus, service_status
from tests.local_pipeline.helpers import wait_for
from tests.services import ROOT


@pytest.fixture
def stand_in():
    """A live process to play a supervisor (its command line is what the pid file records)."""
    process = subprocess.Popen(["sleep", "120"])
    cmdline = Path(f"/proc/{process.pid}/cmdline")
    wait_for(
        lambda: cmdline.read_bytes() == b"sleep\x00120\x00", 10, "the stand-in to run sleep"
    )  # after exec
    yield process
    process.kill()
    process.wait()


def record(run_dir, name, supervisor_pid, supervisor_argv, **state) -> None:
    run_dir.mkdir(exist_ok=True)
    (run_dir / f"{name}.pid").write_text(f"{supervisor_pid}\n{json.dumps(supervisor_argv)}\n")
    (run_dir / f"{name}.state.json").write_text(
        json.dumps({"name": name, "supervisor_pid": supervisor_pid, "argv": ["x"], **state})
    )


def test_a_service_waiting_for_its_restart_is_down_with_the_reason(tmp_path, stand_in):
    now = time.time()
    last = {"description": "exited with status 1", "code": 1, "at": now - 1}
    record(tmp_path, "forwarder", stand_in.pid, ["sleep", "120"], state="restarting", restarts=2,
           last_exit=last, next_start_at=now + 4, message="exited with status 1; restarting in 4.0 s")  # fmt: skip
    status = service_status(tmp_path, ServiceConfig("forwarder"), now)
    assert (status.ok, status.summary, status.restarts) == (False, "restarting in 4 s", 2)
    assert status.last_exit == "exited with status 1"


def test_a_service_past_its_start_limit_is_failed(tmp_path):
    last = {"description": "exited with status 2", "code": 2, "at": 1.0}
    message = "exited with status 2; not restarting it: 5 starts within 120 s reached the start limit"
    record(
        tmp_path,
        "simulator",
        999_999_999,
        ["gone"],
        state="failed",
        restarts=4,
        last_exit=last,
        message=message,
    )
    status = service_status(tmp_path, ServiceConfig("simulator"))
    assert (status.ok, status.summary, status.detail) == (False, "failed", message)


def test_a_running_state_whose_processes_are_gone_is_not_believed(tmp_path):
    record(tmp_path, "kinesalite", 999_999_999, ["gone"], state="running", pid=999_999_998, started_at=1.0)
    status = service_status(tmp_path, ServiceConfig("kinesalite", port=1))
    assert (status.ok, status.summary) == (False, "not running")
    assert "supervisor is gone" in status.detail


def test_a_finished_one_shot_is_done_and_one_that_never_ran_is_no_problem(tmp_path):
    last = {"description": "exited with status 0", "code": 0, "at": 1.0}
    record(tmp_path, "history", 999_999_999, ["gone"], state="exited", last_exit=last)
    assert service_status(tmp_path, ServiceConfig("history", one_shot=True)).summary == "done"
    never = service_status(tmp_path, ServiceConfig("other", one_shot=True))
    assert (never.ok, never.summary) == (True, "not started")


def test_the_stale_sentence_appears_one_second_past_the_threshold():
    down = [
        ServiceStatus(name="forwarder", ok=False, summary="stopped"),
        ServiceStatus(name="simulator", ok=True, summary="running"),
        ServiceStatus(name="history", ok=False, summary="failed", one_shot=True),
    ]
    assert stale_message(120.0, 120, down) is None
    assert (
        stale_message(121.0, 120, down)
        == "no readings for 2 min 1 s: the forwarder is down (stopped), see make status"
    )
    assert (
        stale_message(None, 120, down)
        == "no readings in the store at all: the forwarder is down (stopped), see make status"
    )
    up = [ServiceStatus(name="forwarder", ok=True, summary="running")]
    assert "although every service runs" in stale_message(300.0, 120, up)
    assert stale_message(300.0, 120, None).startswith(
        "no readings for 5 min (more than 2 min): the pipeline has stalled"
    )


def test_timestamps_of_the_store_are_read_as_utc():
    assert parse_timestamp("2026-12-04 10:53:55.250000000") == 1796381635.25
    assert parse_timestamp("2026-12-04 10:53:55") == 1796381635.0


def test_status_without_a_pipeline_says_to_run_make_demo(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "local_pipeline", "status", "--state-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"status: the local pipeline has not run with the state folder {tmp_path} yet "
        "(pipeline.json is missing): run make demo first"
    )
