"""The generated "PM2.5 Analysis 1" dashboard: committed JSON, Grafana 10 model, and valid queries."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import sqlglot
import yaml
from sqlglot import exp

from catalogue import load_catalogue
from dashboards.__main__ import render
from dashboards.queries import QueryContext
from tests.services import ROOT

DASHBOARD = ROOT / "dashboards" / "pm25-analysis-1.json"
TITLES = [
    "Beijing PM2.5 analysis",
    "Shanghai PM2.5 analysis",
    "Guangzhou PM2.5 analysis",
    "Shenzhen PM2.5 analysis",
    "Shenzhen OCT PM2.5 in the last 5 minutes",
    "Shenzhen OCT average PM2.5 over the past 2 hours (30 s bins, missing values filled by linear interpolation)",
    "PM2.5 average by city in the last 5 minutes (linear interpolation)",
    "Top 10 stations by PM2.5 in the last 5 minutes (linear interpolation)",
    "Lowest 10 stations by PM2.5 in the last 5 minutes (linear interpolation)",
]
TYPES = ["gauge"] * 4 + ["timeseries", "timeseries", "bargauge", "table", "table"]
FORMATS = [0, 0, 0, 0, 1, 1, 0, 0, 0]
DURATION = re.compile(r"\b(\d+)(ns|us|ms|s|m|h|d)\b")
UNIT_NAMES = {"ns": "NANOSECOND", "us": "MICROSECOND", "ms": "MILLISECOND", "s": "SECOND", "m": "MINUTE",
              "h": "HOUR", "d": "DAY"}  # fmt: skip


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def queries(dashboard: dict) -> list[str]:
    return [panel["targets"][0]["rawQuery"] for panel in dashboard["panels"]]


def parse_timestream_sql(sql: str) -> exp.Expression:
    """Parse as Trino once Timestream's duration literals (30s, 5m, 2h) are written as intervals."""
    trino = DURATION.sub(lambda m: f"INTERVAL '{m.group(1)}' {UNIT_NAMES[m.group(2)]}", sql)
    return sqlglot.parse_one(trino, read="trino", error_level=sqlglot.ErrorLevel.RAISE)


def test_committed_json_matches_the_generator(dashboard):
    expected = render(QueryContext(catalogue=load_catalogue()))
    assert DASHBOARD.read_text(encoding="utf-8") == expected, "run `make dashboards` and commit the JSON"


def test_dashboard_settings(dashboard):
    assert dashboard["title"] == "PM2.5 Analysis 1"
    assert dashboard["uid"] == "pm25-analysis-1"
    assert dashboard["refresh"] == "5s"
    assert dashboard["timezone"] == "browser"
    assert dashboard["schemaVersion"] >= 39
    assert "__inputs" not in dashboard
    assert "${DS_" not in DASHBOARD.read_text(encoding="utf-8")


def test_nine_panels_in_the_reference_order(dashboard):
    panels = dashboard["panels"]
    assert [p["title"] for p in panels] == TITLES
    assert [p["type"] for p in panels] == TYPES
    assert [p["targets"][0]["format"] for p in panels] == FORMATS
    assert len({p["id"] for p in panels}) == 9


def test_panels_do_not_overlap_and_fit_the_grid(dashboard):
    cells: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        assert pos["w"] > 0 and pos["h"] > 0
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_every_target_is_the_timestream_plugin_query_model(dashboard):
    provisioned = (ROOT / "roles" / "grafana_provisioning" / "defaults" / "main.yml").read_text()
    uid = yaml.safe_load(provisioned)["grafana_provisioning_datasource_uid"]
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "grafana-timestream-datasource", "uid": uid}
        (target,) = panel["targets"]
        assert set(target) == {"datasource", "refId", "rawQuery", "format", "waitForResult"}
        assert target["datasource"] == panel["datasource"]
        assert target["waitForResult"] is True
        assert isinstance(target["format"], int)


def test_gauges_and_bar_gauge_use_the_grafana_10_model(dashboard):
    for panel in dashboard["panels"]:
        if panel["type"] in ("gauge", "bargauge"):
            assert panel["options"]["reduceOptions"]["calcs"] == ["lastNotNull"]
            assert "fieldOptions" not in panel and "fieldOptions" not in panel["options"]
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert [s["value"] for s in steps] == [None, 35, 75, 115, 150, 250], panel["title"]
        assert steps[-1]["color"] == "#7e0023"
    units = {p["fieldConfig"]["defaults"].get("unit") for p in dashboard["panels"]}
    assert units == {"conµgm3"}


