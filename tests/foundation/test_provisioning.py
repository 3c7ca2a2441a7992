"""Grafana provisioning rendered through the real grafana_provisioning role, for each auth type."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.ansible_runner import run_playbook
from tests.services import ROOT

SECRET = "s3cr3t-value-never-in-files"


def render(tmp_path, **variables) -> tuple:
    playbook = tmp_path / "render.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Render provisioning",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "roles": [{"role": "grafana_provisioning"}],
                }
            ]
        )
    )
    variables = {
        "grafana_provisioning_dest": str(tmp_path / "provisioning"),
        "grafana_provisioning_dashboards_dest": str(tmp_path / "dashboards"),
        "grafana_provisioning_service": "",
        **variables,
    }
    return run_playbook(playbook, "-e", json.dumps(variables)), tmp_path


def read_datasource(root) -> dict:
    document = yaml.safe_load((root / "provisioning" / "datasources" / "timestream.yaml").read_text())
    assert document["apiVersion"] == 1
    (datasource,) = document["datasources"]
    return datasource


def all_rendered_text(root) -> str:
    return "\n".join(p.read_text() for p in root.rglob("*") if p.is_file() and p.suffix in (".yaml", ".json"))


def dashboard_uid(root) -> str:
    """The one datasource uid that both provisioned dashboards' panels name."""
    uids = set()
    for name in ("pm25-analysis-1.json", "pm25-air-quality.json"):
        dashboard = json.loads((root / "dashboards" / name).read_text())
        uids |= {panel["datasource"]["uid"] for panel in dashboard["panels"]}
    assert len(uids) == 1
    return uids.pop()


def test_default_auth_with_local_endpoint(tmp_path):
    run, root = render(tmp_path, grafana_provisioning_endpoint="http://127.0.0.1:8600")
    assert run.returncode == 0, run.output
    datasource = read_datasource(root)
    assert datasource["type"] == "grafana-timestream-datasource"
    assert datasource["uid"] == dashboard_uid(root)
    assert datasource["jsonData"] == {
        "authType": "default",
        "defaultRegion": "us-east-1",
        "endpoint": "http://127.0.0.1:8600",
        "defaultDatabase": '"iot"',
        "defaultTable": '"pm25"',
        "defaultMeasure": "pm2.5",
    }
    assert "secureJsonData" not in datasource
    provider = yaml.safe_load((root / "provisioning" / "dashboards" / "pm25.yaml").read_text())
    (entry,) = provider["providers"]
    assert entry["type"] == "file"
    assert entry["allowUiUpdates"] is False
    assert entry["options"]["path"] == str(root / "dashboards")
    # Idempotent: nothing changes on a second run.
    again, _ = render(tmp_path, grafana_provisioning_endpoint="http://127.0.0.1:8600")
    assert again.recap()["changed"] == 0, again.output


def test_ec2_role_with_assume_role_and_aws_endpoints(tmp_path):
    arn = "arn:aws:iam::123456789012:role/pm25-grafana-readonly"
    run, root = render(
        tmp_path,
        grafana_provisioning_auth_type="ec2_iam_role",
        grafana_provisioning_assume_role_arn=arn,
        grafana_provisioning_region="ap-northeast-1",
        grafana_provisioning_dashboards_path="/var/lib/grafana/dashboards",
    )
    assert run.returncode == 0, run.output
    datasource = read_datasource(root)
    assert datasource["jsonData"]["authType"] == "ec2_iam_role"
    assert datasource["jsonData"]["assumeRoleArn"] == arn
    assert datasource["jsonData"]["defaultRegion"] == "ap-northeast-1"
    assert "endpoint" not in datasource["jsonData"]
    assert "secureJsonData" not in datasource
    provider = yaml.safe_load((root / "provisioning" / "dashboards" / "pm25.yaml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_keys_auth_puts_the_keys_in_secure_json_data_only(tmp_path):
    run, root = render(
        tmp_path,
        grafana_provisioning_auth_type="keys",
        grafana_provisioning_access_key="AKIALOCALEXAMPLE",
        grafana_provisioning_secret_key=SECRET,
    )
    assert run.returncode == 0, run.output
    datasource = read_datasource(root)
    assert datasource["secureJsonData"] == {"accessKey": "AKIALOCALEXAMPLE", "secretKey": SECRET}
    assert SECRET not in json.dumps(datasource["jsonData"])
    mode = (root / "provisioning" / "datasources" / "timestream.yaml").stat().st_mode & 0o777
    assert mode == 0o640


@pytest.mark.parametrize("auth_type", ["default", "ec2_iam_role"])
def test_no_secret_lands_in_files_without_keys_auth(tmp_path, auth_type):
    run, root = render(
        tmp_path,
        grafana_provisioning_auth_type=auth_type,
        grafana_provisioning_access_key="AKIALOCALEXAMPLE",
        grafana_provisioning_secret_key=SECRET,
    )
    assert run.returncode == 0, run.output
    text = all_rendered_text(root)
    assert SECRET not in text and "AKIALOCALEXAMPLE" not in text


def test_keys_auth_without_keys_stops_with_one_sentence(tmp_path):
    run, root = render(tmp_path, grafana_provisioning_auth_type="keys")
    assert run.returncode != 0
    assert "Keys auth needs grafana_provisioning_access_key and grafana_provisioning_secret_key" in run.output
    assert not (root / "provisioning").exists()


def test_unknown_auth_type_is_refused(tmp_path):
    run, _ = render(tmp_path, grafana_provisioning_auth_type="password")
    assert run.returncode != 0
    assert (
        "grafana_provisioning_auth_type must be default, ec2_iam_role or keys, not 'password'" in run.output
    )


def test_templates_start_with_ansible_managed():
    for template in (ROOT / "provisioning").rglob("*.j2"):
        assert template.read_text().startswith("{{ ansible_managed | comment }}"), template
