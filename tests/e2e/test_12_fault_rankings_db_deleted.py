"""Fault: the rankings MySQL pod is deleted while load_rankings runs. The load is retried
(by load-rankings' own connection retries, else by Airflow) and the day's rows are right."""

from __future__ import annotations

import time

from tests.e2e.cluster import DAG_ID, assert_stable, progress, wait_all_ready
from tests.e2e.conftest import record
from tests.e2e.rankings import assert_day_is_right, logical_date_of

DAY = "2019-02-03"


def test_rankings_db_deleted_during_the_load(release, airflow, rankings_db, ratings_api, health):
    health.assert_healthy("before deleting MySQL")
    run_id = airflow.trigger(DAG_ID, logical_date_of(DAY))
    airflow.wait_for_task(DAG_ID, run_id, "load_rankings", ["queued", "running"], timeout=600)
    pods = [p["metadata"]["name"] for p in release.component_pods("mysql")]
    started = time.monotonic()
    release.kubectl("delete", "pod", *pods, "--wait=false")
    progress(f"deleted the MySQL pod {', '.join(pods)} as load_rankings starts")
    airflow.wait_for_run(DAG_ID, run_id, timeout=900)
    done = time.monotonic() - started
    wait_all_ready(health, timeout=300)
    assert_stable(health)
    assert_day_is_right(rankings_db, ratings_api, DAY)
    load = airflow.task_instances(DAG_ID, run_id)["load_rankings"]
    retried_by = "load-rankings' own retries" if load["try_number"] == 1 else f"Airflow (try {load['try_number']})"
    record("Rankings MySQL pod deleted during load_rankings", f"the load was retried by {retried_by}; "
           "the day's rows right", done)
    health.checkpoint("MySQL replaced")