def test_every_query_parses_as_trino_sql(dashboard):
    for sql in queries(dashboard):
        parse_timestream_sql(sql)


def select_aliases(sql: str) -> list[str]:
    return [e.alias_or_name for e in parse_timestream_sql(sql).expressions]


def pivot_matches(sql: str, column: str) -> dict[str, str]:
    """{alias: literal} for each ``CASE WHEN column = 'literal' ... END AS alias`` of the outer SELECT."""
    result = {}
    for projection in parse_timestream_sql(sql).expressions:
        condition = projection.find(exp.If).this
        assert isinstance(condition, exp.EQ) and condition.this.name == column
        result[projection.alias] = condition.expression.this
    return result


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_city_gauges_pivot_every_station_of_the_city(dashboard, index):
    city = load_catalogue().city(TITLES[index].split()[0])
    sql = queries(dashboard)[index]
    matches = pivot_matches(sql, "location")
    assert sorted(matches.values()) == sorted(s.name for s in city.stations)
    for alias, station in matches.items():
        assert alias == re.sub(r"[^a-z0-9]+", "_", station.lower()).strip("_")
    assert f"city = '{city.name}'" in sql
    assert "ago(30s)" in sql and "BIN(time, 30s)" in sql


def test_reference_typos_do_not_survive(dashboard):
    text = "\n".join(queries(dashboard))
    for typo in ("shunyiFROM", "fengtai_xiaotou", "AS mentougou", "AS Huaqiao_city", "No15_factory"):
        assert typo not in text


def test_city_ranking_pivots_all_twelve_cities(dashboard):
    matches = pivot_matches(queries(dashboard)[6], "city")
    assert sorted(matches.values()) == sorted(load_catalogue().city_names)


def test_station_rankings(dashboard):
    top, lowest = queries(dashboard)[7], queries(dashboard)[8]
    for sql, order in ((top, "DESC"), (lowest, "ASC")):
        tree = parse_timestream_sql(sql)
        assert tree.args["limit"].expression.name == "10"
        assert tree.args["order"].expressions[0].args.get("desc") is (order == "DESC")
        assert select_aliases(sql) == ["city", "location", "avg_pm25_loc"]
        assert "INTERPOLATE_LINEAR" in sql and "CROSS JOIN UNNEST" in sql


def test_focus_station_panels(dashboard):
    five_minutes, two_hours = queries(dashboard)[4], queries(dashboard)[5]
    assert "CREATE_TIME_SERIES(time, measure_value::bigint)" in five_minutes
    assert "location = 'huaqiao city'" in five_minutes and "ago(5m)" in five_minutes
    assert "location = 'huaqiao city'" in two_hours and "ago(2h)" in two_hours
    assert "SEQUENCE(MIN(binned_timestamp), MAX(binned_timestamp), 30s)" in two_hours
    assert select_aliases(two_hours) == ["time", "interpolated_avg_pm25"]


def test_database_and_table_are_parameters():
    ctx = QueryContext(catalogue=load_catalogue(), database="air", table="readings")
    text = render(ctx)
    assert '\\"air\\".\\"readings\\"' in text
    assert '\\"iot\\"' not in text and 'pm25\\"' not in text


def test_build_cli_writes_the_file_and_refuses_a_bad_catalogue(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "dashboards", "build", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert (tmp_path / "pm25-analysis-1.json").read_text() == DASHBOARD.read_text()
    assert "wrote" in done.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("cities: {}\n")
    failed = subprocess.run(
        [sys.executable, "-m", "dashboards", "build", "--out", str(tmp_path), "--catalogue", str(bad)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert failed.returncode == 2
    assert failed.stderr.strip() == f"error: {bad}: the catalogue lists no cities"
    assert "Traceback" not in failed.stderr


def test_help_describes_the_command():
    done = subprocess.run(
        [sys.executable, "-m", "dashboards", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "grafanalib" in done.stdout and "build" in done.stdout
