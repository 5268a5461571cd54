"""Fault: the scheduler pod is deleted while a task runs. The new scheduler adopts the
running worker pod: the run succeeds with the right rows, each task ran once (one worker
pod, one task pod), and nobody had to do anything."""

from __future__ import annotations

import time

from tests.e2e.cluster import DAG_ID, TASKS, pods_created_since, progress, utc_now, wait_until
from tests.e2e.conftest import record
from tests.e2e.rankings import assert_day_is_right, logical_date_of

DAY = "2019-02-01"


def test_scheduler_deleted_while_a_task_runs(release, airflow, rankings_db, ratings_api, health):
    health.assert_healthy("before deleting the scheduler")
    since = utc_now()
    run_id = airflow.trigger(DAG_ID, logical_date_of(DAY))
    airflow.wait_for_task(DAG_ID, run_id, "fetch_ratings", ["running"])
    old = {p["metadata"]["name"] for p in release.component_pods("scheduler")}
    started = time.monotonic()
    release.kubectl("delete", "pod", *old, "--wait=false")
    progress(f"deleted the scheduler pod {', '.join(old)} while fetch_ratings runs")
    wait_until("a new scheduler ready", lambda: any(p["metadata"]["name"] not in old for p in
                                                    release.component_pods("scheduler")), 300)
    release.settle("scheduler")
    back = time.monotonic() - started
    airflow.wait_for_run(DAG_ID, run_id, timeout=900)
    done = time.monotonic() - started

    assert_day_is_right(rankings_db, ratings_api, DAY)
    tis = airflow.task_instances(DAG_ID, run_id)
    assert {t: tis[t]["try_number"] for t in TASKS} == dict.fromkeys(TASKS, 1), "a task was run again"
    for task in TASKS:
        task_pods = pods_created_since(release, task.replace("_", "-") + "-", since)
        assert len(task_pods) == 1, f"{task}: task pods {task_pods}"
    record("Scheduler pod deleted while a task runs",
           f"new scheduler ready in {back:.0f} s, adopted the run; success, rows right, one pod per task", done)
    health.checkpoint("scheduler replaced")

