"""Run the simulator as users do: ``python -m simulator ...`` in a child process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def simulate(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "simulator", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def stdout_records(*args: str) -> list[dict]:
    """The records the stdout sink prints for these options (one JSON object per line)."""
    result = simulate("--sink", "stdout", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def sent_count(stderr: str) -> int:
    """The number of accepted records from the final ``done (...)`` log line, checked to be all
    the records generated (nothing left behind in a buffer)."""
    match = re.search(r"done \([^)]*\): ([\d,]+) records in [\d,]+ ticks.*; ([\d,]+) sent", stderr)
    assert match, stderr
    generated, sent = (int(group.replace(",", "")) for group in match.groups())
    assert sent == generated, stderr
    return sent
