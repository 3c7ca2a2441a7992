#!/usr/bin/python
"""Ansible module: keep one background program of the local pipeline running (or stopped)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: local_service
short_description: Run a program of the local pipeline in the background, tracked by a pid file
description:
  - Starts a long-running program detached from Ansible, with its output in a log file and its process id
    in a pid file, and waits until it is ready (its health URL answers 200, or its port accepts connections).
  - Leaves a program alone when its pid file names a live process running the same command that is ready.
  - Refuses to start when the port is already taken by another program, naming the port.
  - With I(state=stopped), stops the process named by the pid file (and only that one).
options:
  name:
    description: Service name; the pid file is C(<run_dir>/<name>.pid) and the log C(<log_dir>/<name>.log).
    type: str
    required: true
  argv:
    description: The command and its arguments.
    type: list
    elements: str
  chdir:
    description: Working directory of the program.
    type: path
  env:
    description: Extra environment variables for the program (values are never logged).
    type: dict
    default: {}
  run_dir:
    description: Folder of the pid files.
    type: path
    required: true
  log_dir:
    description: Folder of the log files.
    type: path
    required: true
  port:
    description: TCP port on 127.0.0.1 the program listens on; checked before start and used for readiness.
    type: int
  health_url:
    description:
      - URL that answers HTTP 200 when the program is ready (takes precedence over I(port)).
      - Without I(health_url) and I(port), the program is ready once it has stayed up for two seconds.
    type: str
  ready_timeout:
    description: Seconds to wait for readiness after a start, and for an exit after a stop.
    type: int
    default: 30
  state:
    description: Whether the program should be running.
    type: str
    choices: [started, stopped]
    default: started
author: pm25-timestream contributors
"""

EXAMPLES = r"""
- name: Ensure the local Timestream store runs
  local_service:
    name: timestream_local
    argv: [python3, -m, timestream_local, serve, --port, "8600", --data-dir, .state/timestream]
    chdir: /path/to/project
    run_dir: .state/run
    log_dir: .state/log
    health_url: http://127.0.0.1:8600/health
"""

RETURN = r"""
pid:
  description: Process id of the running program (started), or of the program that was stopped.
  returned: when a process runs or was stopped
  type: int
log:
  description: Path of the log file.
  returned: always
  type: str
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

STARTUP_GRACE = 2.0  # seconds a program without port or health URL must stay up to count as started


def read_pid_file(pid_file: Path) -> tuple[int | None, list[str] | None]:
    """The pid and the command line recorded when the program was started."""
    try:
        pid_line, _, argv_line = pid_file.read_text().partition("\n")
        return int(pid_line), (json.loads(argv_line) if argv_line.strip() else None)
    except (OSError, ValueError):
        return None, None


def process_argv(pid: int) -> list[str] | None:
    """The live process's command line, or None when no such process runs."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if not raw:
        return None  # a zombie
    return raw.rstrip(b"\0").decode(errors="replace").split("\0")


def same_command(running: list[str], wanted: list[str]) -> bool:
    # An interpreter may be resolved to another path; compare the arguments after it exactly.
    return len(running) == len(wanted) and running[1:] == wanted[1:]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def healthy(health_url: str | None, port: int | None) -> bool:
    if health_url:
        try:
            with urllib.request.urlopen(health_url, timeout=1) as response:  # noqa: S310 - a local URL
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False
    if port:
        return port_open(port)
    return True


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stop(pid: int, timeout: int) -> None:
    """SIGTERM the program's process group (it leads one: it was started in a new session), then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process_argv(pid) is None:
                return
            time.sleep(0.1)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "argv": {"type": "list", "elements": "str"},
            "chdir": {"type": "path"},
            "env": {"type": "dict", "default": {}, "no_log": True},
            "run_dir": {"type": "path", "required": True},
            "log_dir": {"type": "path", "required": True},
            "port": {"type": "int"},
            "health_url": {"type": "str"},
            "ready_timeout": {"type": "int", "default": 30},
            "state": {"type": "str", "choices": ["started", "stopped"], "default": "started"},
        },
        required_if=[("state", "started", ["argv"])],
        supports_check_mode=True,
    )
    params = module.params
    name = params["name"]
    pid_file = Path(params["run_dir"]) / f"{name}.pid"
    log_file = Path(params["log_dir"]) / f"{name}.log"
    pid, recorded_argv = read_pid_file(pid_file)
    running = process_argv(pid) if pid else None
    result = {"changed": False, "log": str(log_file)}

    if params["state"] == "stopped":
        # Only the process this module started: a reused pid runs another command line.
        if pid and running is not None and recorded_argv and same_command(running, recorded_argv):
            result.update(changed=True, pid=pid)
            if not module.check_mode:
                stop(pid, params["ready_timeout"])
        if not module.check_mode and pid_file.exists():
            pid_file.unlink()
        module.exit_json(**result)

    argv = params["argv"]
    if pid and running is not None and same_command(running, argv):
        if healthy(params["health_url"], params["port"]):
            module.exit_json(pid=pid, **result)
        module.fail_json(
            msg=f"{name} runs (pid {pid}) but is not ready; see {log_file}, then run `make down` and try again.",
            log_tail=tail(log_file),
        )
    if params["port"] and port_open(params["port"]):
        module.fail_json(
            msg=f"port {params['port']} on 127.0.0.1 is already taken by another program, so {name} cannot "
            "start: stop that program or choose another port for it.",
        )
    result["changed"] = True
    if module.check_mode:
        module.exit_json(**result)

    pid_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **{key: str(value) for key, value in params["env"].items()}}
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            argv,
            cwd=params["chdir"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    pid_file.write_text(f"{process.pid}\n{json.dumps(argv)}\n")
    started = time.monotonic()
    deadline = started + params["ready_timeout"]
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pid_file.unlink(missing_ok=True)
            module.fail_json(
                msg=f"{name} exited with status {process.returncode} right after it started; see {log_file}.",
                log_tail=tail(log_file),
            )
        probed = params["health_url"] or params["port"]
        # A program with nothing to probe counts as ready once it has stayed up for a grace period.
        if healthy(params["health_url"], params["port"]) and (
            probed or time.monotonic() - started > STARTUP_GRACE
        ):
            module.exit_json(pid=process.pid, **result)
        time.sleep(0.2)
    module.fail_json(
        msg=f"{name} did not become ready within {params['ready_timeout']} s; see {log_file}.",
        pid=process.pid,
        log_tail=tail(log_file),
    )


if __name__ == "__main__":
    main()
