"""The platform on a real cluster: install, helm test, the DAG end to end, DAGs from git (the
versioned DAG bundle, and git-sync), upgrade.

The tests run in file order and share one release (module fixtures in conftest.py).
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from scripts.run_timeline import build_timeline, render
from tests.e2e.cluster import (
    DAG_ID,
    E2E_NODE_PORT,
    FULLNAME,
    RELEASE,
    TASKS,
    on_local_node,
    progress,
    wait_until,
)
from tests.e2e.conftest import FIGURES, REPORTS
from tests.e2e.rankings import assert_matches_independent_ranking, ranking_rows

FIRST_RUN = ("2019-01-02T00:00:00Z", "2019-01-01", "2019-01-02")  # logical date, data interval
UPGRADE_RUN = ("2019-01-03T00:00:00Z", "2019-01-02", "2019-01-03")
STATE: dict[str, object] = {}


def test_helm_test_passes(release):
    result = release.helm("test", RELEASE, "--timeout", "10m")  # fails the test on a non-zero exit
    phases = [line.split()[-1] for line in result.stdout.splitlines() if line.strip().startswith("Phase:")]
    assert phases and set(phases) == {"Succeeded"}, result.stdout


def test_the_ui_answers_on_its_node_port(release):
    """The UI without a port-forward: the api-server's NodePort on the node's 127.0.0.1."""
    service = release.json("get", "service", f"{FULLNAME}-api-server")["spec"]
    assert service["type"] == "NodePort" and service["ports"][0]["nodePort"] == E2E_NODE_PORT
    if not on_local_node():
        pytest.skip("the NodePort is reached from this machine only on the local node (kind: extraPortMappings)")
    health = requests.get(f"http://127.0.0.1:{E2E_NODE_PORT}/api/v2/monitor/health", timeout=30)
    assert health.status_code == 200 and health.json()["metadatabase"]["status"] == "healthy"
    login = requests.get(f"http://127.0.0.1:{E2E_NODE_PORT}/auth/login/", timeout=30)
    assert login.status_code == 200 and "csrf_token" in login.text


def test_the_dag_ranks_a_day_into_mysql(airflow, rankings_db, ratings_api):
    logical_date, start, end = FIRST_RUN
    progress(f"triggering {DAG_ID} for {logical_date}")
    airflow.wait_for_dag(DAG_ID, timeout=300)
    run_id, seconds = airflow.run_dag(DAG_ID, logical_date)
    FIGURES["dag_run_s"] = round(seconds, 1)
    STATE["run_id"] = run_id
    progress(f"run {run_id} succeeded in {seconds:.1f} s")
    assert_matches_independent_ranking(ranking_rows(rankings_db, start), ratings_api(start, end))


def _pods_of(release, dag_id: str) -> list[str]:
    pods = json.loads(release.kubectl("get", "pods", "-o", "json"))["items"]
    return [p["metadata"]["name"] for p in pods if p["metadata"].get("labels", {}).get("dag_id") == dag_id]


def test_task_logs_outlive_the_pods(release, airflow):
    run_id = STATE["run_id"]
    deadline = time.monotonic() + 180
    while _pods_of(release, DAG_ID) and time.monotonic() < deadline:
        time.sleep(3)
    assert _pods_of(release, DAG_ID) == [], "worker and task pods should be deleted when done"
    expected = {
        "fetch_ratings": "ratings to",  # fetch-ratings: "wrote N ratings to /data/ratings/..."
        "rank_movies": "ranked movies to",
        "load_rankings": "rankings for 2019-01-01",
    }
    for task, needle in expected.items():
        log = airflow.task_log(DAG_ID, run_id, task)
        assert needle in log, f"{task}'s log lacks the container output {needle!r}:\n{log[-2000:]}"


def test_timeline_of_the_first_run(release, airflow):
    """Where the first run's seconds went (scripts/run_timeline.py), printed and kept as figures."""
    run_id = STATE["run_id"]
    events = release.json("get", "events")["items"]
    timeline = build_timeline(airflow.get, airflow.task_log_entries, events, DAG_ID, run_id)
    REPORTS["timeline of the first run"] = render(timeline)
    figures = timeline.figures()
    FIGURES["first_run_timeline"] = figures
    FIGURES["queued_to_task_container_started_s"] = figures["queued_to_task_container_started_s"]
    assert [t.task_id for t in timeline.tasks] == list(TASKS)
    for task in timeline.tasks:
        missing = [
            p
            for p in (
                "queued",
                "worker pod scheduled",
                "worker container started",
                "task started",
                "task pod scheduled",
                "task container started",
                "task container last output",
                "task pod deleted",
                "ended",
            )
            if p not in task.phases
        ]
        assert not missing, f"{task.task_id}: the timeline lacks {missing}"
        assert task.gap("queued", "ended") > 0


