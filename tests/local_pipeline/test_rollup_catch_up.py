"""`python -m local_pipeline rollup-catch-up`: which past hours `make demo` rolls up after loading history,
and what it says when it cannot."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from local_pipeline.rollup import past_hours
from tests.services import ROOT


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "since", "hours"),
    [
        # 65 minutes back from 14:30 reach into 13:00; the current hour (14:00) is not whole yet.
        ("2026-12-04T14:30:00", timedelta(minutes=65), ["2026-12-04T13:00:00"]),
        # 15 minutes back from 14:30 stay in the current hour: nothing to roll up.
        ("2026-12-04T14:30:00", timedelta(minutes=15), []),
        # Exactly one hour back from a full hour: that hour, and only it.
        ("2026-12-04T14:00:00", timedelta(hours=1), ["2026-12-04T13:00:00"]),
        # One millisecond less: still inside 13:00.
        ("2026-12-04T14:00:00", timedelta(hours=1) - timedelta(milliseconds=1), ["2026-12-04T13:00:00"]),
        # Two hours back from 14:00:00.001: 12:00 and 13:00.
        (
            "2026-12-04T14:00:00.001",
            timedelta(hours=2),
            ["2026-12-04T12:00:00", "2026-12-04T13:00:00"],
        ),
        # Across midnight.
        ("2026-12-05T01:10:00", timedelta(hours=2), ["2026-12-04T23:00:00", "2026-12-05T00:00:00"]),
    ],
)
def test_each_whole_past_hour_of_the_window_once(now, since, hours):
    assert list(past_hours(since, at(now))) == [at(hour) for hour in hours]


def test_a_missing_scheduled_query_is_one_sentence(timestream_local):
    done = subprocess.run(
        [
            sys.executable, "-m", "local_pipeline", "rollup-catch-up", "--name", "nowhere-rollup", "--since", "2h",
            "--endpoint-url", timestream_local.url, "--region", "us-east-1",
        ],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        == "error: no scheduled query is called 'nowhere-rollup'; run make demo to create it"
    )


def test_a_bad_window_is_refused_by_argparse():
    done = subprocess.run(
        [sys.executable, "-m", "local_pipeline", "rollup-catch-up", "--name", "x", "--since", "two hours"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "'two hours' is not a duration" in done.stderr
