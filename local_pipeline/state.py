"""The supervisor's state file, ``<run_dir>/<name>.state.json``: what `make status` and `make down` read.

The supervisor rewrites it (atomically: a temporary file renamed over the old one) whenever something
changes: the child started, ended, is waiting to be restarted, gave up, or was stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# What the supervisor is doing. "running": the child runs; "restarting": it ended and starts again
# after a delay; "failed": the start limit was reached (or the child could not be started) and the
# supervisor ended; "exited": the child ended in a way that needs no restart (e.g. status 0);
# "stopped": stopped on request (make down).
RUNNING, RESTARTING, FAILED, EXITED, STOPPED, STOPPING = (
    "running",
    "restarting",
    "failed",
    "exited",
    "stopped",
    "stopping",
)


@dataclass
class LastExit:
    description: str  # "exited with status 1", "killed by signal 9 (SIGKILL)"
    code: int  # the status a shell would report (128 + signal for a signal)
    at: float  # epoch seconds


@dataclass
class ServiceState:
    name: str
    supervisor_pid: int
    argv: list[str]
    state: str = RUNNING
    pid: int | None = None  # the child's pid while it runs
    pgid: int | None = None  # the child's process group (it leads its own)
    started_at: float | None = None  # epoch seconds of the child's current start
    restarts: int = 0
    last_exit: LastExit | None = None
    next_start_at: float | None = None
    message: str = ""
    supervisor_started_at: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ServiceState:
        data = json.loads(text)
        last = data.pop("last_exit", None)
        state = cls(**data)
        state.last_exit = LastExit(**last) if last else None
        return state


def state_path(run_dir: Path, name: str) -> Path:
    return Path(run_dir) / f"{name}.state.json"


def write_state(path: Path, state: ServiceState) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(state.to_json())
    os.replace(temporary, path)


def read_state(path: Path) -> ServiceState | None:
    """The recorded state, or None when there is none (or it cannot be read)."""
    with contextlib.suppress(OSError, ValueError, TypeError):
        return ServiceState.from_json(Path(path).read_text())
    return None
