"""Housekeeping on the cluster: each CronJob run once (`kubectl create job --from=cronjob/...`),
as it is, and as a copy with a retention of zero that shows what it deletes."""

from __future__ import annotations

import json
import time

from tests.e2e.cluster import FULLNAME, RELEASE, progress, wait_until

FAKE_WORKER = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"labels": {"app.kubernetes.io/instance": RELEASE, "app.kubernetes.io/component": "worker",
                            "e2e": "housekeeping"}},
    "spec": {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 50000, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "base",
            "command": ["python", "-c"],
            "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
        }],
    },
}


def fake_worker(release, name: str, exit_code: int) -> None:
    pod = json.loads(json.dumps(FAKE_WORKER))
    pod["metadata"]["name"] = name
    scheduler = release.component_pods("scheduler")[0]["spec"]["containers"][0]
    pod["spec"]["containers"][0]["image"] = scheduler["image"]  # the Airflow image, on the node already
    pod["spec"]["containers"][0]["args"] = [f"raise SystemExit({exit_code})"]
    release.kubectl("create", "-f", "-", stdin=json.dumps(pod))


def phase(release, name: str) -> str | None:
    pods = release.json("get", "pods", "-l", "e2e=housekeeping")["items"]
    return next((p["status"].get("phase") for p in pods if p["metadata"]["name"] == name), None)


def job_from_cronjob(release, cronjob: str, job: str, env: dict[str, str] | None = None,
                     extra_args: list[str] | None = None) -> str:
    """Run the CronJob's job once (optionally a copy with changed settings); its log."""
    manifest = json.loads(release.kubectl("create", "job", f"--from=cronjob/{cronjob}", job, "--dry-run=client",
                                          "-o", "json"))
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    for item in container.get("env", []):
        if item["name"] in (env or {}):
            item["value"] = env[item["name"]]
    if extra_args:
        container["args"][-1] += " " + " ".join(extra_args)
    release.kubectl("create", "-f", "-", stdin=json.dumps(manifest))
    started = time.monotonic()
    log = release.job_log_when_done(job)
    progress(f"job {job} complete in {time.monotonic() - started:.0f} s")
    release.kubectl("delete", "job", job, "--wait=false")
    return log


def test_failed_pods_cleanup(release, health):
    health.assert_healthy("before the housekeeping jobs")
    fake_worker(release, "e2e-failed-worker", 3)
    fake_worker(release, "e2e-succeeded-worker", 0)
    wait_until("the fake worker pods ended", lambda: phase(release, "e2e-failed-worker") == "Failed"
               and phase(release, "e2e-succeeded-worker") == "Succeeded", timeout=180, interval=2)

    # as scheduled: the failed pod is younger than its retention (24 h), so it stays
    log = job_from_cronjob(release, f"{FULLNAME}-cleanup-pods", "e2e-cleanup-pods")
    assert "done: 0 pods deleted" in log, log
    assert phase(release, "e2e-failed-worker") == "Failed"

    # a copy with no retention: the failed pod goes, the succeeded one is not its business
    log = job_from_cronjob(release, f"{FULLNAME}-cleanup-pods", "e2e-cleanup-pods-now", env={"CLEANUP_MIN_AGE": "0"})
    assert f"deleting pod {release.namespace}/e2e-failed-worker (Failed)" in log, log
    assert "done: 1 pods deleted" in log, log
    assert phase(release, "e2e-failed-worker") is None
    assert phase(release, "e2e-succeeded-worker") == "Succeeded"
    release.kubectl("delete", "pod", "-l", "e2e=housekeeping", "--wait=false")


def test_database_cleanup(release, airflow, health):
    # as scheduled (90 days): it runs through every table of the real metadata database
    log = job_from_cronjob(release, f"{FULLNAME}-database-cleanup", "e2e-database-cleanup")
    assert "dag_run" in log and "task_instance" in log, log[-3000:]

    # a copy with a retention of zero days, on the audit log only: today's entries go
    airflow.wait_for_dag("movielens_ranking", timeout=180)
    airflow.call("PATCH", "/dags/movielens_ranking", {"is_paused": False})  # an audited action
    before = airflow.get("/eventLogs", limit=1)["total_entries"]
    assert before > 0
    job_from_cronjob(release, f"{FULLNAME}-database-cleanup", "e2e-database-cleanup-now",
                     env={"RETENTION_DAYS": "0"}, extra_args=["--tables", "log"])
    after = airflow.get("/eventLogs", limit=1)["total_entries"]
    progress(f"audit log entries: {before} before, {after} after a zero-day clean")
    assert after < before
    health.assert_healthy("after the housekeeping jobs")
    health.checkpoint("housekeeping done")
