"""`make demo` prints the panel report after the play, as plain lines, with the same command as
`make panels` (the play itself shows only the report's first line: Ansible prints messages as
JSON)."""

from __future__ import annotations

import subprocess

from tests.services import ROOT


def dry_run(target: str) -> list[str]:
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", target],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return [line for line in done.stdout.splitlines() if line.strip()]


def test_demo_prints_the_report_after_the_play():
    lines = dry_run("demo")
    play = next(i for i, line in enumerate(lines) if "ansible-playbook site.yml" in line)
    report = [i for i, line in enumerate(lines) if "-m dashboards report" in line]
    assert report and report[0] > play, lines
    assert lines[report[0]] == next(line for line in dry_run("panels") if "-m dashboards report" in line)
