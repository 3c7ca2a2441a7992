"""The local_service Ansible module: start once, leave a healthy service alone, refuse a taken port, stop by pid."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.ansible_runner import run_playbook
from tests.services import free_port


def service_play(tmp_path, state: str, port: int, argv: list[str] | None = None):
    argv = argv or [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    playbook = tmp_path / f"service-{state}.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Manage a test service",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "Manage the web server",
                            "local_service": {
                                "name": "web",
                                "argv": argv,
                                "chdir": str(tmp_path),
                                "run_dir": str(tmp_path / "run"),
                                "log_dir": str(tmp_path / "log"),
                                "port": port,
                                "health_url": f"http://127.0.0.1:{port}/",
                                "env": {"SECRET_TOKEN": "do-not-print-me"},
                                "ready_timeout": 15,
                                "state": state,
                            },
                        }
                    ],
                }
            ]
        )
    )
    return run_playbook(playbook, "-v")


def pid_of(tmp_path) -> int:
    return int((tmp_path / "run" / "web.pid").read_text().splitlines()[0])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"  # a zombie has exited


@pytest.fixture
def port():
    return free_port()


def test_start_is_idempotent_and_stop_kills_only_its_process(tmp_path, port):
    first = service_play(tmp_path, "started", port)
    assert first.returncode == 0, first.output
    assert first.recap()["changed"] == 1
    pid = pid_of(tmp_path)
    assert alive(pid)
    assert "do-not-print-me" not in first.output

    second = service_play(tmp_path, "started", port)
    assert second.returncode == 0, second.output
    assert second.recap()["changed"] == 0
    assert pid_of(tmp_path) == pid

    stopped = service_play(tmp_path, "stopped", port)
    assert stopped.returncode == 0, stopped.output
    assert stopped.recap()["changed"] == 1
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)
    assert not (tmp_path / "run" / "web.pid").exists()
    again = service_play(tmp_path, "stopped", port)
    assert again.recap()["changed"] == 0


def test_a_taken_port_is_named(tmp_path, port):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        run = service_play(tmp_path, "started", port)
    assert run.returncode != 0
    assert f"port {port} on 127.0.0.1 is already taken by another program, so web cannot start" in run.output


def test_a_program_that_dies_at_start_points_to_its_log(tmp_path, port):
    run = service_play(tmp_path, "started", port, argv=[sys.executable, "-c", "raise SystemExit(3)"])
    assert run.returncode != 0
    assert "web exited with status 3 right after it started; see" in run.output
    assert not (tmp_path / "run" / "web.pid").exists()


def test_a_stale_pid_file_does_not_stop_a_stranger(tmp_path, port):
    (tmp_path / "run").mkdir()
    stranger = os.getpid()  # the pid file names a live process that is not the service
    (tmp_path / "run" / "web.pid").write_text(f"{stranger}\n")
    run = service_play(tmp_path, "started", port)
    assert run.returncode == 0, run.output
    assert pid_of(tmp_path) != stranger
    stop = service_play(tmp_path, "stopped", port)
    assert stop.returncode == 0
    assert alive(stranger)


def test_stop_leaves_a_reused_pid_alone(tmp_path, port):
    (tmp_path / "run").mkdir()
    stranger = os.getpid()  # the recorded command is not what this pid runs now
    (tmp_path / "run" / "web.pid").write_text(f"{stranger}\n{json.dumps(['/usr/bin/gone', 'x'])}\n")
    run = service_play(tmp_path, "stopped", port)
    assert run.returncode == 0, run.output
    assert run.recap()["changed"] == 0
    assert alive(stranger)
