"""Fault: a hung database, its processes frozen while connections are still accepted.
load_rankings against a stopped rankings MySQL times out with a message (no task waits
forever: every task also has an execution_timeout), is retried, and the run succeeds once
the server resumes. With Airflow's metadata database stopped mid-run, every component
waits, then recovers by itself when it resumes, and the run succeeds."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.e2e.cluster import (
    DAG_ID,
    METADATA_DB_SELECTOR,
    NODE,
    assert_stable,
    on_local_node,
    progress,
    wait_all_ready,
)
from tests.e2e.conftest import METADATA_STANDIN, record
from tests.e2e.rankings import assert_day_is_right, logical_date_of


def freeze(pod: dict, container: str, seconds: float) -> None:
    """Freeze every process of the container (the cgroup freezer, `ctr task pause`) for
    `seconds`: the kernel still accepts connections, nothing answers. (From inside the pod
    a SIGSTOP cannot reach the container's PID 1.)"""
    status = next(s for s in pod["status"]["containerStatuses"] if s["name"] == container)
    task = status["containerID"].split("://", 1)[1]
    subprocess.run([str(NODE), "ctr", "task", "pause", task], check=True, capture_output=True, timeout=60)
    try:
        time.sleep(seconds)
    finally:
        subprocess.run([str(NODE), "ctr", "task", "resume", task], check=True, capture_output=True, timeout=60)


def test_rankings_db_hangs_during_the_load(release, airflow, rankings_db, ratings_api, health):
    if not on_local_node():
        pytest.skip("freezing a container needs the local node of scripts/local-cluster, as root")
    day = "2019-02-05"
    health.assert_healthy("before stopping MySQL")
    run_id = airflow.trigger(DAG_ID, logical_date_of(day))
    airflow.wait_for_task(DAG_ID, run_id, "load_rankings", ["running"], timeout=600)
    stopped = time.monotonic()
    progress("MySQL frozen while load_rankings runs; resuming in 45 s")
    freeze(release.component_pods("mysql")[0], "mysql", 45)
    airflow.wait_for_run(DAG_ID, run_id, timeout=900)
    done = time.monotonic() - stopped
    load = airflow.task_instances(DAG_ID, run_id)["load_rankings"]
    assert load["try_number"] >= 2, "the first load should have timed out against the stopped server"
    first = airflow.task_log(DAG_ID, run_id, "load_rankings", 1)
    assert "stopped answering" in first or "cannot reach MySQL" in first, first[-3000:]
    assert_day_is_right(rankings_db, ratings_api, day)
    wait_all_ready(health, timeout=300)
    record("Rankings MySQL frozen for 45 s during load_rankings",
           f"the load timed out with a message, was retried (try {load['try_number']}) and succeeded", done)
    health.checkpoint("MySQL resumed")


def test_metadata_db_hangs_mid_run(release, airflow, rankings_db, ratings_api, health):
    if not METADATA_STANDIN or not on_local_node():
        pytest.skip("needs the suite's PostgreSQL stand-in on the local node of scripts/local-cluster, as root")
    day = "2019-02-06"
    health.assert_healthy("before stopping the metadata database")
    run_id = airflow.trigger(DAG_ID, logical_date_of(day))
    airflow.wait_for_task(DAG_ID, run_id, "fetch_ratings", ["running"])
    progress("PostgreSQL frozen mid-run; resuming in 40 s")
    freeze(release.pods(METADATA_DB_SELECTOR)[0], "postgres", 40)
    resumed = time.monotonic()
    recovered = wait_all_ready(health, timeout=600)
    airflow.wait_for_run(DAG_ID, run_id, timeout=1200)
    done = time.monotonic() - resumed
    assert_stable(health)
    assert_day_is_right(rankings_db, ratings_api, day)
    record("Metadata database frozen for 40 s mid-run",
           f"components ready {recovered:.0f} s after it resumed, no crash loop; the run succeeded", done)
    health.checkpoint("metadata database resumed")
