#!/usr/bin/python
"""Ansible module: keep one background program of the local pipeline running (or stopped)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: local_service
short_description: Run a program of the local pipeline in the background, tracked by a pid file
description:
  - Starts a long-running program detached from Ansible, with its output in a log file and its process id
    in a pid file, and waits until it is ready (its health URL answers 200, or its port accepts connections).
  - Leaves a program alone when its pid file names a live process running the same command that is ready;
    replaces (stops, then starts) the process its pid file names when it was started with another command.
  - Refuses to start when the port is already taken by another program, naming the port, the program
    holding it (where the system tells) and the variable that moves the service (I(port_variable)).
  - With I(supervisor), runs the program under that supervisor (the project's
    C(python -m local_pipeline supervise)), which restarts it when it fails; the pid file then names the
    supervisor and C(<run_dir>/<name>.state.json) the program.
  - A start that fails (the program exits, or is not ready in time) stops what it started.
  - With I(state=stopped), stops the process named by the pid file (and only that one) with every process
    of its process group, waiting until all are gone; with a supervisor, also the supervised program
    named by the state file if it still runs.
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
  port_variable:
    description: The variable that sets I(port), named in the error when the port is taken.
    type: str
  one_shot:
    description:
      - The program does a job and ends (a loader). Ending with status 0, even before it counts as ready,
        is success. Other programs must keep running.
    type: bool
    default: false
  supervisor:
    description:
      - Command (and options) of a supervisor to run the program under, such as
        C([python, -m, local_pipeline, supervise, --restart, on-failure]); the module adds
        C(--name), C(--state-file) and C(-- argv).
      - Empty (the default) runs the program directly.
    type: list
    elements: str
    default: []
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
name:
  description: The service name (for a rescue that stops what a failed run started).
  returned: always
  type: str
replaced:
  description: Process id of the program stopped because it ran with another command line.
  returned: when one was replaced
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
from ansible.module_utils.pm25_ports import describe_holder

STARTUP_GRACE = 2.0  # seconds a program without port or health URL must stay up to count as started


def read_pid_file(pid_file: Path) -> tuple[int | None, list[str] | None]:
    """The pid and the command line recorded when the program was started."""
    try:
        pid_line, _, argv_line = pid_file.read_text().partition("\n")
        return int(pid_line), (json.loads(argv_line) if argv_line.strip() else None)
    except (OSError, ValueError):
        return None, None


def read_state_file(path: Path) -> dict:
    """What a supervisor recorded about its program (empty when there is nothing readable)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


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


def group_members(pgid: int) -> list[int]:
    """Processes of process group ``pgid`` that have not exited (zombies have)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


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


def stop(pgid: int, timeout: int, reap: subprocess.Popen | None = None) -> None:
    """SIGTERM the process group ``pgid`` (a program started here leads one: it was started in a new
    session), wait until every process of it is gone, SIGKILL what is left after ``timeout``.

    Waiting for the whole group, not only its leader: a loader run through a shell keeps its Python
    child flushing (and retrying) after the shell is gone."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if reap is not None:
                reap.poll()
            if not group_members(pgid):
                return
            time.sleep(0.1)


def supervised_child(state: dict) -> tuple[int | None, list[str] | None]:
    pid, argv = state.get("pid"), state.get("argv")
    return (pid if isinstance(pid, int) else None), (argv if isinstance(argv, list) else None)


def stop_service(module, pid, running, recorded_argv, state_file: Path, timeout: int) -> bool:
    """Stop the recorded program (and its supervised child); True when something was running."""
    stopped = False
    if pid and running is not None and recorded_argv and same_command(running, recorded_argv):
        stopped = True
        if not module.check_mode:
            stop(pid, timeout)
    # A supervisor that died (kill -9) leaves its program running: stop it too, by the pid it recorded.
    child, child_argv = supervised_child(read_state_file(state_file))
    child_running = process_argv(child) if child else None
    if child and child_running is not None and child_argv and same_command(child_running, child_argv):
        stopped = True
        if not module.check_mode:
            stop(child, timeout)
    return stopped


def port_taken_message(name: str, port: int, variable: str | None) -> str:
    move = (
        f"or move {name} to another port with -e {variable}=PORT"
        if variable
        else f"or choose another port for {name}"
    )
    return (
        f"port {port} on 127.0.0.1 is already taken by {describe_holder(port)}, so {name} cannot start: "
        f"stop that program, {move}."
    )