def test_rerunning_a_date_keeps_the_row_count(airflow, rankings_db):
    run_id, (_, day, _) = STATE["run_id"], FIRST_RUN
    before = rankings_db("SELECT COUNT(*), MAX(loaded_at) FROM movie_rankings WHERE ranking_date = %s", (day,))[0]
    time.sleep(1)  # loaded_at has second resolution
    airflow.clear(DAG_ID, run_id)
    airflow.wait_for_run(DAG_ID, run_id)
    after = rankings_db("SELECT COUNT(*), MAX(loaded_at) FROM movie_rankings WHERE ranking_date = %s", (day,))[0]
    assert after[0] == before[0] > 0
    assert after[1] > before[1], "the rerun should have reloaded the day"


PROBE_DAG = '''
"""Written by the end-to-end suite: proves {source} delivers new DAGs."""
import pendulum
from container_tasks import pipeline_setting, pipeline_task

from airflow.sdk import DAG

with DAG(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime(2019, 1, 1, tz="UTC")):
    pipeline_task(task_id="probe", image=pipeline_setting("MOVIELENS_FETCH_IMAGE"), arguments=["--help"])
'''


def test_the_dag_repository_delivers_a_new_dag(release, airflow):
    dag_id = "e2e_dag_bundle_probe"
    release.git.commit(
        {f"dags/{dag_id}.py": PROBE_DAG.format(source="the git DAG bundle", dag_id=dag_id)}, "add a probe DAG"
    )
    seconds = airflow.wait_for_dag(dag_id, timeout=180)
    FIGURES["git_commit_to_dag_visible_s"] = round(seconds, 1)
    progress(f"new DAG visible {seconds:.1f} s after the commit (bundle refresh 5 s, folder refresh 10 s)")
    _, run_seconds = airflow.run_dag(dag_id, "2019-06-01T00:00:00Z", timeout=600)
    FIGURES["probe_dag_run_s"] = round(run_seconds, 1)


VERSIONED_DAG = '''
"""Written by the end-to-end suite: a run keeps the DAG version it started with."""
import time

import pendulum

from airflow.sdk import DAG, Variable, task

VERSION = "{version}"

with DAG(dag_id="e2e_dag_version_probe", schedule=None, start_date=pendulum.datetime(2019, 1, 1, tz="UTC"),
         description=f"DAG file {{VERSION}}"):

    @task
    def hold():
        """Waits until the suite has pushed the next version of this file."""
        deadline = time.monotonic() + 600
        while Variable.get("e2e_dag_version_probe_go", default=None) is None:
            if time.monotonic() > deadline:
                raise TimeoutError("the suite never set e2e_dag_version_probe_go")
            time.sleep(1)

    @task
    def report():
        print(f"this task ran DAG file {{VERSION}}")

    hold() >> report()
'''


