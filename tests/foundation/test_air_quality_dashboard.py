"""The generated "PM2.5 Air Quality" dashboard: committed JSON, panels, colours, and that it reads
only the rollup table. (Its queries' answers are checked against the store in
test_air_quality_queries.py; its Grafana types in test_dashboard_schema.py.)"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import pytest
from sqlglot import exp

from catalogue import load_catalogue
from dashboards.__main__ import render_air_quality
from dashboards.air_quality_queries import RollupContext
from tests.air_quality import LEVELS, hex_colour
from tests.foundation.test_dashboard import parse_timestream_sql
from tests.services import ROOT

DASHBOARD = ROOT / "dashboards" / "pm25-air-quality.json"


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def queries(dashboard: dict) -> list[str]:
    return [panel["targets"][0]["rawQuery"] for panel in dashboard["panels"]]


def test_committed_json_matches_the_generator():
    expected = render_air_quality(RollupContext(catalogue=load_catalogue()))
    assert DASHBOARD.read_text(encoding="utf-8") == expected, "run `make dashboards` and commit the JSON"


def test_dashboard_settings_and_panels(dashboard):
    assert dashboard["title"] == "PM2.5 Air Quality"
    assert dashboard["uid"] == "pm25-air-quality"
    assert dashboard["uid"] != json.loads((ROOT / "dashboards" / "pm25-analysis-1.json").read_text())["uid"]
    assert [panel["type"] for panel in dashboard["panels"]] == ["table", "bargauge", "timeseries"]
    assert [panel["targets"][0]["format"] for panel in dashboard["panels"]] == [0, 0, 1]
    assert len({panel["id"] for panel in dashboard["panels"]}) == 3
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "grafana-timestream-datasource", "uid": "timestream-pm25"}


def test_it_reads_only_the_rollup_table(dashboard):
    for sql in queries(dashboard):
        tables = {(table.db, table.name) for table in parse_timestream_sql(sql).find_all(exp.Table)}
        tables -= {("", "city_24h"), ("", "city_iaqi")}  # its own CTEs
        assert tables == {("iot", "pm25_hourly")}, sql
        assert "measure_name = 'pm25_hourly'" in sql


def test_iaqi_is_coloured_by_the_standards_six_levels(dashboard):
    expected = [{"color": hex_colour(LEVELS[0][2]), "value": None}] + [
        {"color": hex_colour(rgb), "value": below + 1}
        for (below, _, _), (_, _, rgb) in itertools.pairwise(LEVELS)
    ]
    assert expected[1] == {"color": "#FFFF00", "value": 51}
    table, bars, _ = dashboard["panels"]
    assert table["fieldConfig"]["defaults"]["thresholds"]["steps"] == expected
    assert bars["fieldConfig"]["defaults"]["thresholds"]["steps"] == expected
    assert bars["fieldConfig"]["defaults"]["max"] == 500
    overrides = {o["matcher"]["options"]: o["properties"] for o in table["fieldConfig"]["overrides"]}
    assert {"id": "custom.cellOptions", "value": {"type": "color-background"}} in overrides["iaqi"]
    (mappings,) = [p["value"] for p in overrides["category"] if p["id"] == "mappings"]
    colours = {name: option["color"] for name, option in mappings[0]["options"].items()}
    assert colours == {name: hex_colour(rgb) for _, name, rgb in LEVELS}


def test_the_bar_gauge_has_one_bar_per_city(dashboard):
    projections = parse_timestream_sql(queries(dashboard)[1]).expressions
    cities = sorted(projection.find(exp.If).this.expression.this for projection in projections)
    assert cities == sorted(load_catalogue().city_names)


def test_build_writes_both_dashboards(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "dashboards", "build", "--out", str(tmp_path), "--rollup-table", "daily_air"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.count("wrote") == 2
    written = json.loads((tmp_path / "pm25-air-quality.json").read_text())
    assert all('"iot"."daily_air"' in sql for sql in queries(written))
    assert (tmp_path / "pm25-analysis-1.json").read_text() == (
        ROOT / "dashboards/pm25-analysis-1.json"
    ).read_text()
