"""Fault: `helm uninstall --wait` while a run's pods are up, then a reinstall on the kept
data. The uninstall returns in seconds with no worker or task pod left (the chart's
pre-delete cleanup Job); the data claims and the generated credentials are kept
(helm.sh/resource-policy: keep); the reinstall opens the kept databases with the kept
passwords, the earlier rows are there, and a run succeeds."""

from __future__ import annotations

import time

from tests.e2e.cluster import DAG_ID, FULLNAME, RELEASE, Airflow, progress
from tests.e2e.conftest import FIGURES, record
from tests.e2e.rankings import assert_day_is_right, logical_date_of, ranking_rows

DAY = "2019-02-09"
AIRFLOW_PODS = ("kubernetes_executor=True", "kubernetes_pod_operator=True")
KEPT_SECRETS = ("airflow", "mysql", "movielens-db", "movielens-api")


def airflow_pods(release) -> list[str]:
    return [p["metadata"]["name"] for selector in AIRFLOW_PODS for p in release.pods(selector)]


def test_uninstall_right_after_a_run_then_reinstall_on_the_kept_data(release, airflow, rankings_db, ratings_api,
                                                                     health):
    health.assert_healthy("before the uninstall")
    airflow.run_dag(DAG_ID, logical_date_of(DAY))
    rows = ranking_rows(rankings_db, DAY)
    secrets = {name: release.secret(f"{FULLNAME}-{name}") for name in KEPT_SECRETS}
    # A run in flight as well, so that the cleanup has worker and task pods to remove.
    in_flight = airflow.trigger(DAG_ID, logical_date_of("2019-02-10"))
    airflow.wait_for_task(DAG_ID, in_flight, "fetch_ratings", ["running"])
    assert airflow_pods(release), "a worker pod should be running"
    runs = airflow.get(f"/dags/{DAG_ID}/dagRuns", limit=1)["total_entries"]
    release.close()
    started = time.monotonic()
    # foreground: Helm also waits for the pods of what it deletes (the StatefulSet's, the
    # Deployments'); with the default background cascade they are still terminating.
    release.helm("uninstall", RELEASE, "--wait", "--cascade", "foreground", "--timeout", "5m")
    uninstall = time.monotonic() - started
    FIGURES["uninstall_wait_s"] = round(uninstall, 1)
    progress(f"helm uninstall --wait returned in {uninstall:.1f} s")
    assert airflow_pods(release) == [], "worker or task pods outlived the release"
    assert not release.pods(f"app.kubernetes.io/instance={RELEASE}")
    claims = {c["metadata"]["name"] for c in release.json("get", "pvc")["items"]}
    assert {f"{FULLNAME}-data", f"{FULLNAME}-mysql-data"} <= claims and f"{FULLNAME}-logs" not in claims
    for name in KEPT_SECRETS:
        assert release.secret(f"{FULLNAME}-{name}") == secrets[name], f"{name} Secret not kept"

    started = time.monotonic()
    reinstall = release.install()
    FIGURES["reinstall_on_kept_data_to_all_ready_s"] = round(reinstall, 1)
    for name in KEPT_SECRETS:
        assert release.secret(f"{FULLNAME}-{name}") == secrets[name], f"{name} Secret changed on reinstall"
    assert ranking_rows(rankings_db, DAY) == rows, "the kept rankings should be there after the reinstall"
    fresh = Airflow(release.service(f"{FULLNAME}-api-server", 8080), secrets["airflow"]["admin-password"])
    assert fresh.get(f"/dags/{DAG_ID}/dagRuns", limit=1)["total_entries"] == runs, (
        "the kept metadata should list every earlier run")
    _, seconds = fresh.run_dag(DAG_ID, logical_date_of("2019-02-11"), timeout=900)
    assert_day_is_right(rankings_db, ratings_api, "2019-02-11")
    record("helm uninstall --wait with a run in flight",
           f"returned in {uninstall:.0f} s; no worker or task pod left; data claims and credentials kept", uninstall)
    record("helm install again on the kept data",
           f"ready in {reinstall:.0f} s with the kept passwords; earlier rows and {runs} runs there; "
           f"a run succeeded in {seconds:.0f} s", time.monotonic() - started)
    health.checkpoint("reinstalled")
