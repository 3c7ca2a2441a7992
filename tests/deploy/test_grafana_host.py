"""What roles/grafana does on a host beyond the rendered files: the collection's apt repository
step with the local play's interpreter, the folder ownership it shares with grafana.grafana, and
what --diff shows of the datasource's secret."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.deploy import go_ini
from tests.deploy.conftest import run_playbook
from tests.deploy.test_bastion_files import grafana_role_dir
from tests.services import ROOT


def test_the_collections_deb822_step_runs_with_the_local_interpreter(tmp_path):
    """`-e local_grafana=true` on Debian 12 / Ubuntu 24.04 runs deb822_repository with the .venv's
    Python, which must have python-debian."""
    key = tmp_path / "grafana.asc"
    key.write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n")
    run = run_playbook(
        "tests/deploy/playbooks/grafana_repository.yml",
        {"grafana_role_dir": str(grafana_role_dir()), "key_file": str(key)},
    )
    assert "python3-debian" not in run.output, run.output
    assert run.returncode == 0, run.output
    assert "URIs: https://apt.grafana.com/" in run.stdout
    assert "Suites: stable" in run.stdout
    assert not Path("/etc/apt/sources.list.d/grafana.sources").exists()


def folder_attributes_of_the_collection() -> dict[str, tuple[str, str, str]]:
    """Owner, group and mode grafana.grafana's configure.yml gives each folder it creates."""
    configure = yaml.safe_load((grafana_role_dir() / "tasks" / "configure.yml").read_text())
    (task,) = [task for task in configure if task.get("name") == "Ensure grafana directories exist"]
    arguments = task["ansible.builtin.file"]
    # The defaults the folder task applies to items that set nothing.
    assert arguments["owner"] == "{{ item.owner | default('root') }}"
    assert arguments["group"] == "{{ item.group | default('grafana') }}"
    assert arguments["mode"] == "{{ item.mode | default('0755') }}"
    data = yaml.safe_load((grafana_role_dir() / "defaults" / "main.yml").read_text())["grafana_ini_default"][
        "paths"
    ]["data"]
    return {
        item["path"].replace("{{ grafana_ini.paths.data }}", data): (
            item.get("owner", "root"),
            item.get("group", "grafana"),
            item.get("mode", "0755"),
        )
        for item in task["loop"]
    }


def test_the_folders_both_roles_manage_get_the_same_owner_from_both():
    """A second run reports changed=0 only if roles/grafana gives the folders grafana.grafana also
    creates the same owner, group and mode (it once made the dashboards folder root's, the
    collection grafana's, and each run flipped it)."""
    collection = folder_attributes_of_the_collection()
    ours = yaml.safe_load((ROOT / "roles/grafana/defaults/main.yml").read_text())
    passed = yaml.safe_load((ROOT / "roles/grafana/tasks/provisioning.yml").read_text())[0]["vars"]
    folder_task = yaml.safe_load((ROOT / "roles/grafana_provisioning/tasks/main.yml").read_text())[1]
    assert folder_task["ansible.builtin.file"]["mode"] == "0755"
    by_path = {item["path"]: item for item in folder_task["loop"]}

    def resolved(expression: str) -> str:
        """A variable as roles/grafana passes it ("{{ grafana_pm25_x }}") -> its default."""
        return ours[expression.strip("{} ")]

    provisioning = ours["grafana_pm25_provisioning_dir"]
    dashboards = ours["grafana_pm25_dashboards_dir"]
    checked = {
        f"{provisioning}/datasources": by_path["{{ grafana_provisioning_dest }}/datasources"],
        f"{provisioning}/dashboards": by_path["{{ grafana_provisioning_dest }}/dashboards"],
        dashboards: by_path["{{ grafana_provisioning_dashboards_dest }}"],
    }
    for path, item in checked.items():
        owner = resolved(passed[item["owner"].strip("{} ")])
        group = resolved(passed[item["group"].strip("{} ")])
        assert (owner, group, "0755") == collection[path], path


# Passwords Grafana's ini parser would cut or change if they were written bare.
PASSWORDS = [
    "s3cret#pass;word",
    "#starts-with-a-hash",
    ";starts-with-a-semicolon",
    "'quoted all round'",
    '"double quoted"',
    'ends with a quote"',
    'holds """ three quotes',
    "  spaces at both ends  ",
    "back`tick and \\backslash",
]


def test_go_ini_reading_matches_what_grafana_documents():
    """The reader the next test uses, against the examples Grafana's sample.ini gives."""
    assert go_ini.value(' """#password;"""') == "#password;"
    assert go_ini.value(" s3cret#pass;word") == "s3cret"
    assert go_ini.value(" #password") == ""
    assert go_ini.value(" 'grafana'") == "grafana"


def test_the_admin_password_reaches_grafana_whole(tmp_path):
    run = run_playbook(
        "tests/deploy/playbooks/render_grafana_ini.yml",
        {"render_root": str(tmp_path), "grafana_role_dir": str(grafana_role_dir()), "passwords": PASSWORDS},
    )
    assert run.returncode == 0, run.output
    for index, password in enumerate(PASSWORDS):
        ini = go_ini.sections((tmp_path / f"{index}.ini").read_text())
        assert ini["security"]["admin_password"] == password
        assert ini["security"]["admin_user"] == "admin"


def test_a_password_with_a_line_break_is_refused(tmp_path):
    run = run_playbook(
        "tests/deploy/playbooks/grafana_plugins.yml",
        {"grafana_pm25_admin_password": "first line\nsecond line", "grafana_pm25_plugins_dir": str(tmp_path)},
    )
    assert run.returncode != 0
    assert "The Grafana admin password must be one line" in run.output


def test_diff_does_not_print_the_datasource_secret_key(tmp_path):
    secret = "Zx9SecretKeyThatMustNotBePrinted0000000x"
    settings = {"render_root": str(tmp_path), "secret_key": secret}
    first = run_playbook("tests/deploy/playbooks/provision_local.yml", settings, "--diff")
    assert first.returncode == 0, first.output
    written = yaml.safe_load((tmp_path / "provisioning/datasources/timestream.yaml").read_text())
    assert written["datasources"][0]["secureJsonData"]["secretKey"] == secret
    assert oct((tmp_path / "provisioning/datasources/timestream.yaml").stat().st_mode & 0o777) == "0o640"
    changed = run_playbook(
        "tests/deploy/playbooks/provision_local.yml",
        {**settings, "secret_key": secret[::-1]},
        "--check",
        "--diff",
    )
    assert changed.returncode == 0, changed.output
    assert changed.recap()["changed"] == 1, changed.output
    for run in (first, changed):
        assert secret not in run.output
        assert secret[::-1] not in run.output
    assert "+++ after: " in first.output  # --diff still shows the other files
