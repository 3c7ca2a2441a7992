"""What roles/grafana does on a host beyond the rendered files: the collection's apt repository
step with the local play's interpreter, the folder ownership it shares with grafana.grafana, and
what --diff shows of the datasource's secret."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from tests.deploy.conftest import run_playbook
from tests.deploy.test_bastion_files import grafana_role_dir
from tests.services import ROOT


def test_the_collections_deb822_step_runs_with_the_local_interpreter(tmp_path):
    """`-e local_grafana=true` on Debian 12 / Ubuntu 24.04 runs deb822_repository with the .venv's
    Python, which must have python-debian."""
    key = tmp_path / "grafana.asc"
    key.write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n")
    run = run_playbook(
        "tests/deploy/playbooks/grafana_repository.yml",
        {"grafana_role_dir": str(grafana_role_dir()), "key_file": str(key)},
    )
    assert "python3-debian" not in run.output, run.output
    assert run.returncode == 0, run.output
    assert "URIs: https://apt.grafana.com/" in run.stdout
    assert "Suites: stable" in run.stdout
    assert not Path("/etc/apt/sources.list.d/grafana.sources").exists()
