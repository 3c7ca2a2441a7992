"""The terminal report: what a gauge shows (last non-null value per column), real names, clear errors."""

from __future__ import annotations

import subprocess
import sys

from dashboards.report import PanelRun, format_report, pivot_values, renamed
from dashboards.timestream_rows import QueryResult, datum_value
from tests.services import ROOT, free_port

# Two 30 s bins inside the 30 s window: a station appears in two rows; a gauge shows its last non-null value.
PIVOT = QueryResult(
    columns=["no_15_factory", "xujing", "chongming"],
    rows=[[None, 61.0, None], [55.0, None, None], [None, 60.0, None], [57.0, None, None]],
)
PANEL = {
    "type": "gauge",
    "title": "Shanghai PM2.5 analysis",
    "transformations": [{"id": "organize", "options": {"renameByName": {"no_15_factory": "no 15 factory"}}}],
}


def test_gauge_values_are_the_last_non_null_per_column():
    assert pivot_values(PIVOT) == [("no_15_factory", 57.0), ("xujing", 60.0), ("chongming", None)]


def test_columns_are_shown_under_the_panels_names():
    result = renamed(PIVOT, PANEL)
    assert result.columns == ["no 15 factory", "xujing", "chongming"]
    text = format_report(
        "PM2.5 Analysis 1", [PanelRun(1, PANEL["title"], "gauge", result, 0.012)], "http://127.0.0.1:8600"
    )
    assert "[1] Shanghai PM2.5 analysis  (12 ms)" in text
    assert "2/3 stations reporting" in text
    assert "no 15 factory 57.0 · xujing 60.0" in text
    assert "chongming" not in text.split("reporting")[1]


def test_timestream_datums_become_python_values():
    series_type = {"TimeSeriesMeasureValueColumnInfo": {"Type": {"ScalarType": "BIGINT"}}}
    datum = {
        "TimeSeriesValue": [
            {"Time": "2026-11-28 02:00:00.000000000", "Value": {"ScalarValue": "7"}},
            {"Time": "2026-11-28 02:00:01.000000000", "Value": {"ScalarValue": "9"}},
        ]
    }
    assert datum_value(datum, series_type) == [
        ("2026-11-28 02:00:00.000000000", 7),
        ("2026-11-28 02:00:01.000000000", 9),
    ]
    assert datum_value({"ScalarValue": "61.25"}, {"ScalarType": "DOUBLE"}) == 61.25
    assert datum_value({"NullValue": True}, {"ScalarType": "BIGINT"}) is None
    array = {"ArrayValue": [{"ScalarValue": "true"}, {"ScalarValue": "false"}]}
    assert datum_value(array, {"ArrayColumnInfo": {"Type": {"ScalarType": "BOOLEAN"}}}) == [True, False]


def test_report_without_a_running_store_says_what_to_do():
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "dashboards", "report", "--endpoint-url", f"http://127.0.0.1:{port}"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"error: nothing answers at http://127.0.0.1:{port}. Is the local pipeline running? `make demo` starts it."
    )
