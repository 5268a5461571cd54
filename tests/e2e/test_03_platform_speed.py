"""The platform's speed, measured (make bench-platform runs this module alone): warm runs
with the timeline of each, a 30-day backfill, and the release's memory at idle. Figures go
to the figures file and beside the baseline of the speed issue in the terminal summary; no
test asserts a time. Each run's rows are checked against the independent ranking.
"""

from __future__ import annotations

import statistics
import time
from datetime import date, timedelta

from scripts.run_timeline import build_timeline, render
from tests.e2e.cluster import DAG_ID, RELEASE, progress, wait_until
from tests.e2e.conftest import FIGURES, REPORTS, SPEED
from tests.e2e.rankings import assert_day_is_right, logical_date_of

WARM_DAYS = ["2019-02-20", "2019-02-21", "2019-02-22"]
BACKFILL_FROM, BACKFILL_DAYS = date(2019, 3, 1), 30


def median_per_task(timelines, start: str, end: str) -> float:
    return statistics.median(t.gap(start, end) for tl in timelines for t in tl.tasks if t.gap(start, end) is not None)


def test_warm_runs_and_their_timelines(release, airflow, rankings_db, ratings_api):
    seconds, timelines = [], []
    for day in WARM_DAYS:
        run_id, took = airflow.run_dag(DAG_ID, logical_date_of(day))
        seconds.append(took)
        timelines.append(build_timeline(airflow.get, airflow.task_log_entries,
                                        release.json("get", "events")["items"], DAG_ID, run_id))
        progress(f"warm run {day}: {took:.1f} s trigger to success")
        assert_day_is_right(rankings_db, ratings_api, day)
    REPORTS["timeline of the last warm run"] = render(timelines[-1])
    FIGURES["warm_run_trigger_to_success_s"] = [round(s, 1) for s in seconds]
    FIGURES["warm_run_timeline"] = timelines[-1].figures()
    # The run's own clock (triggered -> ended), not this test's polling of it.
    SPEED["one 3-task run, warm, trigger to success (s)"] = round(
        statistics.median(tl.trigger_to_end_s for tl in timelines), 1)
    SPEED["per task, queued -> task container started, median (s)"] = round(
        median_per_task(timelines, "queued", "task container started"), 2)
    SPEED["per task, task container exited -> task instance success, median (s)"] = round(
        median_per_task(timelines, "task container last output", "ended"), 2)


def test_a_30_day_backfill(airflow, rankings_db, ratings_api, health):
    to_date = BACKFILL_FROM + timedelta(days=BACKFILL_DAYS - 1)
    days = [(BACKFILL_FROM + timedelta(days=i)).isoformat() for i in range(BACKFILL_DAYS)]
    # The DAG's own limit, which the chart sets (pipeline.maxActiveRuns): a backfill takes it too.
    max_active_runs = airflow.get(f"/dags/{DAG_ID}/details")["max_active_runs"]
    started = time.monotonic()
    # A backfill's dates are its runs' logical dates, which for this timetable are the days
    # ranked (a manual run's logical date is the end of its day instead: logical_date_of).
    backfill = airflow.call("POST", "/backfills", {
        "dag_id": DAG_ID, "from_date": f"{days[0]}T00:00:00Z", "to_date": f"{days[-1]}T00:00:00Z",
        "max_active_runs": max_active_runs, "reprocess_behavior": "completed"})
    progress(f"backfill {backfill['id']}: {days[0]} .. {to_date}, max_active_runs {max_active_runs}")
    FIGURES["backfill_max_active_runs"] = max_active_runs

    def finished():
        runs = airflow.get(f"/dags/{DAG_ID}/dagRuns", run_type=["backfill"], limit=100)["dag_runs"]
        states = [r["state"] for r in runs if r["data_interval_start"][:10] in days]
        return len(states) == BACKFILL_DAYS and all(s in ("success", "failed") for s in states) and states

    states = wait_until("the backfill's runs finished", finished, timeout=1800, interval=5)
    wall = time.monotonic() - started
    assert set(states) == {"success"}, f"backfill runs ended {sorted(set(states))}"
    FIGURES["backfill_30_days_s"] = round(wall, 1)
    FIGURES["backfill_runs_per_minute"] = round(BACKFILL_DAYS / wall * 60, 2)
    SPEED["30 days of 2019 backfilled, wall time (s)"] = round(wall, 1)
    progress(f"30 days backfilled in {wall:.0f} s ({BACKFILL_DAYS / wall * 60:.1f} runs/min)")
    for day in days:
        assert_day_is_right(rankings_db, ratings_api, day)
    health.assert_healthy("after the 30-day backfill")


def test_memory_at_idle(release, airflow):
    """The working set of every container of the release (not the metadata stand-in), once no
    run is active: the kubelet's summary API, which kind and the local node both serve."""
    wait_until("no active run", lambda: not airflow.get(f"/dags/{DAG_ID}/dagRuns", state=["running", "queued"],
                                                         limit=1)["total_entries"], timeout=600)
    time.sleep(30)  # worker pods gone, the components back at rest
    labels = {p["metadata"]["name"]: p["metadata"]["labels"]
              for p in release.json("get", "pods", "-l", f"app.kubernetes.io/instance={RELEASE}")["items"]}
    node = release.json("get", "nodes")["items"][0]["metadata"]["name"]
    per_container: dict[str, int] = {}
    for pod in release.raw(f"/api/v1/nodes/{node}/proxy/stats/summary")["pods"]:
        name = pod["podRef"]["name"]
        if pod["podRef"]["namespace"] != release.namespace or name not in labels:
            continue
        component = labels[name]["app.kubernetes.io/component"]
        for container in pod.get("containers", []):
            key = f"{component}/{container['name']}"
            per_container[key] = per_container.get(key, 0) + ((container.get("memory") or {}).get("workingSetBytes")
                                                              or 0)
    total = sum(per_container.values())
    FIGURES["idle_memory_mib"] = {k: round(v / 2**20) for k, v in sorted(per_container.items())}
    SPEED["platform memory at idle, sum of the release's containers (MiB)"] = round(total / 2**20)
    progress(f"idle memory: {round(total / 2**20)} MiB: {FIGURES['idle_memory_mib']}")
    assert "scheduler/scheduler" in per_container and total > 0
