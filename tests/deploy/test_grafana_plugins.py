"""roles/grafana installs its plugins with Grafana's own CLI at pinned versions, with the home path
Grafana 13 needs, and leaves them alone on a second run. Grafana cannot be installed here, so a
stand-in CLI (tests/deploy/standins/grafana_cli.py) plays Grafana's part; what only a real host can
tell is listed in docs/deploy-aws.md."""

from __future__ import annotations

import json
import sys

import pytest
import yaml

from tests.deploy.conftest import run_playbook
from tests.services import ROOT

PLUGIN = "grafana-timestream-datasource"
STANDIN = ROOT / "tests" / "deploy" / "standins" / "grafana_cli.py"


def pinned_plugins() -> list[dict]:
    return yaml.safe_load((ROOT / "roles/grafana/defaults/main.yml").read_text())["grafana_pm25_plugins"]


@pytest.fixture
def grafana_host(tmp_path) -> dict:
    """A Grafana layout in a folder: the CLI, its home (with conf/defaults.ini), the plugins folder."""
    cli = tmp_path / "usr/share/grafana/bin/grafana"
    cli.parent.mkdir(parents=True)
    cli.write_text(f"#!{sys.executable}\n" + STANDIN.read_text())
    cli.chmod(0o755)
    home = tmp_path / "usr/share/grafana"
    (home / "conf").mkdir()
    (home / "conf" / "defaults.ini").write_text("[paths]\n")
    plugins = tmp_path / "var/lib/grafana/plugins"
    plugins.mkdir(parents=True)
    return {
        "vars": {
            "grafana_pm25_cli": str(cli),
            "grafana_pm25_homepath": str(home),
            "grafana_pm25_config_file": str(tmp_path / "etc/grafana/grafana.ini"),
            "grafana_pm25_plugins_dir": str(plugins),
        },
        "plugins": plugins,
        "calls": plugins.parent / "calls.jsonl",
    }


def calls(host: dict) -> list[list[str]]:
    if not host["calls"].exists():
        return []
    return [json.loads(line) for line in host["calls"].read_text().splitlines()]


def installed_version(host: dict, plugin: str = PLUGIN) -> str:
    return json.loads((host["plugins"] / plugin / "plugin.json").read_text())["info"]["version"]


def test_the_timestream_plugin_is_pinned():
    (plugin,) = pinned_plugins()
    assert plugin["id"] == PLUGIN
    assert [int(part) for part in str(plugin["version"]).split(".")] >= [2, 13, 0]


def test_plugin_is_installed_once_with_the_home_path_and_the_pinned_version(grafana_host):
    version = pinned_plugins()[0]["version"]
    first = run_playbook("tests/deploy/playbooks/grafana_plugins.yml", grafana_host["vars"])
    assert first.returncode == 0, first.output
    assert first.recap()["changed"] == 1
    v = grafana_host["vars"]
    assert calls(grafana_host) == [
        ["cli", "--homepath", v["grafana_pm25_homepath"], "--config", v["grafana_pm25_config_file"],
         "--pluginsDir", v["grafana_pm25_plugins_dir"], "plugins", "install", PLUGIN, version],
    ]  # fmt: skip
    assert installed_version(grafana_host) == version

    second = run_playbook("tests/deploy/playbooks/grafana_plugins.yml", grafana_host["vars"])
    assert second.returncode == 0, second.output
    assert second.recap()["changed"] == 0, second.output
    assert len(calls(grafana_host)) == 1


def test_a_plugin_at_another_version_is_replaced_by_the_pinned_one(grafana_host):
    version = pinned_plugins()[0]["version"]
    old = grafana_host["plugins"] / PLUGIN
    old.mkdir()
    (old / "plugin.json").write_text(json.dumps({"id": PLUGIN, "info": {"version": "2.9.0"}}))
    run = run_playbook("tests/deploy/playbooks/grafana_plugins.yml", grafana_host["vars"])
    assert run.returncode == 0, run.output
    assert [call[-3:] for call in calls(grafana_host)] == [
        ["plugins", "remove", PLUGIN],
        ["install", PLUGIN, version],
    ]
    assert installed_version(grafana_host) == version


def test_a_second_plugin_is_installed_beside_one_already_pinned(grafana_host):
    plugins = [*pinned_plugins(), {"id": "grafana-clock-panel", "version": "2.1.8"}]
    first = run_playbook(
        "tests/deploy/playbooks/grafana_plugins.yml",
        {**grafana_host["vars"], "grafana_pm25_plugins": plugins},
    )
    assert first.returncode == 0, first.output
    assert installed_version(grafana_host, "grafana-clock-panel") == "2.1.8"
    assert len(calls(grafana_host)) == 2


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"grafana_pm25_version": "latest"}, "grafana_pm25_version must be an exact Grafana version"),
        ({"grafana_pm25_plugins": ["grafana-timestream-datasource"]}, "needs an id and an exact version"),
        (
            {"grafana_pm25_plugins": [{"id": PLUGIN, "version": "latest"}]},
            "needs an id and an exact version",
        ),
    ],
)
def test_an_unpinned_version_is_refused(grafana_host, override, message):
    run = run_playbook("tests/deploy/playbooks/grafana_plugins.yml", {**grafana_host["vars"], **override})
    assert run.returncode != 0
    assert message in run.output
    assert calls(grafana_host) == []
