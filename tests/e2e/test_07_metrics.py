"""Metrics: after a DAG run, the statsd exporter serves Airflow's metrics in Prometheus
format, the chart's mappings applied: the scheduler's heartbeat, the run's duration by DAG
and state, and the outcome of each task instance (workers send theirs too)."""

from __future__ import annotations

import re

import requests

from tests.e2e.cluster import DAG_ID, FULLNAME, progress, wait_until
from tests.e2e.rankings import logical_date_of

DAY = "2019-07-02"


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of the exposition, or None."""
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$", line)
        if not m or m[1] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', m[2] or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(m[3])
    return None


def test_the_exporter_serves_the_runs_metrics(release, airflow, health):
    exporter = release.service(f"{FULLNAME}-statsd", 9102)

    def metrics() -> str:
        return exporter.call(lambda port: requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)

    before = sample(metrics(), "airflow_dagrun_duration_count", dag_id=DAG_ID, state="success") or 0
    run_id, seconds = airflow.run_dag(DAG_ID, logical_date_of(DAY))
    progress(f"run {run_id}: {seconds:.1f} s; scraping the exporter")
    text = wait_until("the run's duration among the metrics",
                      lambda: (t := metrics()) and (sample(t, "airflow_dagrun_duration_count", dag_id=DAG_ID,
                                                           state="success") or 0) > before and t, 120, interval=3)
    assert sample(text, "airflow_scheduler_heartbeat_total") > 0
    assert 0 < sample(text, "airflow_dagrun_duration_sum", dag_id=DAG_ID, state="success")
    assert "# TYPE airflow_dagrun_duration summary" in text
    # the task instances' outcomes, sent from the worker pods
    for task_id in ("fetch_ratings", "rank_movies", "load_rankings"):
        assert sample(text, "airflow_ti_finish_total", dag_id=DAG_ID, task_id=task_id, state="success") >= 1, task_id
    assert sample(text, "airflow_ti_successes_total") >= 3
    health.assert_healthy("after the metrics scrape")
