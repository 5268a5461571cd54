"""Fault: a task pod is OOM-killed (rank_movies with a memory limit far too small). The
task fails and its log says why: the container was OOMKilled."""

from __future__ import annotations

import time

from tests.e2e.cluster import wait_until
from tests.e2e.conftest import record

OOM_DAG = '''
"""Written by the end-to-end suite: rank_movies in a pod whose memory limit cannot hold it."""
import pendulum
from container_tasks import DATA_MOUNT, pipeline_setting, pipeline_task

from airflow.sdk import DAG

with DAG(dag_id="e2e_oom_probe", schedule=None, start_date=pendulum.datetime(2019, 1, 1, tz="UTC")):
    rank = pipeline_task(
        task_id="rank_movies",
        image=pipeline_setting("MOVIELENS_RANK_IMAGE"),
        arguments=["--input-path", f"{DATA_MOUNT}/ratings/2019-01-01.json", "--output-path", "/tmp/oom.csv"],
        memory_request="16Mi",
        memory_limit="16Mi",
    )
    rank.retries = 0
'''


def test_oom_killed_task_fails_with_the_reason_in_its_log(release, airflow, health):
    health.assert_healthy("before the OOM probe")
    release.git.commit({"dags/e2e_oom_probe.py": OOM_DAG}, "add an OOM probe DAG")
    airflow.wait_for_dag("e2e_oom_probe", timeout=180)
    started = time.monotonic()
    run_id = airflow.trigger("e2e_oom_probe", "2019-06-02T00:00:00Z")
    airflow.wait_for_run("e2e_oom_probe", run_id, timeout=600, expect="failed")
    seconds = time.monotonic() - started
    log = wait_until("the OOM reason in the task log",
                     lambda: (text := airflow.task_log("e2e_oom_probe", run_id, "rank_movies")) and "OOMKilled" in text
                     and text, 60)
    assert "exit_code=137" in log, log[-3000:]
    record("Task pod OOM-killed (rank_movies, 16Mi limit)",
           "the task failed; its log names OOMKilled and exit code 137", seconds)
    health.checkpoint("OOM probe done")
