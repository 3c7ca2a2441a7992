"""`ansible-playbook site.yml` end to end on this machine: fresh state folder, nine panels with rows, the
air quality panels filled from the hourly rollup of the history,
a second run with changed=0 that keeps the services, and `state=absent` stopping exactly them."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import boto3
import pytest
import yaml

from catalogue import load_catalogue
from dashboards.timestream_rows import run_query
from tests.ansible_runner import run_playbook
from tests.services import ROOT, free_port

SERVICES = ("kinesalite", "timestream_local", "forwarder", "simulator")


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def pids(state_dir: Path) -> dict[str, int]:
    return {
        name: int((state_dir / "run" / f"{name}.pid").read_text().splitlines()[0])
        for name in SERVICES
        if (state_dir / "run" / f"{name}.pid").exists()
    }


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("local-play") / ".state"
    ports = {"kinesis": free_port(), "timestream": free_port()}
    extra = {
        "local_stack_state_dir": str(state_dir),
        "local_stack_kinesis_port": ports["kinesis"],
        "local_stack_timestream_port": ports["timestream"],
        # Over an hour, so that the history holds a whole past hour for the rollup (AQI panels).
        "local_stack_backfill": "65m",
        "local_stack_report_wait": 120,
    }
    first = run_playbook(ROOT / "site.yml", "-e", json.dumps(extra))
    yield {"state_dir": state_dir, "ports": ports, "extra": extra, "first": first}
    run_playbook(ROOT / "site.yml", "-e", json.dumps({**extra, "state": "absent"}))
    for pid in pids(state_dir).values():  # never leave a process behind, even when a test failed
        if alive(pid):
            os.kill(pid, 9)


def query_client(deployment, service: str = "timestream-query"):
    secrets = deployment["state_dir"] / "secrets"
    return boto3.client(
        service,
        endpoint_url=f"http://127.0.0.1:{deployment['ports']['timestream']}",
        region_name="us-east-1",
        aws_access_key_id=(secrets / "access-key-id").read_text().strip(),
        aws_secret_access_key=(secrets / "secret-access-key").read_text().strip(),
    )


def test_first_run_starts_everything_and_prints_the_report(deployment):
    first = deployment["first"]
    assert first.returncode == 0, first.output
    assert set(pids(deployment["state_dir"])) == set(SERVICES)
    assert all(alive(pid) for pid in pids(deployment["state_dir"]).values())
    assert "PM2.5 Analysis 1 — 9 panels" in first.output
    assert "make down" in first.output
    # The panels are not printed as a JSON list of quoted lines (make demo prints them after the play).
    assert '"[1] Beijing PM2.5 analysis' not in first.output


def test_all_nine_panels_return_rows(deployment):
    client = query_client(deployment)
    dashboard = json.loads((ROOT / "dashboards" / "pm25-analysis-1.json").read_text())
    for panel in dashboard["panels"]:
        result = run_query(client, panel["targets"][0]["rawQuery"])
        assert result.rows, f"panel {panel['title']!r} returned no rows"


def test_the_air_quality_panels_show_the_rolled_up_history(deployment):
    client = query_client(deployment)
    scheduled = [
        q
        for page in client.get_paginator("list_scheduled_queries").paginate()
        for q in page["ScheduledQueries"]
    ]
    assert [(q["Name"], q["State"]) for q in scheduled] == [("pm25-hourly-rollup", "ENABLED")]
    dashboard = json.loads((ROOT / "dashboards" / "pm25-air-quality.json").read_text())
    table, bars, trend = (run_query(client, p["targets"][0]["rawQuery"]) for p in dashboard["panels"])
    assert sorted(row[0] for row in table.rows) == sorted(load_catalogue().city_names)
    assert all(0 <= row[2] <= 500 for row in table.rows)
    assert sum(value is not None for row in bars.rows for value in row) == 12
    assert len(trend.rows) == 12


def test_the_local_resources_carry_the_roles_tags(deployment):
    """pipeline_resources_tags' default on the local target too, read back with ListTagsForResource."""
    query = query_client(deployment)
    write = query_client(deployment, "timestream-write")
    arns = [
        write.describe_database(DatabaseName="iot")["Database"]["Arn"],
        *(
            write.describe_table(DatabaseName="iot", TableName=t)["Table"]["Arn"]
            for t in ("pm25", "pm25_hourly")
        ),
    ]
    found = [write.list_tags_for_resource(ResourceARN=arn)["Tags"] for arn in arns]
    (rollup,) = query.list_scheduled_queries()["ScheduledQueries"]
    found.append(query.list_tags_for_resource(ResourceARN=rollup["Arn"])["Tags"])
    assert found == [[{"Key": "project", "Value": "pm25-timestream"}]] * 4


def test_provisioning_points_grafana_at_the_local_store(deployment):
    datasource_file = deployment["state_dir"] / "grafana" / "provisioning" / "datasources" / "timestream.yaml"
    (datasource,) = yaml.safe_load(datasource_file.read_text())["datasources"]
    assert datasource["jsonData"]["endpoint"] == f"http://127.0.0.1:{deployment['ports']['timestream']}"
    assert datasource["jsonData"]["authType"] == "keys"
    secret = (deployment["state_dir"] / "secrets" / "secret-access-key").read_text().strip()
    assert datasource["secureJsonData"]["secretKey"] == secret
    assert len(secret) == 40
    assert (deployment["state_dir"] / "grafana" / "dashboards" / "pm25-analysis-1.json").exists()
    assert (deployment["state_dir"] / "grafana" / "dashboards" / "pm25-air-quality.json").exists()


def test_second_run_changes_nothing_and_keeps_the_services(deployment):
    before = pids(deployment["state_dir"])
    second = run_playbook(ROOT / "site.yml", "-e", json.dumps(deployment["extra"]))
    assert second.returncode == 0, second.output
    assert second.recap()["changed"] == 0, second.output
    assert pids(deployment["state_dir"]) == before


def programs(state_dir: Path) -> dict[str, int]:
    """The supervised programs' own pids (the pid files name their supervisors), the loader's included."""
    found = {}
    for name in (*SERVICES, "history"):
        path = state_dir / "run" / f"{name}.state.json"
        pid = json.loads(path.read_text()).get("pid") if path.exists() else None
        if pid:
            found[name] = pid
    return found


def test_state_absent_stops_exactly_the_services(deployment):
    before = pids(deployment["state_dir"])
    children = programs(deployment["state_dir"])
    assert set(SERVICES) <= set(children)
    assert not set(before.values()) & set(children.values())
    before = {**before, **{f"{name} program": pid for name, pid in children.items()}}
    down = run_playbook(ROOT / "site.yml", "-e", json.dumps({**deployment["extra"], "state": "absent"}))
    assert down.returncode == 0, down.output
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in before.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in before.values())
    assert pids(deployment["state_dir"]) == {}
