"""What the AWS play writes on the bastion, rendered by the real roles into a folder and checked:
systemd units (also with systemd-analyze verify), the services' environment, grafana.ini through
grafana.grafana's own template, and the Grafana provisioning."""

from __future__ import annotations

import configparser
import getpass
import grp
import importlib.util
import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy import go_ini
from tests.deploy.conftest import run_playbook
from tests.services import ROOT

PASSWORD = "correct-horse-battery"
GRAFANA_ROLE_ARN = "arn:aws:iam::123456789012:role/pm25-GrafanaReadRole-TEST"


def grafana_role_dir() -> Path:
    spec = importlib.util.find_spec("ansible_collections.grafana.grafana")
    return Path(next(iter(spec.submodule_search_locations))) / "roles" / "grafana"


def fake_tools(base: Path) -> tuple[Path, Path]:
    """Executables where the units expect them, so systemd-analyze verify can check the units."""
    venv = base / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(Path(os.sys.executable))
    jdk = base / "jdk"
    (jdk / "bin").mkdir(parents=True)
    java = jdk / "bin" / "java"
    java.write_text("#!/bin/sh\nexit 0\n")
    java.chmod(0o755)
    return venv, jdk


CONFIGURATIONS = [
    {"name": "aws-forwarder", "timestream_backend": "aws", "ingest_via": "forwarder"},
    {"name": "local-forwarder", "timestream_backend": "local", "ingest_via": "forwarder"},
    {"name": "aws-flink", "timestream_backend": "aws", "ingest_via": "flink"},
]
REFUSED = ["", "admin", " Admin "]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict:
    """One playbook run renders every configuration (and tries the refused passwords)."""
    base = tmp_path_factory.mktemp("bastion")
    root = base / "out"
    for configuration in CONFIGURATIONS:
        for folder in ("systemd", "etc", "provisioning", "dashboards"):
            (root / configuration["name"] / folder).mkdir(parents=True)
    venv, jdk = fake_tools(base)
    run = run_playbook(
        "tests/deploy/playbooks/render_bastion.yml",
        {
            "render_root": str(root),
            "render_owner": getpass.getuser(),
            "render_group": grp.getgrgid(os.getgid()).gr_name,
            "fake_venv": str(venv),
            "fake_java_home": str(jdk),
            "grafana_role_dir": str(grafana_role_dir()),
            "admin_password": PASSWORD,
            "grafana_role_arn": GRAFANA_ROLE_ARN,
            "configurations": CONFIGURATIONS,
            "refused_passwords": REFUSED,
        },
    )
    assert run.returncode == 0, run.output
    return {"root": root, "venv": venv, "jdk": jdk, "run": run}


@pytest.fixture(scope="module")
def aws_forwarder(rendered):
    return rendered["root"] / "aws-forwarder", rendered["venv"]


@pytest.fixture(scope="module")
def local_forwarder(rendered):
    return rendered["root"] / "local-forwarder", rendered["venv"]


@pytest.fixture(scope="module")
def aws_flink(rendered):
    return rendered["root"] / "aws-flink", rendered["venv"], rendered["jdk"]


def unit(path: Path) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read_string(path.read_text())
    return {section: dict(parser[section]) for section in parser.sections()}


def exec_args(path: Path) -> list[str]:
    return shlex.split(unit(path)["Service"]["ExecStart"])


