"""scripts/run_timeline.py: the phases of a run from the REST API's answers, the task logs
and the events, as a real run left them (shapes taken from Airflow 3.3.2 on Kubernetes 1.20;
the end-to-end suite runs the tool on a live release)."""

from __future__ import annotations

import pytest

from scripts.run_timeline import build_timeline, render

RUN = "manual__2026-12-03T08:57:05.340627+00:00"


def task_instance(task_id, queued, started, ended, worker):
    return {"task_id": task_id, "try_number": 1, "state": "success", "hostname": worker,
            "queued_when": queued, "start_date": started, "end_date": ended}


def log(*entries):
    return [{"event": "::group::Log message source details"}] + [
        {"timestamp": ts, "event": message, "level": "info"} for ts, message in entries]


TIS = [
    task_instance("rank_movies", "2026-12-03T08:57:52.086195Z", "2026-12-03T08:57:55.814342Z",
                  "2026-12-03T08:58:02.343078Z", "movielens-ranking-rank-movies-anvxfbk9"),
    task_instance("fetch_ratings", "2026-12-03T08:57:42.081253Z", "2026-12-03T08:57:45.229801Z",
                  "2026-12-03T08:57:51.539514Z", "movielens-ranking-fetch-ratings-xenb0y2e"),
]
LOGS = {
    "fetch_ratings": log(
        ("2026-12-03T08:57:46.120555Z", "Worker startup parse complete"),
        ("2026-12-03T08:57:46.215582Z", "Building pod fetch-ratings-fc8dk16e with labels: {'dag_id': 'x'}"),
        ("2026-12-03T08:57:51.489650Z", "Pod has reached Succeeded phase before launch timeout"),
        ("2026-12-03T08:57:51.512915Z", "[base] 2026-12-03 08:57:47,040 fetch-ratings INFO 2674 ratings to fetch"),
        ("2026-12-03T08:57:51.513505Z", "[base] 2026-12-03 08:57:47,047 fetch-ratings INFO wrote 2674 ratings"),
        ("2026-12-03T08:57:51.528092Z", "Deleting pod: fetch-ratings-fc8dk16e"),
    ),
    "rank_movies": log(
        ("2026-12-03T08:57:57.000000Z", "Building pod rank-movies-lrcp1wkc with labels: {}"),
        # a pod already running at the start-up check: not its end
        ("2026-12-03T08:57:58.500000Z", "Pod has reached Running phase before launch timeout"),
        ("2026-12-03T08:58:00.000000Z", "Pod rank-movies-lrcp1wkc has phase Running"),
        ("2026-12-03T08:58:01.000000Z", "Pod rank-movies-lrcp1wkc has phase Succeeded"),
    ),
}


def event(pod, reason, when, path="", new_style=False):
    e = {"involvedObject": {"kind": "Pod", "name": pod, "fieldPath": path}, "reason": reason}
    e["eventTime" if new_style else "firstTimestamp"] = when
    return e


EVENTS = [
    event("movielens-ranking-fetch-ratings-xenb0y2e", "Scheduled", "2026-12-03T08:57:42.120000Z", new_style=True),
    event("movielens-ranking-fetch-ratings-xenb0y2e", "Started", "2026-12-03T08:57:42Z", "spec.initContainers{git}"),
    event("movielens-ranking-fetch-ratings-xenb0y2e", "Started", "2026-12-03T08:57:43Z", "spec.containers{base}"),
    event("fetch-ratings-fc8dk16e", "Scheduled", "2026-12-03T08:57:46.404949Z", new_style=True),
    event("fetch-ratings-fc8dk16e", "Started", "2026-12-03T08:57:46Z", "spec.containers{base}"),
    event("fetch-ratings-OTHER", "Started", "2026-12-03T08:57:40Z", "spec.containers{base}"),
    {"involvedObject": {"kind": "Deployment", "name": "x"}, "reason": "ScalingReplicaSet",
     "firstTimestamp": "2026-12-03T08:57:40Z"},
]


def fake_get(path, **params):
    if path == f"/dags/movielens_ranking/dagRuns/{RUN}":
        return {"state": "success", "queued_at": "2026-12-03T08:57:41.000000Z",
                "end_date": "2026-12-03T08:58:03.000000Z"}
    assert path == f"/dags/movielens_ranking/dagRuns/{RUN}/taskInstances"
    return {"task_instances": TIS}


def fake_log(dag_id, run_id, task_id, try_number):
    assert (dag_id, run_id, try_number) == ("movielens_ranking", RUN, 1)
    return LOGS[task_id]


@pytest.fixture
def timeline():
    return build_timeline(fake_get, fake_log, EVENTS, "movielens_ranking", RUN)


def test_tasks_come_in_the_order_they_were_queued(timeline):
    assert [t.task_id for t in timeline.tasks] == ["fetch_ratings", "rank_movies"]
    assert timeline.state == "success"


def test_each_phase_comes_from_its_source(timeline):
    fetch = timeline.tasks[0]
    assert fetch.task_pod == "fetch-ratings-fc8dk16e"
    assert fetch.worker_pod == "movielens-ranking-fetch-ratings-xenb0y2e"
    assert fetch.gap("queued", "worker pod scheduled") == pytest.approx(0.039, abs=0.001)
    # Whole-second events stand in the middle of their second; the other pod's events are not taken.
    assert fetch.gap("queued", "worker container started") == pytest.approx(1.419, abs=0.001)
    assert fetch.gap("queued", "task container started") == pytest.approx(4.419, abs=0.001)
    assert fetch.gap("task started", "DAG parsed") == pytest.approx(0.891, abs=0.001)
    assert fetch.gap("task container first output", "task container last output") == pytest.approx(0.007)
    # The program finished at 47.047 and the operator saw it at 51.490: its polling.
    assert fetch.gap("task container last output", "pod end seen") == pytest.approx(4.443, abs=0.001)
    assert fetch.gap("pod end seen", "task pod deleted") == pytest.approx(0.038, abs=0.001)


def test_the_operator_seeing_the_end_while_following_logs_counts_too(timeline):
    rank = timeline.tasks[1]
    assert rank.gap("task started", "pod end seen") == pytest.approx(5.186, abs=0.001)
    assert "task container started" not in rank.phases  # no event kept: the phase is left out, not guessed


def test_figures_and_the_gap_to_the_next_task(timeline):
    figures = timeline.figures()
    assert figures["run_first_queued_to_last_ended_s"] == 20.3
    assert figures["run_trigger_to_end_s"] == 22.0
    assert figures["ended_to_next_queued_s"] == {"fetch_ratings": 0.55}
    assert figures["task_container_exited_to_success_s"] == {"fetch_ratings": 4.49, "rank_movies": None}
    assert figures["queued_to_task_container_started_s"]["fetch_ratings"] == 4.42


def test_render_lists_every_phase_with_its_offset(timeline):
    text = render(timeline)
    assert "20.3 s from the first task queued to the last task ended (22.0 s from the trigger)" in text
    assert "  4.42  fetch_ratings    task container started (+-0.5 s)" in text
    assert "  9.41  fetch_ratings    pod end seen" in text
    assert "ended -> next task queued" in text.splitlines()[-1]
