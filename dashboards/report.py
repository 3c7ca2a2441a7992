"""A terminal report of the dashboards' panels ("PM2.5 Analysis 1", "PM2.5 Air Quality"), read through
the Timestream Query API.

The queries are the ``rawQuery`` strings of the generated dashboard JSON: the report
shows what Grafana shows, computed by the same SQL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dashboards.timestream_rows import QueryResult, run_query


@dataclass(frozen=True)
class PanelRun:
    index: int
    title: str
    panel_type: str
    result: QueryResult
    seconds: float


def load_dashboard(path: Path) -> tuple[str, list[dict[str, Any]]]:
    """A dashboard JSON's title and panels."""
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    return dashboard["title"], dashboard["panels"]


def renamed(result: QueryResult, panel: dict[str, Any]) -> QueryResult:
    """Apply the panel's 'organize' renames, so columns carry the names Grafana shows."""
    names: dict[str, str] = {}
    for transformation in panel.get("transformations", []):
        if transformation.get("id") == "organize":
            names.update(transformation.get("options", {}).get("renameByName", {}))
    return QueryResult([names.get(column, column) for column in result.columns], result.rows)


def run_panels(client: Any, panels: list[dict[str, Any]]) -> list[PanelRun]:
    runs = []
    for index, panel in enumerate(panels, start=1):
        started = time.perf_counter()
        result = run_query(client, panel["targets"][0]["rawQuery"])
        elapsed = time.perf_counter() - started
        runs.append(PanelRun(index, panel["title"], panel["type"], renamed(result, panel), elapsed))
    return runs


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def pivot_values(result: QueryResult) -> list[tuple[str, Any]]:
    """Last non-null value of each pivoted column, as a gauge with calcs=lastNotNull shows it."""
    values = []
    for position, column in enumerate(result.columns):
        present = [row[position] for row in result.rows if row[position] is not None]
        values.append((column, present[-1] if present else None))
    return values


def _summary(run: PanelRun) -> list[str]:
    result = run.result
    if run.panel_type == "gauge":
        values = pivot_values(result)
        shown = sum(value is not None for _, value in values)
        cells = [f"{name} {_fmt(value)}" for name, value in values if value is not None]
        return [f"{shown}/{len(values)} stations reporting", *_wrap(cells)]
    if run.panel_type == "bargauge":
        ranked = sorted(((v, n) for n, v in pivot_values(result) if v is not None), reverse=True)
        return [f"{len(ranked)} cities", *_wrap([f"{name} {_fmt(value)}" for value, name in ranked])]
    if run.panel_type == "timeseries":
        if result.rows and isinstance(result.rows[0][-1], list):  # CREATE_TIME_SERIES: one row per series
            points = sum(len(row[-1]) for row in result.rows)
            return [f"{len(result.rows)} series, {points} points"]
        return [f"{len(result.rows)} points (30 s steps)"]
    lines = [f"{len(result.rows)} rows"]
    lines += [" | ".join(_fmt(value) for value in row) for row in result.rows]
    return lines


def _wrap(cells: list[str], width: int = 100) -> list[str]:
    lines, line = [], ""
    for cell in cells:
        if line and len(line) + 3 + len(cell) > width:
            lines.append(line)
            line = cell
        else:
            line = f"{line} · {cell}" if line else cell
    return [*lines, line] if line else lines


def format_report(title: str, runs: list[PanelRun], source: str) -> str:
    total = sum(run.seconds for run in runs)
    out = [f"{title} — {len(runs)} panels from {source} in {total * 1000:.0f} ms"]
    for run in runs:
        out.append(f"\n[{run.index}] {run.title}  ({run.seconds * 1000:.0f} ms)")
        out.extend(f"    {line}" for line in _summary(run))
    return "\n".join(out) + "\n"


def wait_for_fresh_data(
    client: Any, source: str, max_age_s: float, timeout_s: float, progress: Callable[[str], None]
) -> bool:
    """Wait until the newest reading in ``source`` is at most ``max_age_s`` old; False on timeout."""
    sql = f"SELECT COUNT(*) AS n FROM {source} WHERE time > ago({int(max_age_s)}s)"
    deadline = time.monotonic() + timeout_s
    while True:
        count = run_query(client, sql).rows[0][0]
        if count:
            progress(f"fresh data: {count} readings in the last {int(max_age_s)} s")
            return True
        if time.monotonic() > deadline:
            progress(f"no reading newer than {int(max_age_s)} s arrived in {timeout_s:.0f} s")
            return False
        progress("waiting for fresh readings ...")
        time.sleep(2)
