"""The fleet-scale bench's own arithmetic (bench/scaling/): the verdict comes from the side-by-side
figures when a size was measured so, and the freshness probe does not count a silenced station's
missing seconds as late readings. Figures here are made up; expected values are computed by hand."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

from catalogue import load_catalogue

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def scaling():
    sys.path.insert(0, str(BENCH))  # the bench's modules import each other as scaling.*
    try:
        from scaling import panels, pipeline, report

        yield panels, pipeline, report
    finally:
        sys.path.remove(str(BENCH))


def _figures(panels, http_ms: list[float]):
    seconds = [ms / 1000 for ms in http_ms]
    return panels.PanelFigures(http=seconds, server=seconds, rows=[1] * 9)


def _size(panels, report, scale: int, stations: int, alone_ms: list[float], paired=None):
    from scaling.history import Built

    built = Built(memory_rows=1, parquet_rows=1, end_ns=0, seconds=1.0, memory_hours=3.0, parquet_hours=1.0)
    history = report.History(built, 1, 1, _figures(panels, alone_ms), paired)
    result = report.SizeResult(scale, stations, stations // 10)
    result.histories[3] = history
    return result


X1_ALONE = [2.0] * 6 + [10.0] * 3  # panels 1-6 sum 12 ms, 7-9 sum 30 ms
X100_ALONE = [4.0] * 6 + [300.0] * 3  # measured minutes later: 24 / 12 = 2.0, not met


def test_the_verdict_uses_the_side_by_side_figures(scaling) -> None:
    panels, _pipeline, report = scaling
    base = _figures(panels, [3.0] * 6 + [12.0] * 3)  # x1 while the x100 server ran beside it
    mine = _figures(panels, [4.0] * 6 + [300.0] * 3)
    small = _size(panels, report, 1, 115, X1_ALONE)
    large = _size(panels, report, 100, 11_500, X100_ALONE, paired=(base, mine))
    line = report.last_line({1: small, 100: large})
    # 24 / 18 = 1.33 side by side; panels 7-9 per station (900 / 11,500) / (36 / 115) = 0.25
    assert "panels 1-6 x1.33 (goal <= 1.5)" in line
    assert "panels 7-9 per-station x0.25 (goal <= 1.0)" in line
    assert line.endswith("-> not met: x10 ingest (not run)")


def test_without_a_side_by_side_run_the_figures_measured_apart_decide(scaling) -> None:
    panels, _pipeline, report = scaling
    small = _size(panels, report, 1, 115, X1_ALONE)
    large = _size(panels, report, 100, 11_500, X100_ALONE)
    line = report.last_line({1: small, 100: large})
    # 24 / 12 = 2.0; (900 / 11,500) / (30 / 115) = 0.30
    assert "panels 1-6 x2.00 (goal <= 1.5)" in line and "panels 7-9 per-station x0.30" in line
    assert line.endswith("-> not met: panels 1-6, x10 ingest (not run)")


class _Answers:
    """Stands in for the query client: each poll answers the next newest time of one station."""

    def __init__(self, name: str, newest: list[int]) -> None:
        self._name = name
        self._newest = iter(newest)

    def query(self, QueryString: str) -> dict:
        ns = next(self._newest)
        moment = dt.datetime.fromtimestamp(ns // 1_000_000_000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        text = f"{moment}.{ns % 1_000_000_000:09d}"
        return {"Rows": [{"Data": [{"ScalarValue": self._name}, {"ScalarValue": text}]}]}


@pytest.mark.parametrize(
    ("jump_s", "counted"),
    [(1, [1]), (3, [1, 2, 3]), (10, list(range(1, 11))), (11, [11]), (600, [600])],
)
def test_the_probe_counts_skipped_seconds_only_for_short_gaps(
    scaling, jump_s: int, counted: list[int]
) -> None:
    """A station whose newest reading moves on by up to SILENT_GAP_S seconds had each of those
    readings become visible now (the pipeline delivered them together); one further ahead was
    silent meanwhile (a sensor dropout): only its newest reading counts."""
    _panels, pipeline, _report = scaling
    assert pipeline.SILENT_GAP_S == 10
    probe = pipeline.Probe("http://127.0.0.1:9", load_catalogue())
    start = 1_795_000_000 * 1_000_000_000
    probe.client = _Answers(probe.names[0], [start, start + jump_s * 1_000_000_000])
    probe.poll(count_from_ns=0)
    assert probe.samples == []  # the first answer only sets where the station was
    probe.poll(count_from_ns=0)
    assert [(t - start) // 1_000_000_000 for t, _fresh in probe.samples] == counted
