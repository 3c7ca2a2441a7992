"""Run ansible-playbook from the project's virtualenv and read its recap."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.services import ROOT

BIN = Path(sys.executable).parent
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


@dataclass
class PlaybookRun:
    returncode: int
    output: str

    def recap(self, host: str = "localhost") -> dict[str, int]:
        for match in RECAP.finditer(self.output):
            if match.group(1) == host:
                ok, changed, unreachable, failed = (int(g) for g in match.groups()[1:])
                return {"ok": ok, "changed": changed, "unreachable": unreachable, "failed": failed}
        raise AssertionError(f"no recap for {host} in:\n{self.output}")


def run_playbook(playbook: Path | str, *args: str, env: dict[str, str] | None = None) -> PlaybookRun:
    environment = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        **(env or {}),
    }
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), str(playbook), *args],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    return PlaybookRun(done.returncode, done.stdout + done.stderr)
