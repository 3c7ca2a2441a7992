"""Every generated dashboard type-checks against Grafana's own dashboard and panel-option types
(`@grafana/schema`, the version of the Grafana roles/grafana installs) with the TypeScript compiler.
tests/foundation/dashboard_types.py writes the TypeScript; tsc judges it."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.foundation import dashboard_types
from tests.services import ROOT

TSC = ROOT / "node_modules" / ".bin" / "tsc"
DASHBOARDS = sorted((ROOT / "dashboards").glob("*.json"))


@pytest.fixture
def check_dir():
    """A folder inside node_modules/, so that TypeScript resolves @grafana/schema from there."""
    if not TSC.exists():
        pytest.fail(f"{TSC} is missing; run `make setup`")
    cache = ROOT / "node_modules" / ".cache"
    cache.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="dashboard-types-", dir=cache))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def tsc(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(TSC), "-p", str(folder), "--pretty", "false"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_the_schema_is_the_one_of_the_pinned_grafana():
    pinned = yaml.safe_load((ROOT / "roles/grafana/defaults/main.yml").read_text())["grafana_pm25_version"]
    package = json.loads((ROOT / "package.json").read_text())
    assert package["devDependencies"]["@grafana/schema"] == pinned
    installed = json.loads((ROOT / "node_modules/@grafana/schema/package.json").read_text())
    assert installed["version"] == pinned
    assert pinned.split(".")[0] == "12"


def test_every_dashboard_type_checks_against_grafanas_schema(check_dir):
    assert [path.name for path in DASHBOARDS] == ["pm25-air-quality.json", "pm25-analysis-1.json"]
    written = dashboard_types.write(check_dir, DASHBOARDS)
    assert [path.stem for path in written] == [path.stem for path in DASHBOARDS]
    checked = tsc(check_dir)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_generated_dashboard_holds_no_null_but_the_first_threshold():
    """Unset fields are dropped (dashboards/grafana_json.py), so the check needs no `| null`."""

    def nulls(value, path=""):
        if isinstance(value, dict):
            for key, item in value.items():
                yield from nulls(item, f"{path}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from nulls(item, f"{path}[{index}]")
        elif value is None:
            yield path

    for path in DASHBOARDS:
        found = set(nulls(json.loads(path.read_text())))
        assert found, "the first threshold step's value (minus infinity) must stay null"
        assert all(p.endswith(".thresholds.steps[0].value") for p in found), sorted(found)


def broken(change) -> dict:
    dashboard = json.loads((ROOT / "dashboards" / "pm25-analysis-1.json").read_text())
    panels = {panel["type"]: panel for panel in dashboard["panels"]}
    change(dashboard, panels)
    return dashboard


# One mistake per dashboard, and the words tsc must say about it.
MISTAKES = {
    "misspelt-gauge-option": (
        lambda d, p: p["gauge"]["options"].update(showThresholdMarker=True),
        "'\"showThresholdMarker\"' does not exist",
    ),
    "unknown-bargauge-display-mode": (
        lambda d, p: p["bargauge"]["options"].update(displayMode="gradiant"),
        "Type '\"gradiant\"' is not assignable",
    ),
    "misspelt-timeseries-custom-field": (
        lambda d, p: p["timeseries"]["fieldConfig"]["defaults"]["custom"].update(lineWidht=2),
        "'\"lineWidht\"' does not exist",
    ),
    "misspelt-table-option": (
        lambda d, p: p["table"]["options"].update(showHeaders=True),
        "'\"showHeaders\"' does not exist",
    ),
    "unknown-panel-field": (
        lambda d, p: p["table"].update(fontSize="90%"),
        "'\"fontSize\"' does not exist",
    ),
    "null-panel-field": (
        lambda d, p: p["gauge"].update(interval=None),
        "Type 'null' is not assignable",
    ),
    "wrong-dashboard-field-type": (
        lambda d, p: d.update(refresh=5),
        "Type 'number' is not assignable",
    ),
}


def test_the_check_catches_unknown_fields_and_wrong_values(check_dir, tmp_path):
    sources = []
    for name, (change, _) in MISTAKES.items():
        source = tmp_path / f"{name}.json"
        source.write_text(json.dumps(broken(change)))
        sources.append(source)
    dashboard_types.write(check_dir, sources)
    checked = tsc(check_dir)
    assert checked.returncode != 0
    for name, (_, said) in MISTAKES.items():
        complaints = [line for line in checked.stdout.splitlines() if f"/{name}.ts(" in line]
        assert any(said in line for line in complaints), f"{name}: {said!r} not in\n" + "\n".join(complaints)


def test_a_panel_type_without_mapped_options_is_refused():
    dashboard = {"title": "x", "panels": [{"type": "piechart", "title": "pie"}]}
    with pytest.raises(ValueError, match="no option types are mapped for panel type"):
        dashboard_types.typescript_for(copy.deepcopy(dashboard), "x.json")