def wait_until_ready(module, name, process, log_file: Path, state_file: Path | None, result: dict) -> None:
    """Wait for the program just started; on failure stop it (and whatever it started) and fail."""
    params = module.params
    started = time.monotonic()
    deadline = started + params["ready_timeout"]
    probed = params["health_url"] or params["port"]

    def give_up(msg: str) -> None:
        stop(process.pid, params["ready_timeout"], reap=process)
        if state_file is not None:
            child, _ = supervised_child(read_state_file(state_file))
            if child:
                stop(child, params["ready_timeout"])
        Path(params["run_dir"], f"{name}.pid").unlink(missing_ok=True)
        module.fail_json(msg=msg, log_tail=tail(log_file), **result)

    while time.monotonic() < deadline:
        if process.poll() is not None:
            ended = read_state_file(state_file).get("last_exit") if state_file is not None else None
            if params["one_shot"] and process.returncode == 0 and (ended is None or ended.get("code") == 0):
                Path(params["run_dir"], f"{name}.pid").unlink(missing_ok=True)
                module.exit_json(pid=process.pid, **result)  # done already
            what = ended["description"] if ended else f"exited with status {process.returncode}"
            give_up(f"{name} {what} right after it started; see {log_file}.")
        if state_file is not None:
            ended = read_state_file(state_file).get("last_exit")
            if ended and not (params["one_shot"] and ended.get("code") == 0):
                # the supervisor would restart it; a program that fails at once needs a person
                give_up(f"{name} {ended['description']} right after it started; see {log_file}.")
        # A program with nothing to probe counts as ready once it has stayed up for a grace period.
        if healthy(params["health_url"], params["port"]) and (
            probed or time.monotonic() - started > STARTUP_GRACE
        ):
            module.exit_json(pid=process.pid, **result)
        time.sleep(0.2)
    give_up(f"{name} did not become ready within {params['ready_timeout']} s; see {log_file}.")


def wait_while_restarting(module, name, pid, log_file: Path, state_file: Path, result: dict) -> None:
    """A supervised program found running but not ready (e.g. being restarted): give it time."""
    params = module.params
    deadline = time.monotonic() + params["ready_timeout"]
    while time.monotonic() < deadline:
        if healthy(params["health_url"], params["port"]):
            module.exit_json(pid=pid, **result)
        time.sleep(0.5)
    state = read_state_file(state_file)
    doing = state.get("message") or state.get("state") or "no state recorded"
    module.fail_json(
        msg=f"{name} runs under its supervisor (pid {pid}) but has not been ready for {params['ready_timeout']} s "
        f"({doing}); see {log_file} and `make status`.",
        log_tail=tail(log_file),
        **result,
    )


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
            "port_variable": {"type": "str"},
            "supervisor": {"type": "list", "elements": "str", "default": []},
            "one_shot": {"type": "bool", "default": False},
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
    state_file = Path(params["run_dir"]) / f"{name}.state.json"
    pid, recorded_argv = read_pid_file(pid_file)
    running = process_argv(pid) if pid else None
    result = {"changed": False, "log": str(log_file), "name": name}

    if params["state"] == "stopped":
        # Only the process this module started: a reused pid runs another command line.
        if stop_service(module, pid, running, recorded_argv, state_file, params["ready_timeout"]):
            result.update(changed=True, pid=pid)
        if not module.check_mode and pid_file.exists():
            pid_file.unlink()
        module.exit_json(**result)

    supervised = bool(params["supervisor"])
    argv = params["argv"]
    if supervised:
        argv = [*params["supervisor"], "--name", name, "--state-file", str(state_file), "--", *argv]
    if pid and running is not None and same_command(running, argv):
        if healthy(params["health_url"], params["port"]):
            module.exit_json(pid=pid, **result)
        if supervised:
            wait_while_restarting(module, name, pid, log_file, state_file, result)
        module.fail_json(
            msg=f"{name} runs (pid {pid}) but is not ready; see {log_file}; if it hangs, stop it (kill {pid}) and try again.",
            log_tail=tail(log_file),
            **result,
        )
    if pid and running is not None and recorded_argv and same_command(running, recorded_argv):
        # Started here earlier with other settings (or before an upgrade): replace it, so that no copy
        # runs untracked beside the new one.
        result["replaced"] = pid
        if not module.check_mode:
            stop_service(module, pid, running, recorded_argv, state_file, params["ready_timeout"])
    if params["port"] and port_open(params["port"]):
        module.fail_json(msg=port_taken_message(name, params["port"], params["port_variable"]), **result)
    result["changed"] = True
    if module.check_mode:
        module.exit_json(**result)

    pid_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    if supervised:
        state_file.unlink(missing_ok=True)  # the new supervisor writes its own
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
    wait_until_ready(module, name, process, log_file, state_file if supervised else None, result)


if __name__ == "__main__":
    main()
