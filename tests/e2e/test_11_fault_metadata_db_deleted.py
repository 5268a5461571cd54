"""Fault: Airflow's metadata database pod is deleted mid-run. Every component recovers by
itself (no crash loop afterwards), the run succeeds (task retries allowed), and what was
there before (earlier runs, earlier rows) is intact."""

from __future__ import annotations

import time

import pytest

from tests.e2e.cluster import (
    DAG_ID,
    METADATA_DB_SELECTOR,
    assert_stable,
    progress,
    ready,
    wait_all_ready,
    wait_until,
)
from tests.e2e.conftest import METADATA_STANDIN, record
from tests.e2e.rankings import assert_day_is_right, logical_date_of

DAY = "2019-02-02"


def test_metadata_db_deleted_mid_run(release, airflow, rankings_db, ratings_api, health):
    if not METADATA_STANDIN:
        pytest.skip("the metadata database is not the suite's PostgreSQL stand-in (E2E_METADATA_DB)")
    health.assert_healthy("before deleting the metadata database")
    runs_before = airflow.get(f"/dags/{DAG_ID}/dagRuns", limit=1)["total_entries"]
    rows_before = rankings_db("SELECT COUNT(*) FROM movie_rankings")[0][0]
    run_id = airflow.trigger(DAG_ID, logical_date_of(DAY))
    airflow.wait_for_task(DAG_ID, run_id, "fetch_ratings", ["running"])
    pods = [p["metadata"]["name"] for p in release.pods(METADATA_DB_SELECTOR)]
    started = time.monotonic()
    old_uids = {p["metadata"]["uid"] for p in release.pods(METADATA_DB_SELECTOR)}
    release.kubectl("delete", "pod", *pods, "--wait=false")
    progress(f"deleted the metadata database pod {', '.join(pods)} while fetch_ratings runs")
    wait_until("a new metadata database pod", lambda: any(
        p["metadata"]["uid"] not in old_uids and ready(p) for p in release.pods(METADATA_DB_SELECTOR)), 300)
    wait_all_ready(health, timeout=600)
    back = time.monotonic() - started
    airflow.wait_for_run(DAG_ID, run_id, timeout=1200)
    done = time.monotonic() - started
    assert_stable(health)

    assert_day_is_right(rankings_db, ratings_api, DAY)
    assert rankings_db("SELECT COUNT(*) FROM movie_rankings WHERE ranking_date <> %s", (DAY,))[0][0] == rows_before
    assert airflow.get(f"/dags/{DAG_ID}/dagRuns", limit=1)["total_entries"] == runs_before + 1
    tries = {t: ti["try_number"] for t, ti in airflow.task_instances(DAG_ID, run_id).items()}
    record("Metadata database (PostgreSQL) pod deleted mid-run",
           f"database back and every component ready {back:.0f} s after the deletion, no crash loop; "
           f"run succeeded (tries {tries}), "
           "earlier runs and rows intact", done)
    health.checkpoint("metadata database replaced")
