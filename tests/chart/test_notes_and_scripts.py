"""NOTES.txt content, and the shell scripts that install helm and run kind."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from chart_helpers import CHART, FULLNAME, ROOT, run_helm_template

SCRIPTS = [ROOT / "scripts" / "install-helm.sh"] + sorted(
    p for p in [*ROOT.glob("scripts/**/*.sh"), *ROOT.glob("tests/e2e/images/*/*.sh")]
    if p.name != "install-helm.sh"
)


def render_notes(tmp_path: Path, values: dict | None = None) -> str:
    """helm template skips NOTES.txt: render it through tpl from a copy of the chart."""
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    (chart / "notes-copy.txt").write_text((CHART / "templates" / "NOTES.txt").read_text())
    (chart / "templates" / "zz-notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\n"
        'data:\n  notes: {{ tpl (.Files.Get "notes-copy.txt") . | toJson }}\n'
    )
    result = run_helm_template(values=values, chart=chart, show_only=["templates/zz-notes.yaml"])
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["data"]["notes"]


def test_notes_default(tmp_path):
    notes = render_notes(tmp_path)
    assert f"kubectl -n airflow port-forward svc/{FULLNAME}-api-server 8080:8080" in notes
    assert f"get secret {FULLNAME}-airflow -o jsonpath='{{.data.admin-password}}' | base64 -d" in notes
    assert 'Log in as "admin"' in notes
    assert "Users and roles are FAB's" in notes and "SimpleAuthManager" not in notes
    assert "/api/v2/dags/movielens_ranking/dagRuns" in notes
    assert "helm test rel -n airflow" in notes
    assert "DAGs are read from /opt/airflow/dags (the Airflow image)" in notes


def test_notes_warn_that_simple_auth_manager_is_for_development(tmp_path):
    notes = render_notes(tmp_path, {"airflow": {"authManager": "simple"}})
    assert "SimpleAuthManager: one user and no roles" in notes
    assert "airflow.authManager=fab" in notes


def test_notes_with_ingress_existing_admin_secret_and_git_sync(tmp_path):
    notes = render_notes(
        tmp_path,
        {
            "airflow": {
                "admin": {"existingSecret": "admin-creds"},
                "apiServer": {"ingress": {
                    "enabled": True,
                    "hosts": [{"name": "af.example.org", "tls": {"enabled": True, "secretName": "tls"}}]}},
            },
            "dags": {"gitSync": {"enabled": True, "repo": "git@example.com:o/d.git", "sshKeySecret": "k"}},
        },
    )
    assert "https://af.example.org/" in notes
    assert "port-forward" not in notes.split("3. Log in")[0]
    assert "get secret admin-creds -o jsonpath='{.data.password}'" in notes
    assert "DAGs are read from /opt/airflow/git/repo/dags (git-sync of git@example.com:o/d.git at main)" in notes
    assert "WARNING: dags.gitSync.knownHosts is empty" in notes


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_scripts_are_valid_bash(script):
    if script.read_text().startswith("#!"):  # the rest are libraries: sourced, not run
        assert script.stat().st_mode & 0o111, f"{script} is not executable"
    else:
        assert "# shellcheck shell=bash" in script.read_text(), f"{script}: neither a program nor a library"
    subprocess.run(["bash", "-n", str(script)], check=True)  # shellcheck runs in `make lint`


def test_install_helm_usage_error():
    result = subprocess.run(["bash", str(SCRIPTS[0])], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "usage:" in result.stderr


def test_install_helm_is_idempotent(tmp_path):
    """With the pinned helm already in DEST_DIR, nothing is downloaded."""
    helm = shutil.which("helm")
    assert helm
    shutil.copy(helm, tmp_path / "helm")
    result = subprocess.run(["bash", str(SCRIPTS[0]), str(tmp_path)], capture_output=True, text=True, check=True)
    assert "helm v3.19.0 already present" in result.stdout
    assert "downloading" not in result.stdout


def test_up_script_names_missing_tools(tmp_path):
    """With an empty PATH (bash only), up.sh stops at once and names what is missing."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "bash"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    result = subprocess.run(
        [str(bin_dir / "bash"), str(ROOT / "scripts" / "kind" / "up.sh")],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": str(bin_dir)},
    )
    assert result.returncode == 1
    assert "missing: docker kind helm kubectl git curl python3" in result.stderr


def test_notes_name_the_metadata_database_and_warn_against_mariadb(tmp_path):
    bundled = render_notes(tmp_path / "a")
    assert "Airflow's metadata is in the bundled MySQL (mysql:8.4)" in bundled
    external = render_notes(tmp_path / "b",
                            {"airflow": {"externalDatabase": {"enabled": True, "existingSecret": "pg"}}})
    assert "metadata database connection comes from Secret pg" in external
    for notes in (bundled, external):
        assert "NOT MariaDB" in notes and "parsing_cleanup_interval" in notes
        assert "delete secret,pvc -l app.kubernetes.io/instance=rel" in notes


def test_notes_warn_when_task_logs_go_with_their_pods(tmp_path):
    warning = "WARNING: task logs live only as long as their worker pod"
    assert warning in render_notes(tmp_path / "default")
    logs_on = {"airflow": {"logs": {"persistence": {"enabled": True}}}}
    assert warning not in render_notes(tmp_path / "volume", logs_on)
    remote = {"airflow": {"logs": {"remote": {"enabled": True, "baseLogFolder": "s3://b/p",
                                              "connectionId": "aws_default"}}}}
    assert warning not in render_notes(tmp_path / "remote", remote)


def test_notes_follow_a_base_url_subpath(tmp_path):
    notes = render_notes(tmp_path, {"airflow": {"config": {"api": {"base_url": "https://h.example/airflow"}}}})
    assert "then open http://localhost:8080/airflow" in notes
    assert "curl -s -X POST http://localhost:8080/airflow/auth/token" in notes


def test_notes_name_the_git_dag_bundle(tmp_path):
    notes = render_notes(tmp_path, {"dags": {"gitBundle": {"enabled": True, "repo": "https://git.example.com/d.git",
                                                           "ref": "v2", "refreshInterval": 30}}})
    assert 'DAGs come from the git DAG bundle "dags": https://git.example.com/d.git at v2,' in notes
    assert "fetched every 30 s; each run keeps the commit it started with." in notes
    assert "DAGs are read from" not in notes
