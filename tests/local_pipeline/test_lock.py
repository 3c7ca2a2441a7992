"""Two runs on one state folder at once (two `make demo`): the second says which run holds the lock and
waits for it, or gives up after --wait without touching anything and without advising make down."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tests.local_pipeline.helpers import wait_for
from tests.services import ROOT

STEP = "import sys, time; open(sys.argv[1], 'a').write(sys.argv[2] + ' start\\n'); time.sleep(float(sys.argv[3])); open(sys.argv[1], 'a').write(sys.argv[2] + ' end\\n')"


def exclusive(state_dir, what: str, *command: str, wait: str = "60") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "local_pipeline", "exclusive", "--state-dir", str(state_dir), "--what", what,
         "--wait", wait, "--", *command],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def holder(state_dir) -> dict:
    try:
        return json.loads((state_dir / "run" / "play.lock").read_text() or "{}")
    except (OSError, ValueError):
        return {}


def test_the_second_run_waits_for_the_first_and_says_for_what(tmp_path):
    state, order = tmp_path / ".state", tmp_path / "order"
    first = exclusive(state, "make demo", sys.executable, "-c", STEP, str(order), "first", "2")
    wait_for(lambda: holder(state).get("pid") == first.pid, 10, "the first run to take the lock")
    second = exclusive(state, "make demo", sys.executable, "-c", STEP, str(order), "second", "0")
    _, first_err = first.communicate(timeout=30)
    _, second_err = second.communicate(timeout=30)
    assert first.returncode == second.returncode == 0, (first_err, second_err)
    assert order.read_text().split("\n")[:4] == ["first start", "first end", "second start", "second end"]
    assert f"make demo: make demo (pid {first.pid}, started " in second_err
    assert "is running on this pipeline" in second_err
    assert "make demo waits for it to finish" in second_err
    assert "make down" not in second_err
    assert first_err == ""


def test_a_run_that_cannot_get_the_lock_in_time_changes_nothing(tmp_path):
    state, order = tmp_path / ".state", tmp_path / "order"
    first = exclusive(state, "make demo", sys.executable, "-c", STEP, str(order), "first", "4")
    try:
        wait_for(lambda: holder(state).get("pid") == first.pid, 10, "the first run to take the lock")
        started = time.monotonic()
        second = exclusive(
            state, "make down", sys.executable, "-c", STEP, str(order), "second", "0", wait="1"
        )
        _, err = second.communicate(timeout=30)
        assert second.returncode == 75
        assert time.monotonic() - started < 4
        assert "the other run still holds the lock after 1 s; nothing was changed" in err
        assert "run make down" not in err  # no advice that would stop the healthy run
    finally:
        first.communicate(timeout=30)
    assert "second" not in order.read_text()
