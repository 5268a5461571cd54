"""The FAB auth manager, the chart's default: the migration Job makes the users of the values
from their Secrets (and run again changes nothing), a user logs in through FAB's login form,
and a Viewer reads DAGs but cannot trigger one. The release goes back to its values after."""

from __future__ import annotations

import json
import re
import secrets

import requests

from scripts.platform_api import PlatformApi
from tests.e2e.cluster import DAG_ID, FULLNAME, RELEASE, progress, wait_all_ready

VIEWER = "viewer"
VIEWER_SECRET = "platform-e2e-viewer-login"


def form_login(port: int, prefix: str, username: str, password: str) -> requests.Session:
    """FAB's login page, as a browser uses it: the form's CSRF token, the POST, the cookies."""
    session = requests.Session()
    page = session.get(f"http://127.0.0.1:{port}{prefix}/auth/login/", timeout=30)
    page.raise_for_status()
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert csrf, "FAB's login form has no csrf_token"
    session.post(f"http://127.0.0.1:{port}{prefix}/auth/login/", timeout=30, allow_redirects=False,
                 data={"username": username, "password": password, "csrf_token": csrf.group(1)})
    return session


def migration_log(release) -> str:
    jobs = [j["metadata"]["name"] for j in release.json("get", "jobs")["items"]
            if j["metadata"]["name"].startswith(f"{FULLNAME}-migrate-")]
    assert len(jobs) == 1, jobs
    return release.job_log_when_done(jobs[0], timeout=600)


def test_fab_users_login_and_a_viewer_cannot_trigger(release, airflow, health):
    health.assert_healthy("before the FAB users")
    cfg = release.json("get", "configmap", f"{FULLNAME}-config")["data"]["airflow.cfg"]
    assert "auth_manager = airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager" in cfg
    # the first user: made by the migration Job at install, left alone by the same Job since
    assert "user 'admin': " in migration_log(release)
    with PlatformApi(release.namespace, RELEASE, release.kubeconfig) as api:
        assert api.admin_login() == ("admin", release.secret(f"{FULLNAME}-airflow")["admin-password"])

    password = secrets.token_urlsafe(18)
    release.kubectl("create", "secret", "generic", VIEWER_SECRET, f"--from-literal=password={password}")
    viewer = {"username": VIEWER, "role": "Viewer", "email": "viewer@platform-e2e.example",
              "existingSecret": VIEWER_SECRET}
    try:
        progress("helm upgrade: a Viewer user from its Secret")
        release.install("--set-json", f"airflow.fab.users={json.dumps([viewer])}")
        log = migration_log(release)
        assert f"user '{VIEWER}': created with role 'Viewer'" in log, log
        assert "user 'admin': unchanged" in log, log
        assert password not in log

        port = airflow.service.port
        session = form_login(port, "", VIEWER, password)
        token = session.cookies.get("_token")
        assert token, f"no _token cookie after FAB's login form: {dict(session.cookies)}"
        as_viewer = {"Authorization": f"Bearer {token}"}
        dags = requests.get(f"http://127.0.0.1:{port}/api/v2/dags", headers=as_viewer, timeout=30)
        assert dags.status_code == 200 and DAG_ID in [d["dag_id"] for d in dags.json()["dags"]]
        trigger = requests.post(f"http://127.0.0.1:{port}/api/v2/dags/{DAG_ID}/dagRuns", headers=as_viewer,
                                json={"logical_date": None}, timeout=30)
        assert trigger.status_code == 403, trigger.text
        pause = requests.patch(f"http://127.0.0.1:{port}/api/v2/dags/{DAG_ID}", headers=as_viewer,
                               json={"is_paused": True}, timeout=30)
        assert pause.status_code == 403, pause.text
        # a wrong password gets no token; the admin, through the same form, may trigger
        assert "_token" not in form_login(port, "", VIEWER, password + "x").cookies
        admin_password = release.secret(f"{FULLNAME}-airflow")["admin-password"]
        admin_token = form_login(port, "", "admin", admin_password).cookies.get("_token")
        assert admin_token
        runs = requests.get(f"http://127.0.0.1:{port}/api/v2/dags/{DAG_ID}/dagRuns",
                            headers={"Authorization": f"Bearer {admin_token}"}, timeout=30)
        assert runs.status_code == 200
    finally:
        progress("helm upgrade: back to the release's values")
        release.install()
        release.kubectl("delete", "secret", VIEWER_SECRET, "--ignore-not-found")
    wait_all_ready(health)
    airflow.login()
    health.checkpoint("FAB users and back")