def test_a_run_keeps_the_dag_version_it_started_with(release, airflow):
    """Issue 10: a push during a run does not change the code of its later tasks; the next run
    uses the new code; both versions stay listed (the UI reads the same API)."""
    dag_id, go = "e2e_dag_version_probe", "/variables/e2e_dag_version_probe_go"
    airflow.request("DELETE", go)
    first = release.git.commit({"dags/e2e_dag_version_probe.py": VERSIONED_DAG.format(version="v1")}, "probe v1")
    airflow.wait_for_dag(dag_id, timeout=180)
    old_run = airflow.trigger(dag_id, "2019-07-01T00:00:00Z")
    airflow.wait_for_task(dag_id, old_run, "hold", ["running"])

    second = release.git.commit({"dags/e2e_dag_version_probe.py": VERSIONED_DAG.format(version="v2")}, "probe v2")
    versions = wait_until(
        "version 2 of the DAG parsed",
        lambda: (v := airflow.get(f"/dags/{dag_id}/dagVersions")["dag_versions"]) and len(v) >= 2 and v,
        180,
    )
    assert [(v["version_number"], v["bundle_name"], v["bundle_version"]) for v in versions] == [
        (1, "dags", first),
        (2, "dags", second),
    ]
    airflow.call("POST", "/variables", {"key": go.rsplit("/", 1)[1], "value": "go"})

    airflow.wait_for_run(dag_id, old_run, timeout=300)
    new_run, _ = airflow.run_dag(dag_id, "2019-07-02T00:00:00Z", timeout=300)
    for run_id, commit, text in ((old_run, first, "v1"), (new_run, second, "v2")):
        assert airflow.get(f"/dags/{dag_id}/dagRuns/{run_id}")["bundle_version"] == commit, run_id
        report = airflow.task_instances(dag_id, run_id)["report"]
        assert report["dag_version"]["bundle_version"] == commit, run_id
        log = airflow.task_log(dag_id, run_id, "report")
        assert f"this task ran DAG file {text}" in log, f"{run_id}: {log[-2000:]}"
    airflow.request("DELETE", go)
    progress(f"run {old_run} kept {first[:8]} through a push; {new_run} ran {second[:8]}")


def test_upgrade_keeps_secrets_and_data(release, airflow, rankings_db):
    secrets_before = {name: release.secret(f"{FULLNAME}-{name}") for name in ("airflow", "mysql", "movielens-db")}
    rows_before = ranking_rows(rankings_db, FIRST_RUN[1])
    progress("helm upgrade with a changed value")
    seconds = release.install("--set", "airflow.config.core.parallelism=24")
    FIGURES["upgrade_to_all_ready_s"] = round(seconds, 1)
    for name, before in secrets_before.items():
        assert release.secret(f"{FULLNAME}-{name}") == before, f"{name} Secret changed on upgrade"
    config = release.kubectl("get", "configmap", "-o", "json")
    assert "parallelism = 24" in config, "the changed value should reach airflow.cfg"
    assert ranking_rows(rankings_db, FIRST_RUN[1]) == rows_before

    release.settle("api-server")
    fresh = release.admin_airflow()
    logical_date, day, _ = UPGRADE_RUN
    _, run_seconds = fresh.run_dag(DAG_ID, logical_date)
    FIGURES["dag_run_after_upgrade_s"] = round(run_seconds, 1)
    assert ranking_rows(rankings_db, day), "the run after the upgrade should load its day"


def test_git_sync_still_delivers_dags(release, airflow):
    """git-sync, the unversioned way to follow a repository (a sidecar of the dag-processor, an
    init container of the worker pods): switched on, it serves a new DAG and runs it; then the
    release goes back to the bundle."""
    dag_id = "e2e_git_sync_probe"
    progress("helm upgrade to git-sync")
    release.install(
        "--set",
        "dags.gitBundle.enabled=false",
        "--set",
        "dags.gitSync.enabled=true",
        "--set",
        "dags.gitSync.repo=git://dags-git-server:9418/dags.git",
        "--set",
        "dags.gitSync.period=5s",
    )
    release.settle("dag-processor")  # helm returns once the new pod is ready; the old one may still be ending
    dag_processor = release.component_pods("dag-processor")[0]
    assert "git-sync" in [c["name"] for c in dag_processor["spec"]["containers"]]
    release.git.commit({f"dags/{dag_id}.py": PROBE_DAG.format(source="git-sync", dag_id=dag_id)}, "add a probe DAG")
    release.settle("api-server")
    fresh = release.admin_airflow()
    fresh.wait_for_dag(dag_id, timeout=180)
    fresh.run_dag(dag_id, "2019-06-01T00:00:00Z", timeout=600)
    progress("helm upgrade back to the git DAG bundle")
    release.install()
    release.settle("api-server")
    release.admin_airflow().run_dag(DAG_ID, "2019-04-16T00:00:00Z")
