"""The local pipeline looks after itself: each service killed with SIGKILL during a live run comes back
by itself, and afterwards the store holds exactly the simulator's deterministic readings, each once.
Then `make status` and the panel report tell the truth about a stopped simulator and forwarder."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import boto3
import pytest

from catalogue import load_catalogue
from simulator.model import FleetModel
from tests.ansible_runner import run_playbook
from tests.services import ROOT, free_port

SERVICES = ("kinesalite", "timestream_local", "forwarder", "simulator")
SEED = 2020  # the role's default local_stack_seed


def alive(pid: int | None) -> bool:
    try:
        return bool(pid) and Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def state_of(state_dir: Path, name: str) -> dict:
    try:
        return json.loads((state_dir / "run" / f"{name}.state.json").read_text())
    except (OSError, ValueError):
        return {}


def supervisor_pid(state_dir: Path, name: str) -> int:
    return int((state_dir / "run" / f"{name}.pid").read_text().splitlines()[0])


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def port_answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def run_module(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("self-healing") / ".state"
    ports = {"kinesalite": free_port(), "timestream_local": free_port()}
    extra = {
        "local_stack_state_dir": str(state_dir),
        "local_stack_kinesis_port": ports["kinesalite"],
        "local_stack_timestream_port": ports["timestream_local"],
        "local_stack_backfill": "3m",
        "local_stack_report_wait": 120,
        "local_stack_restart_delay": 0.5,
    }
    first = run_playbook(ROOT / "site.yml", "-e", json.dumps(extra))
    assert first.returncode == 0, first.output
    secrets = state_dir / "secrets"
    query = boto3.client(
        "timestream-query",
        endpoint_url=f"http://127.0.0.1:{ports['timestream_local']}",
        region_name="us-east-1",
        aws_access_key_id=(secrets / "access-key-id").read_text().strip(),
        aws_secret_access_key=(secrets / "secret-access-key").read_text().strip(),
    )
    yield {"state_dir": state_dir, "ports": ports, "extra": extra, "query": query}
    run_playbook(ROOT / "site.yml", "-e", json.dumps({**extra, "state": "absent"}))
    for name in (*SERVICES, "history"):  # never leave a process behind, even when a test failed
        for pid in (state_of(state_dir, name).get("pid"), state_of(state_dir, name).get("supervisor_pid")):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def rows(query, sql: str) -> list[list[str | None]]:
    found: list[list[str | None]] = []
    for page in query.get_paginator("query").paginate(QueryString=sql):
        found += [[datum.get("ScalarValue") for datum in row["Data"]] for row in page["Rows"]]
    return found


def newest_ms(query) -> int:
    (value,) = rows(query, 'SELECT to_milliseconds(max(time)) FROM "iot"."pm25"')[0]
    return int(value or 0)


def test_each_killed_service_comes_back_and_no_reading_is_lost_or_duplicated(pipeline):
    state_dir, ports = pipeline["state_dir"], pipeline["ports"]
    supervisors = {name: supervisor_pid(state_dir, name) for name in SERVICES}
    for name in SERVICES:
        killed = state_of(state_dir, name)["pid"]
        assert alive(killed)
        os.kill(killed, signal.SIGKILL)
        back = wait_until(
            lambda name=name, killed=killed: (
                state_of(state_dir, name)
                if state_of(state_dir, name).get("pid") not in (None, killed)
                and state_of(state_dir, name).get("state") == "running"
                else None
            ),
            30,
            f"{name} to come back",
        )
        assert back["restarts"] == 1
        assert back["last_exit"]["description"] == "killed by signal 9 (SIGKILL)"
        assert alive(back["pid"])
        if name in ports:
            wait_until(lambda name=name: port_answers(ports[name]), 30, f"{name}'s port")
        log = (state_dir / "log" / f"{name}.log").read_text()
        assert f"{name} (pid {killed}) killed by signal 9 (SIGKILL) after" in log
        time.sleep(3)  # let readings flow before the next kill

    # The play still finds everything in order: nothing to change, the same supervisors.
    second = run_playbook(ROOT / "site.yml", "-e", json.dumps(pipeline["extra"]))
    assert second.returncode == 0, second.output
    assert second.recap()["changed"] == 0, second.output
    assert {name: supervisor_pid(state_dir, name) for name in SERVICES} == supervisors

    status = run_module("local_pipeline", "status", "--state-dir", str(state_dir))
    assert status.returncode == 0, status.stdout + status.stderr
    assert "OK: every service runs and the newest reading is fresh." in status.stdout
    for name in SERVICES:
        line = next(line for line in status.stdout.splitlines() if line.startswith(name + " "))
        assert re.search(r"\brunning\s+\d+\s+\S+\s+1\s+.*killed by signal 9 \(SIGKILL\)$", line), line

    # Stop the simulator cleanly; what it last delivered is the end of the expected data.
    simulator = supervisor_pid(state_dir, "simulator")
    os.kill(simulator, signal.SIGTERM)
    wait_until(lambda: not alive(simulator), 30, "the simulator to stop")
    # Its last words name the last tick it delivered: "done (stopped on request): N records in T ticks from A to B".
    done = re.findall(
        r"done \(stopped on request\): .* to (\S+);", (state_dir / "log" / "simulator.log").read_text()
    )
    assert done, "the simulator did not report what it delivered"
    last = int(datetime.fromisoformat(done[-1].replace("Z", "+00:00")).timestamp() * 1000)
    wait_until((state_dir / "history-loaded").exists, 120, "the history to be loaded")
    query = pipeline["query"]
    wait_until(lambda: newest_ms(query) >= last, 60, "the forwarder to write the last reading")
    count_sql = 'SELECT COUNT(*) FROM "iot"."pm25"'
    counts = [None, None]

    def settled() -> bool:
        counts.append(rows(query, count_sql)[0][0])
        return counts[-1] == counts[-2] == counts[-3]

    wait_until(settled, 60, "the row count to settle", interval=1.0)

    history_log = (state_dir / "log" / "history.log").read_text()
    first_iso = re.search(r"backfill: generating 115 stations from (\S+) up to now", history_log).group(1)
    first = int(datetime.fromisoformat(first_iso.replace("Z", "+00:00")).timestamp() * 1000)
    stored = Counter(
        (city, location, int(at), int(value))
        for city, location, at, value in rows(
            query,
            'SELECT city, location, to_milliseconds(time), measure_value::bigint FROM "iot"."pm25"',
        )
    )
    catalogue = load_catalogue()
    model = FleetModel(catalogue.stations, seed=SEED, timezone=catalogue.timezone)
    expected = Counter(
        (reading.station.city, reading.station.name, reading.time_ms, reading.value)
        for tick in range(first, last + 1, 1000)
        for reading in model.readings_at(tick)
    )
    assert (last - first) / 1000 > 180 + 4 * 3  # three minutes of history, then the live run with its kills
    missing, extra = expected - stored, stored - expected
    assert not missing, f"{sum(missing.values())} readings lost, e.g. {sorted(missing)[:3]}"
    assert not extra, f"{sum(extra.values())} readings stored twice or unexpected, e.g. {sorted(extra)[:3]}"
    dead = state_dir / "forwarder" / "dead-letter.jsonl"
    assert not dead.exists() or dead.read_text() == ""


def test_status_and_panels_say_when_the_simulator_and_the_forwarder_are_down(pipeline):
    state_dir = pipeline["state_dir"]
    # The previous test stopped the simulator; stop the forwarder too.
    forwarder = supervisor_pid(state_dir, "forwarder")
    os.kill(forwarder, signal.SIGTERM)
    wait_until(lambda: not alive(forwarder), 40, "the forwarder to stop")

    status = run_module("local_pipeline", "status", "--state-dir", str(state_dir))
    assert status.returncode == 1, status.stdout
    text = status.stdout
    assert re.search(r"^forwarder\s+stopped\s+-\s+-\s+1\s+-\s+killed by signal 9", text, re.MULTILINE), text
    assert "  - forwarder is stopped (stopped by make down or a signal); see " in text
    assert "  - simulator is stopped (stopped by make down or a signal); see " in text
    assert re.search(
        r"^kinesalite\s+running\s+\d+\s+" + str(pipeline["ports"]["kinesalite"]), text, re.MULTILINE
    )

    wait_until(lambda: time.time() * 1000 - newest_ms(pipeline["query"]) > 4000, 30, "the data to age")
    stale = run_module("local_pipeline", "status", "--state-dir", str(state_dir), "--stale-after", "3")
    assert stale.returncode == 1
    message = re.search(
        r"no readings for ([\d.]+) s: the forwarder is down \(stopped\) and the simulator is down \(stopped\), "
        r"see make status",
        stale.stdout,
    )
    assert message, stale.stdout
    assert float(message.group(1)) > 3

    panels = run_module("dashboards", "report", "--state-dir", str(state_dir), "--stale-after", "3")
    assert panels.returncode == 1, panels.stderr
    first_line = panels.stdout.splitlines()[0]
    assert re.fullmatch(
        r"STALE: no readings for [\d.]+ s: the forwarder is down \(stopped\) and the simulator is down \(stopped\), "
        r"see make status",
        first_line,
    ), first_line
    assert "PM2.5 Analysis 1 — 9 panels" in panels.stdout  # the panels are still shown

    fresh_enough = run_module("dashboards", "report", "--state-dir", str(state_dir), "--stale-after", "600")
    assert fresh_enough.returncode == 0, fresh_enough.stdout + fresh_enough.stderr
    assert "STALE" not in fresh_enough.stdout


def test_the_play_starts_what_is_down_and_fails_when_its_report_is_stale(pipeline):
    # The forwarder and the simulator are stopped (previous test): the play starts them again, and with a
    # threshold no reading can meet, its report says the data is stale and the play fails.
    run = run_playbook(
        ROOT / "site.yml", "-e", json.dumps({**pipeline["extra"], "local_stack_stale_after": 0.001})
    )
    assert run.returncode != 0
    assert re.search(
        r'"STALE: no readings for [\d.]+ s \(more than 0\.0 s\) although every service runs', run.output
    )
    assert re.search(
        r"fatal: .*no readings for [\d.]+ s \(more than 0\.0 s\) although every service runs", run.output
    )
    state_dir = pipeline["state_dir"]
    assert all(state_of(state_dir, name).get("state") == "running" for name in SERVICES)


def test_a_failed_start_stops_what_that_run_started_and_names_the_port_holder(tmp_path):
    state_dir = tmp_path / ".state"
    kinesis_port = free_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        extra = {
            "local_stack_state_dir": str(state_dir),
            "local_stack_kinesis_port": kinesis_port,
            "local_stack_timestream_port": taken,
        }
        run = run_playbook(ROOT / "site.yml", "-e", json.dumps(extra))
    try:
        assert run.returncode != 0
        output = " ".join(run.output.split())
        assert f"port {taken} on 127.0.0.1 is already taken by pid {os.getpid()} (" in output
        assert "so timestream_local cannot start: stop that program, or move timestream_local to another port " \
            "with -e local_stack_timestream_port=PORT." in output  # fmt: skip
        assert "This run stopped the programs it had started" in output
        kinesalite = state_of(state_dir, "kinesalite")
        assert kinesalite, "kinesalite was not started first"
        assert not alive(kinesalite["pid"]) and not alive(kinesalite["supervisor_pid"])
        assert not (state_dir / "run" / "kinesalite.pid").exists()
        assert not port_answers(kinesis_port)
    finally:
        kinesalite = state_of(state_dir, "kinesalite")
        for pid in (kinesalite.get("pid"), kinesalite.get("supervisor_pid")):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
