"""The migration Job's FAB user sync (chart/files/sync-fab-users.py), run as the chart runs it
(`python -c` with FAB_USERS) against a real Airflow metadata database made by
`airflow db migrate` with the FAB auth manager and the chart's own webserver_config.py.
SQLite here; the end-to-end suite runs it on PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from werkzeug.security import check_password_hash

from tests.support.airflow_db import FAB_AUTH_MANAGER, migrate
from tests.support.airflow_db import airflow_env as support_airflow_env

FILES = Path(__file__).resolve().parents[1] / "chart" / "files"
SCRIPT = (FILES / "sync-fab-users.py").read_text()
WAIT = (FILES / "wait-for-fab-users.py").read_text()
# The chart's FAB auth manager and its webserver_config.py
FAB = {"AIRFLOW__CORE__AUTH_MANAGER": FAB_AUTH_MANAGER, "AIRFLOW__FAB__CONFIG_FILE": str(FILES / "webserver_config.py")}


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("airflow-home")
    migrate(home, **FAB)
    return home


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    return support_airflow_env(home, **FAB, **extra)


def user(tmp: Path, username: str, role: str, password: str, **fields: str) -> dict:
    password_file = tmp / f"{username}-password"
    password_file.write_text(password + "\n")  # a Secret written with `echo` ends in a newline
    return {"username": username, "role": role, "email": f"{username}@example.com", "firstName": username,
            "lastName": "Test", "passwordFile": str(password_file), **fields}


def sync(home: Path, users: list[dict], **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT],
                          env=airflow_env(home, FAB_USERS=json.dumps(users), **extra),
                          capture_output=True, text=True, timeout=300)


def stored(home: Path, username: str) -> dict | None:
    with sqlite3.connect(home / "airflow.db") as db:
        row = db.execute("SELECT id, email, first_name, password FROM ab_user WHERE username = ?",
                         (username,)).fetchone()
        if row is None:
            return None
        roles = [r for (r,) in db.execute(
            "SELECT r.name FROM ab_role r JOIN ab_user_role ur ON ur.role_id = r.id WHERE ur.user_id = ?", (row[0],))]
    return {"email": row[1], "firstName": row[2], "hash": row[3], "roles": roles}


def synced_lines(result: subprocess.CompletedProcess) -> list[str]:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return [line for line in result.stdout.splitlines() if line.startswith("user ")]


def test_creates_then_leaves_alone_then_updates(airflow_home, tmp_path):
    admin = user(tmp_path, "admin", "Admin", "first-secret")
    viewer = user(tmp_path, "ana", "Viewer", "viewer-secret")
    assert synced_lines(sync(airflow_home, [admin, viewer])) == [
        "user 'admin': created with role 'Admin'", "user 'ana': created with role 'Viewer'"]
    before = stored(airflow_home, "ana")
    assert before["roles"] == ["Viewer"]
    assert check_password_hash(before["hash"], "viewer-secret")

    # the same input again: nothing changes, not even the password's hash (a new salt would)
    assert synced_lines(sync(airflow_home, [admin, viewer])) == ["user 'admin': unchanged", "user 'ana': unchanged"]
    assert stored(airflow_home, "ana") == before

    # a rotated Secret and a new role reach the existing user
    viewer = user(tmp_path, "ana", "Op", "rotated-secret", email="ana@corp.example")
    assert synced_lines(sync(airflow_home, [admin, viewer])) == [
        "user 'admin': unchanged", "user 'ana': updated (role, email and names, password)"]
    after = stored(airflow_home, "ana")
    assert after["roles"] == ["Op"] and after["email"] == "ana@corp.example"
    assert check_password_hash(after["hash"], "rotated-secret")
    assert not check_password_hash(after["hash"], "viewer-secret")


def test_an_unknown_role_changes_nothing_and_names_the_fix(airflow_home, tmp_path):
    good = user(tmp_path, "bo", "Viewer", "pw-bo")
    bad = user(tmp_path, "cy", "Auditor", "pw-cy")
    result = sync(airflow_home, [good, bad])
    assert result.returncode != 0
    assert "user 'cy': role 'Auditor' does not exist" in result.stderr
    assert "'Viewer'" in result.stderr and "airflow.fab.roles" in result.stderr
    # checked before any user is touched: the valid user before it was not created either
    assert stored(airflow_home, "bo") is None


def test_a_custom_role_from_fab_custom_roles(airflow_home, tmp_path):
    roles = {"DagTrigger": [{"action": "can_read", "resource": "DAGs"},
                            {"action": "can_create", "resource": "DAG Runs"}]}
    result = sync(airflow_home, [user(tmp_path, "dee", "DagTrigger", "pw-dee")],
                  AIRFLOW__FAB__CUSTOM_ROLES=json.dumps(roles))
    assert synced_lines(result) == ["user 'dee': created with role 'DagTrigger'"]
    assert stored(airflow_home, "dee")["roles"] == ["DagTrigger"]


@pytest.mark.parametrize("password, message", [(None, "cannot read its password"),
                                               ("", "its password in the Secret is empty")])
def test_a_missing_or_empty_password_is_refused(airflow_home, tmp_path, password, message):
    entry = user(tmp_path, "eve", "Viewer", "unused")
    if password is None:
        Path(entry["passwordFile"]).unlink()
    else:
        Path(entry["passwordFile"]).write_text(password)
    result = sync(airflow_home, [entry])
    assert result.returncode != 0
    assert f"user 'eve': {message}" in result.stderr
    assert stored(airflow_home, "eve") is None


def wait_for(home: Path, username: str, seconds: int) -> subprocess.CompletedProcess:
    """The api-server's init container (chart/files/wait-for-fab-users.py), as the chart runs it."""
    return subprocess.run([sys.executable, "-c", WAIT], capture_output=True, text=True, timeout=120,
                          env=airflow_env(home, ADMIN_USERNAME=username, WAIT_SECONDS=str(seconds)))


def test_the_api_server_waits_for_the_jobs_user(airflow_home, tmp_path):
    missing = wait_for(airflow_home, "fay", 3)
    assert missing.returncode != 0
    assert "has not made FAB user 'fay' within 3 s (no user 'fay' yet)" in missing.stderr
    synced_lines(sync(airflow_home, [user(tmp_path, "fay", "Admin", "pw-fay")]))
    ready = wait_for(airflow_home, "fay", 30)
    assert ready.returncode == 0, ready.stderr
    assert "FAB user 'fay' exists" in ready.stdout


def test_the_wait_outlasts_a_database_not_migrated_yet(tmp_path):
    empty = tmp_path / "not-migrated"
    empty.mkdir()
    result = wait_for(empty, "admin", 3)
    assert result.returncode != 0
    assert "has not made FAB user 'admin' within 3 s (no table ab_user yet)" in result.stderr
