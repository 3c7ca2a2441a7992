"""Fixtures for the AWS deployment tests (moto's server, the AWS control plane, is tests/conftest.py's
``moto_server``): a runner that calls ansible-playbook the way a user does (from the project folder, with its ansible.cfg)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import LOCAL_CREDENTIALS, ROOT

BIN = Path(sys.executable).parent
PLAYBOOK_TIMEOUT = 240


@dataclass
class PlaybookRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def recap(self, host: str = "localhost") -> dict[str, int]:
        """The PLAY RECAP counters of one host (ok, changed, failed ...)."""
        for line in self.stdout.splitlines():
            if line.startswith(host) and "ok=" in line:
                fields = line.split(":", 1)[1].split()
                return {key: int(value) for key, value in (field.split("=") for field in fields)}
        raise AssertionError(f"no PLAY RECAP line for {host} in:\n{self.output}")


def ansible_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "AWS_"))}
    env.update(LOCAL_CREDENTIALS)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_LOCAL_TEMP=str(Path(os.environ.get("TMPDIR", "/tmp")) / "pm25-ansible-local"),
        PYTHONWARNINGS="ignore",
    )
    env.update(extra)
    return env


def run_playbook(playbook: str, extra_vars: dict, *args: str, env: dict | None = None) -> PlaybookRun:
    """ansible-playbook from the project folder with the project's ansible.cfg and inventory."""
    variables = {"ansible_python_interpreter": sys.executable, **extra_vars}
    command = [
        str(BIN / "ansible-playbook"),
        "-i",
        "inventory.ini",
        playbook,
        "-e",
        json.dumps(variables),
        *args,
    ]
    completed = subprocess.run(
        command,
        cwd=ROOT,
        env=env or ansible_env(),
        capture_output=True,
        text=True,
        timeout=PLAYBOOK_TIMEOUT,
        check=False,
    )
    return PlaybookRun(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture(scope="session")
def systemd_analyze() -> str | None:
    return shutil.which("systemd-analyze")
