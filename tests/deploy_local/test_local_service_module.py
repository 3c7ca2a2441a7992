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
from tests.services import ROOT, free_port


def service_play(tmp_path, state: str, port: int | None, argv: list[str] | None = None, **options):
    argv = argv or [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    probe = {"port": port, "health_url": f"http://127.0.0.1:{port}/"} if port else {}
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
                                **probe,
                                "env": {"SECRET_TOKEN": "do-not-print-me"},
                                "ready_timeout": 15,
                                "state": state,
                                **options,
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


def test_a_taken_port_is_named_with_its_holder_and_the_variable_that_moves_the_service(tmp_path, port):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        run = service_play(tmp_path, "started", port, port_variable="web_port")
    assert run.returncode != 0
    holder = " ".join(Path(f"/proc/{os.getpid()}/cmdline").read_bytes().rstrip(b"\0").decode().split("\0"))
    assert (
        f"port {port} on 127.0.0.1 is already taken by pid {os.getpid()} ({holder[:157]}"
    ) in run.output.replace("\n", " ")
    assert (
        "so web cannot start: stop that program, or move web to another port with -e web_port=PORT."
        in run.output
    )
    assert not (tmp_path / "run" / "web.pid").exists()


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


# A loader run through a shell, as the play's history loader is: on SIGTERM the shell ends at once while
# its Python child flushes for a while (the simulator retrying against a store being stopped).
LOADER = """
import os, signal, sys, time
open(sys.argv[1], "w").write(str(os.getpid()))
def flush(signum, frame):
    time.sleep(3)
    sys.exit(0)
signal.signal(signal.SIGTERM, flush)
time.sleep(300)
"""


def test_stop_waits_for_every_process_of_the_program_not_only_the_first(tmp_path):
    loader = tmp_path / "loader.py"
    loader.write_text(LOADER)
    argv = [
        "/bin/sh",
        "-c",
        f'"$0" {loader} {tmp_path / "child.pid"} && touch {tmp_path / "done"}',
        sys.executable,
    ]
    started = service_play(tmp_path, "started", None, argv=argv)
    assert started.returncode == 0, started.output
    child = int((tmp_path / "child.pid").read_text())
    assert alive(child)
    stopped = service_play(tmp_path, "stopped", None, argv=argv)
    assert stopped.returncode == 0, stopped.output
    assert not alive(child), "the loader's Python child outlived the stop"


def supervised_options():
    return {
        "supervisor": [sys.executable, "-m", "local_pipeline", "supervise", "--restart-delay", "0.2"],
        "env": {"SECRET_TOKEN": "do-not-print-me", "PYTHONPATH": str(ROOT)},  # the program runs in tmp_path
    }


def child_of(tmp_path) -> int | None:
    try:
        return json.loads((tmp_path / "run" / "web.state.json").read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return None


def test_a_supervised_service_comes_back_after_kill_and_is_stopped_with_its_supervisor(tmp_path, port):
    first = service_play(tmp_path, "started", port, **supervised_options())
    assert first.returncode == 0, first.output
    supervisor = pid_of(tmp_path)
    child = child_of(tmp_path)
    assert child and child != supervisor and alive(child)
    os.kill(child, 9)
    deadline = time.monotonic() + 15
    while (
        child_of(tmp_path) in (None, child) or not alive(child_of(tmp_path))
    ) and time.monotonic() < deadline:
        time.sleep(0.1)
    restarted = child_of(tmp_path)
    assert restarted != child and alive(restarted)
    again = service_play(tmp_path, "started", port, **supervised_options())
    assert again.returncode == 0, again.output
    assert again.recap()["changed"] == 0
    assert pid_of(tmp_path) == supervisor
    stopped = service_play(tmp_path, "stopped", port, **supervised_options())
    assert stopped.returncode == 0, stopped.output
    assert not alive(supervisor)
    assert not alive(restarted)
    assert "killed by signal 9 (SIGKILL)" in (tmp_path / "log" / "web.log").read_text()


def test_a_supervised_program_that_fails_at_start_is_not_left_restarting(tmp_path, port):
    argv = [sys.executable, "-c", "raise SystemExit(3)"]
    run = service_play(tmp_path, "started", port, argv=argv, **supervised_options())
    assert run.returncode != 0
    assert "web exited with status 3 right after it started; see" in run.output
    assert not (tmp_path / "run" / "web.pid").exists()
    supervisor = json.loads((tmp_path / "run" / "web.state.json").read_text())["supervisor_pid"]
    assert not alive(supervisor)


def test_a_program_started_with_other_settings_is_replaced_not_left_running(tmp_path, port):
    first = service_play(tmp_path, "started", port)
    assert first.returncode == 0, first.output
    old = pid_of(tmp_path)
    argv = [
        sys.executable,
        "-m",
        "http.server",
        "--bind",
        "127.0.0.1",
        "--directory",
        str(tmp_path),
        str(port),
    ]
    changed = service_play(tmp_path, "started", port, argv=argv)
    assert changed.returncode == 0, changed.output
    assert changed.recap()["changed"] == 1
    new = pid_of(tmp_path)
    assert new != old and alive(new)
    assert not alive(old), "the process started with the old settings still runs, untracked"
    stopped = service_play(tmp_path, "stopped", port, argv=argv)
    assert stopped.returncode == 0
