"""Is each service of the local pipeline running, since when, after how many restarts?

Read from the pid files the play's ``local_service`` module writes (``run/<name>.pid``: the supervisor)
and the state files the supervisors keep (``run/<name>.state.json``), checked against /proc: a state
file that says "running" while its processes are gone is reported as what it is.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from local_pipeline import processes
from local_pipeline.config import ServiceConfig
from local_pipeline.state import (
    EXITED,
    FAILED,
    RESTARTING,
    RUNNING,
    STOPPED,
    STOPPING,
    read_state,
    state_path,
)


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    ok: bool  # runs under a live supervisor; a one-shot: runs, finished well, or has not run
    summary: str  # "running", "restarting in 2 s", "failed", "stopped", "not started", "done"...
    pid: int | None = None
    port: int | None = None
    port_answers: bool | None = None
    restarts: int | None = None
    uptime: float | None = None  # seconds
    last_exit: str = ""
    detail: str = ""  # the supervisor's last message, or why the service counts as down
    one_shot: bool = False


def _port_answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _pid_file(run_dir: Path, name: str) -> tuple[int | None, list[str] | None]:
    try:
        pid_line, _, argv_line = (run_dir / f"{name}.pid").read_text().partition("\n")
        return int(pid_line), (json.loads(argv_line) if argv_line.strip() else None)
    except (OSError, ValueError):
        return None, None


def service_status(run_dir: Path, service: ServiceConfig, now: float | None = None) -> ServiceStatus:  # noqa: PLR0911
    now = time.time() if now is None else now
    name, port = service.name, service.port
    supervisor_pid, supervisor_argv = _pid_file(run_dir, name)
    supervisor_up = processes.runs(supervisor_pid, supervisor_argv)
    state = read_state(state_path(run_dir, name))
    base = {"name": name, "port": port, "one_shot": service.one_shot}
    if state is None:
        if supervisor_up:  # just started; its supervisor has not written its state yet
            return ServiceStatus(ok=True, summary="starting", pid=supervisor_pid, **base)
        summary = "not started" if supervisor_pid is None else "not running"
        return ServiceStatus(ok=service.one_shot, summary=summary, detail="run make demo", **base)
    last_exit = state.last_exit.description if state.last_exit else ""
    common = {**base, "restarts": state.restarts, "last_exit": last_exit}
    if supervisor_up and state.state == RUNNING and processes.runs(state.pid, state.argv):
        answers = _port_answers(port) if port else None
        return ServiceStatus(
            ok=True,
            summary="running" if answers is not False else "running, port not answering",
            pid=state.pid,
            port_answers=answers,
            uptime=now - state.started_at if state.started_at else None,
            **common,
        )
    if supervisor_up and state.state == RESTARTING:
        wait = max(0.0, (state.next_start_at or now) - now)
        return ServiceStatus(ok=False, summary=f"restarting in {wait:.0f} s", detail=state.message, **common)
    if supervisor_up and state.state == STOPPING:
        return ServiceStatus(ok=False, summary="stopping", detail=state.message, **common)
    if supervisor_up:
        return ServiceStatus(ok=False, summary="starting", detail=state.message, **common)
    # The supervisor is gone.
    if state.state == EXITED and service.one_shot and state.last_exit and state.last_exit.code == 0:
        return ServiceStatus(ok=True, summary="done", **common)
    if state.state == FAILED:
        return ServiceStatus(ok=False, summary="failed", detail=state.message, **common)
    if state.state == EXITED:
        return ServiceStatus(ok=False, summary="exited", detail=state.message, **common)
    if state.state == STOPPED:
        detail = "stopped by make down or a signal"
        return ServiceStatus(ok=service.one_shot, summary="stopped", detail=detail, **common)
    return ServiceStatus(
        ok=service.one_shot,
        summary="not running",
        detail="its supervisor is gone (killed?); make demo starts it again",
        **common,
    )


def all_services(run_dir: Path, services: list[ServiceConfig]) -> list[ServiceStatus]:
    now = time.time()
    return [service_status(run_dir, service, now) for service in services]