def grafana_ini(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string("[_top]\n" + path.read_text())
    return parser


def test_each_configuration_writes_exactly_its_units(aws_forwarder, local_forwarder, aws_flink):
    def names(out: Path) -> set[str]:
        return {path.name for path in (out / "systemd").iterdir()}

    assert names(aws_forwarder[0]) == {"pm25-forwarder.service", "pm25-simulator.service"}
    assert names(local_forwarder[0]) == {
        "pm25-forwarder.service",
        "pm25-simulator.service",
        "pm25-timestream-local.service",
    }
    assert names(aws_flink[0]) == {"pm25-flink-connector.service", "pm25-simulator.service"}


def test_every_unit_restarts_on_failure_as_an_unprivileged_user(aws_forwarder, local_forwarder, aws_flink):
    for out in (aws_forwarder[0], local_forwarder[0], aws_flink[0]):
        for path in (out / "systemd").iterdir():
            service = unit(path)["Service"]
            assert service["Restart"] == "on-failure", path.name
            assert service["User"] == "pm25", path.name
            assert service["NoNewPrivileges"] == "yes", path.name
            assert service["ProtectSystem"] == "strict", path.name
            assert unit(path)["Install"]["WantedBy"] == "multi-user.target", path.name


def test_forwarder_reads_the_stream_and_writes_to_aws(aws_forwarder):
    out, venv = aws_forwarder
    args = exec_args(out / "systemd" / "pm25-forwarder.service")
    assert args[:3] == [f"{venv}/bin/python", "-m", "forwarder"]
    options = dict(zip(args[3::2], args[4::2], strict=True))
    assert options == {
        "--stream": "Timestreampm25Stream",
        "--database": "iot",
        "--table": "pm25",
        "--region": "eu-west-1",
        "--checkpoint-dir": "/var/lib/pm25/forwarder/checkpoints",
        "--dead-letter": "/var/lib/pm25/forwarder/dead-letter.jsonl",
    }
    assert unit(out / "systemd" / "pm25-forwarder.service")["Service"]["StateDirectory"] == "pm25/forwarder"


def test_simulator_feeds_the_stream_live_with_a_fixed_seed(aws_forwarder):
    out, venv = aws_forwarder
    args = exec_args(out / "systemd" / "pm25-simulator.service")
    assert args[:3] == [f"{venv}/bin/python", "-m", "simulator"]
    assert args[3:] == [
        "--sink",
        "kinesis",
        "--stream",
        "Timestreampm25Stream",
        "--region",
        "eu-west-1",
        "--interval",
        "1",
        "--seed",
        "2020",
    ]


def test_local_backend_runs_the_store_on_loopback_and_points_the_forwarder_at_it(local_forwarder):
    out, venv = local_forwarder
    store = exec_args(out / "systemd" / "pm25-timestream-local.service")
    assert store == [
        f"{venv}/bin/python",
        "-m",
        "timestream_local",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "8600",
        "--data-dir",
        "/var/lib/pm25/timestream",
        "--region",
        "eu-west-1",
    ]
    forwarder = exec_args(out / "systemd" / "pm25-forwarder.service")
    assert forwarder[forwarder.index("--timestream-endpoint-url") + 1] == "http://127.0.0.1:8600"
    after = unit(out / "systemd" / "pm25-forwarder.service")["Unit"]["After"].split()
    assert "pm25-timestream-local.service" in after


def test_flink_connector_runs_the_pinned_streaming_job(aws_flink):
    out, _venv, jdk = aws_flink
    args = exec_args(out / "systemd" / "pm25-flink-connector.service")
    assert args[0] == f"{jdk}/bin/java"
    classpath = args[args.index("-cp") + 1]
    assert classpath == (
        "/opt/pm25/amazon-timestream-tools/integrations/flink_connector/target/timestreamsink-1.0-SNAPSHOT.jar"
        ":/opt/pm25/flink-runtime/lib/*"
    )
    main = args.index("com.amazonaws.services.kinesisanalytics.StreamingJob")
    assert args[main + 1 :] == [
        "--InputStreamName",
        "Timestreampm25Stream",
        "--Region",
        "eu-west-1",
        "--TimestreamDbName",
        "iot",
        "--TimestreamTableName",
        "pm25",
    ]


def test_services_environment_has_the_region_and_no_secrets(aws_forwarder):
    out, _ = aws_forwarder
    env_file = out / "etc" / "pm25.env"
    lines = [line for line in env_file.read_text().splitlines() if line and not line.startswith("#")]
    assert dict(line.split("=", 1) for line in lines) == {
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    assert oct(env_file.stat().st_mode & 0o777) == "0o640"


def test_systemd_accepts_every_unit(aws_forwarder, local_forwarder, aws_flink, systemd_analyze):
    if systemd_analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    for out in (aws_forwarder[0], local_forwarder[0], aws_flink[0]):
        units = sorted(str(path) for path in (out / "systemd").iterdir())
        verify = subprocess.run(
            [systemd_analyze, "verify", *units], capture_output=True, text=True, timeout=60, check=False
        )
        assert verify.returncode == 0, verify.stderr
        complaints = [line for line in verify.stderr.splitlines() if str(out) in line]
        assert complaints == [], verify.stderr


def test_grafana_ini_is_locked_down_with_the_vault_password(aws_forwarder):
    ini = grafana_ini(aws_forwarder[0] / "grafana.ini")
    assert ini["security"]["admin_user"] == "admin"
    as_grafana_reads_it = go_ini.sections((aws_forwarder[0] / "grafana.ini").read_text())
    assert as_grafana_reads_it["security"]["admin_password"] == PASSWORD
    assert ini["auth.anonymous"]["enabled"] == "False"
    assert ini["users"]["allow_sign_up"] == "False"
    assert ini["server"]["http_port"] == "3000"
    assert ini["server"]["http_addr"] == "127.0.0.1"
    assert ini["aws"]["allowed_auth_providers"].split(",") == ["default", "ec2_iam_role"]
    assert ini["aws"]["assume_role_enabled"] == "True"
    # grafana.grafana's defaults are still there under ours.
    assert ini["paths"]["data"] == "/var/lib/grafana"


def test_datasource_assumes_the_read_only_role_on_aws(aws_forwarder):
    out, _ = aws_forwarder
    datasource = yaml.safe_load((out / "provisioning" / "datasources" / "timestream.yaml").read_text())
    (source,) = datasource["datasources"]
    assert source["type"] == "grafana-timestream-datasource"
    assert source["jsonData"]["authType"] == "ec2_iam_role"
    assert source["jsonData"]["assumeRoleArn"] == GRAFANA_ROLE_ARN
    assert source["jsonData"]["defaultRegion"] == "eu-west-1"
    assert "endpoint" not in source["jsonData"]
    assert "secureJsonData" not in source
    dashboard = json.loads((out / "dashboards" / "pm25-analysis-1.json").read_text())
    uids = {
        target["datasource"]["uid"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if isinstance(target.get("datasource"), dict)
    }
    assert uids == {source["uid"]}


def test_datasource_reads_the_local_store_with_the_local_backend(local_forwarder):
    out, _ = local_forwarder
    (source,) = yaml.safe_load((out / "provisioning" / "datasources" / "timestream.yaml").read_text())[
        "datasources"
    ]
    assert source["jsonData"]["endpoint"] == "http://127.0.0.1:8600"
    assert "assumeRoleArn" not in source["jsonData"]
    ini = grafana_ini(out / "grafana.ini")
    assert ini["aws"]["assume_role_enabled"] == "False"


def test_the_dashboard_files_are_the_projects(aws_forwarder):
    out, _ = aws_forwarder
    for path in (ROOT / "dashboards").glob("*.json"):
        assert (out / "dashboards" / path.name).read_bytes() == path.read_bytes()


def test_a_missing_or_default_admin_password_is_refused(rendered):
    refusals = json.loads((rendered["root"] / "refusals.json").read_text())
    assert refusals[""].startswith(
        "Please specify the Grafana admin password: put vault_grafana_admin_password"
    )
    for password in ("admin", " Admin "):
        assert refusals[password].startswith('The Grafana admin password must not be "admin"'), password
    assert "Traceback" not in rendered["run"].output


def test_nothing_is_pip_installed_for_the_system_python():
    """Every pip task of every role installs into a virtualenv: the bastion's system python3
    gets no libraries (the project's modules and services run in pm25_services' virtualenv)."""
    pip_tasks = []
    for path in sorted(ROOT.glob("roles/*/tasks/*.yml")):
        for task in yaml.safe_load(path.read_text()) or []:
            arguments = task.get("ansible.builtin.pip", task.get("pip"))
            if arguments is not None:
                pip_tasks.append((path.relative_to(ROOT).as_posix(), arguments))
    assert [path for path, _ in pip_tasks] == ["roles/pm25_services/tasks/install.yml"]
    assert all("virtualenv" in arguments for _, arguments in pip_tasks)


def test_check_mode_runs_the_flink_and_local_store_steps_on_a_fresh_host(tmp_path):
    """--check with ingest_via=flink or timestream_backend=local on a host where nothing is
    installed yet: no JDK, no checkout, no unit written. It must say what a real run would do
    instead of failing, and change nothing."""
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    subprocess.run(["git", "init", "-q", "--bare", str(fresh / "amazon-timestream-tools.git")], check=True)
    run = run_playbook("tests/deploy/playbooks/check_mode_bastion.yml", {"fresh_root": str(fresh)}, "--check")
    assert run.returncode == 0, run.output
    for said in (
        "Check mode: no JDK matching java-11-amazon-corretto*",
        f"Check mode: {fresh}/checkout is not at ",
        "Check mode: pm25-flink-connector.service is not written yet",
        "Check mode: pm25-timestream-local.service is not written yet",
        "Check mode: pm25-timestream-local, pm25-forwarder, pm25-simulator not written yet",
    ):
        assert said in run.stdout, said
    assert sorted(path.name for path in fresh.iterdir()) == ["amazon-timestream-tools.git"]
