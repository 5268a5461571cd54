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
    airflow.wait_for_dag(DAG_ID, timeout=300)
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

        # through the release's port-forward, reopened if the api-server pod was replaced
        def login(username, secret):
            return airflow.service.call(lambda port: form_login(port, "", username, secret))

        def api(method, path, token, **kwargs):
            return airflow.service.call(lambda port: requests.request(
                method, f"http://127.0.0.1:{port}/api/v2{path}", headers={"Authorization": f"Bearer {token}"},
                timeout=30, **kwargs))

        token = login(VIEWER, password).cookies.get("_token")
        assert token, "no _token cookie after FAB's login form"
        dags = api("GET", "/dags", token)
        assert dags.status_code == 200 and DAG_ID in [d["dag_id"] for d in dags.json()["dags"]]
        trigger = api("POST", f"/dags/{DAG_ID}/dagRuns", token, json={"logical_date": None})
        assert trigger.status_code == 403, trigger.text
        pause = api("PATCH", f"/dags/{DAG_ID}", token, json={"is_paused": True})
        assert pause.status_code == 403, pause.text
        # a wrong password gets no token; the admin, through the same form, may read the runs
        assert "_token" not in login(VIEWER, password + "x").cookies
        admin_token = login("admin", release.secret(f"{FULLNAME}-airflow")["admin-password"]).cookies.get("_token")
        assert admin_token
        assert api("GET", f"/dags/{DAG_ID}/dagRuns", admin_token).status_code == 200
    finally:
        progress("helm upgrade: back to the release's values")
        release.install()
        release.kubectl("delete", "secret", VIEWER_SECRET, "--ignore-not-found")
    wait_all_ready(health)
    airflow.login()
    health.checkpoint("FAB users and back")
