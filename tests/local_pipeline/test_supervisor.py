"""The supervisor on real processes: restarts after kill -9 and failures, the start limit, a clean stop,
no orphan when it is killed itself, and no leftover of a program's group before a restart."""

from __future__ import annotations

import signal
import sys

import pytest

from tests.local_pipeline.helpers import (
    alive,
    events,
    kill_quietly,
    state,
    supervise,
    wait_for,
    write_program,
)


@pytest.fixture
def program(tmp_path):
    return [sys.executable, str(write_program(tmp_path)), str(tmp_path / "events")]


def starts(tmp_path) -> list[int]:
    return [pid for pid, text in events(tmp_path / "events") if text == "start"]


def test_a_killed_program_is_restarted_and_the_restart_logged_with_its_status(tmp_path, program):
    supervisor = supervise(tmp_path, *program, "serve")
    try:
        first = wait_for(lambda: starts(tmp_path), 10, "the first start")[0]
        wait_for(lambda: state(tmp_path).get("pid") == first, 10, "the state file")
        kill_quietly(first, signal.SIGKILL)
        second = wait_for(lambda: starts(tmp_path)[1:], 10, "a restart")[0]
        assert second != first
        recorded = wait_for(
            lambda: state(tmp_path) if state(tmp_path).get("pid") == second else None, 10, "state"
        )
        assert recorded["state"] == "running"
        assert recorded["restarts"] == 1
        assert recorded["last_exit"]["description"] == "killed by signal 9 (SIGKILL)"
        assert recorded["last_exit"]["code"] == 137
        log = (tmp_path / "service.log").read_text()
        assert f"svc (pid {first}) killed by signal 9 (SIGKILL) after" in log
        assert "restarting it in 0.1 s (start 2 of at most 5 within 120 s)" in log
        assert alive(second)
    finally:
        supervisor.terminate()
        assert supervisor.wait(timeout=30) == 0
    assert not alive(second)


def test_a_failing_program_is_restarted_with_a_growing_delay_until_the_start_limit(tmp_path, program):
    supervisor = supervise(
        tmp_path, *program, "fail", "3", options=("--start-limit-burst", "3", "--start-limit-interval", "60")
    )
    assert supervisor.wait(timeout=30) == 3  # gives up with the program's own status
    assert len(starts(tmp_path)) == 3  # burst 3: the first start and two restarts, not one more
    log = (tmp_path / "service.log").read_text()
    assert log.count("exited with status 3 after") == 2
    assert "restarting it in 0.1 s (start 2 of at most 3 within 60 s)" in log
    assert "restarting it in 0.2 s (start 3 of at most 3 within 60 s)" in log
    assert "not restarting it: 3 starts within 60 s reached the start limit" in log
    recorded = state(tmp_path)
    assert recorded["state"] == "failed"
    assert recorded["restarts"] == 2
    assert recorded["pid"] is None


def test_a_program_that_finishes_well_is_not_restarted(tmp_path, program):
    supervisor = supervise(tmp_path, *program, "fail", "0")
    assert supervisor.wait(timeout=30) == 0
    assert len(starts(tmp_path)) == 1
    assert state(tmp_path)["state"] == "exited"
    assert "exited with status 0 after" in (tmp_path / "service.log").read_text()


def test_sigterm_stops_the_program_once_and_the_supervisor_with_it(tmp_path, program):
    supervisor = supervise(tmp_path, *program, "serve")
    child = wait_for(lambda: starts(tmp_path), 10, "the start")[0]
    wait_for(lambda: state(tmp_path).get("pid") == child, 10, "the state file")
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=30) == 0
    assert not alive(child)
    # One SIGTERM: a second one would make the forwarder or the simulator quit without flushing.
    assert [text for pid, text in events(tmp_path / "events") if pid == child] == ["start", "SIGTERM"]
    assert state(tmp_path)["state"] == "stopped"


def test_a_program_ignoring_sigterm_is_killed_after_the_stop_timeout(tmp_path, program):
    supervisor = supervise(tmp_path, *program, "ignore-term", options=("--stop-timeout", "1"))
    child = wait_for(lambda: starts(tmp_path), 10, "the start")[0]
    wait_for(lambda: state(tmp_path).get("pid") == child, 10, "the state file")
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=30) == 0
    assert not alive(child)
    assert "did not stop within 1 s of SIGTERM; killed it" in (tmp_path / "service.log").read_text()


def test_a_killed_supervisor_leaves_no_program_running(tmp_path, program):
    supervisor = supervise(tmp_path, *program, "serve")
    child = wait_for(lambda: starts(tmp_path), 10, "the start")[0]
    supervisor.kill()
    supervisor.wait(timeout=10)
    wait_for(lambda: not alive(child), 10, "the orphaned program to stop")
    assert (child, "SIGTERM") in events(tmp_path / "events")  # told to stop, so it could flush


def test_what_a_dead_program_left_in_its_group_is_stopped_before_the_restart(tmp_path, program):
    supervisor = supervise(
        tmp_path, *program, "spawn-and-fail", options=("--start-limit-burst", "2", "--stop-timeout", "2")
    )
    try:
        assert supervisor.wait(timeout=60) == 1
    finally:
        kill_quietly(supervisor.pid)
    grandchildren = [
        int(text.split()[1]) for _, text in events(tmp_path / "events") if text.startswith("grandchild")
    ]
    assert len(grandchildren) == 2
    try:
        assert not any(alive(pid) for pid in grandchildren)
    finally:
        for pid in grandchildren:
            kill_quietly(pid)
    assert "left 1 process(es) behind" in (tmp_path / "service.log").read_text()
