#!/usr/bin/env python3
"""Where the seconds of one DAG run go: the phases of each task, from queued to ended.

For every task instance of the run, in order:

  queued                      the scheduler queued it (REST API: queued_when)
  worker pod scheduled        the KubernetesExecutor's pod got a node (event Scheduled)
  worker init started         its git-sync init container started (event Started, whole seconds)
  worker container started    its Airflow container started (event Started, whole seconds)
  task started                the task runner reported `running` (REST API: start_date)
  DAG parsed                  the worker parsed the DAG file (task log)
  task pod scheduled          the KubernetesPodOperator's pod got a node (event Scheduled)
  task container started      the task image's container started (event Started, whole seconds)
  task container first output the program's first log line, by its own clock (task log)
  task container last output  the program's last log line, by its own clock (task log)
  pod end seen                the operator saw the pod finish while waiting for it to start (task log)
  task pod deleted            the operator deleted the pod (task log)
  ended                       the task instance ended (REST API: end_date)

then the seconds between the phases that matter for speed, per task and in total. The
kubelet's events carry whole seconds: those phases are shown at the middle of their second
(+-0.5 s); every other time has milliseconds or better.

The sources are the REST API v2 (task instances, their logs) and the namespace's events
(kept by Kubernetes for an hour by default), so it works after the pods are gone.

Usage: scripts/run_timeline.py [--namespace NS] [--release NAME] [--dag DAG_ID] [RUN_ID]
       (KUBECONFIG or --kubeconfig picks the cluster; no RUN_ID: the DAG's latest run)
       make timeline RUN=RUN_ID
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

# A program's own log line starts with its clock: "2026-12-03 08:57:47,046 fetch-ratings INFO ..."
PROGRAM_CLOCK = re.compile(r"^\[base\] (\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[,.]\d+)")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WHOLE_SECOND_MIDDLE = timedelta(seconds=0.5)
POD_END_SEEN = re.compile(r"^Pod has reached (Succeeded|Failed) phase|^Pod \S+ has phase (Succeeded|Failed)")

# The gaps reported per task: (name, from phase, to phase).
GAPS = (
    ("queued -> worker container started", "queued", "worker container started"),
    ("worker container -> task started", "worker container started", "task started"),
    ("task started -> task pod scheduled", "task started", "task pod scheduled"),
    ("task pod scheduled -> task container started", "task pod scheduled", "task container started"),
    ("task container started -> last output", "task container started", "task container last output"),
    # The operator logs the end it sees only when it sees it while the pod starts ("pod end
    # seen"); a pod it follows ends with its deletion: that phase is in every task's log.
    ("last output -> task pod deleted", "task container last output", "task pod deleted"),
    ("task pod deleted -> ended", "task pod deleted", "ended"),
)


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    text = text.replace("Z", "+00:00").replace(",", ".")
    if " " in text and "+" not in text:
        text = text.replace(" ", "T") + "+00:00"  # a program's clock: the node's UTC
    return datetime.fromisoformat(text)


@dataclass
class TaskTimeline:
    task_id: str
    try_number: int
    state: str
    worker_pod: str | None
    task_pod: str | None = None
    phases: dict[str, datetime] = field(default_factory=dict)

    def gap(self, start: str, end: str) -> float | None:
        if start in self.phases and end in self.phases:
            return (self.phases[end] - self.phases[start]).total_seconds()
        return None


@dataclass
class RunTimeline:
    dag_id: str
    run_id: str
    state: str
    tasks: list[TaskTimeline]
    queued_at: datetime | None = None  # the trigger
    end_date: datetime | None = None  # the run's success or failure

    @property
    def trigger_to_end_s(self) -> float | None:
        if self.queued_at and self.end_date:
            return (self.end_date - self.queued_at).total_seconds()
        return None

    @property
    def start(self) -> datetime:
        return min(t.phases["queued"] for t in self.tasks if "queued" in t.phases)

    @property
    def end(self) -> datetime:
        return max(t.phases["ended"] for t in self.tasks if "ended" in t.phases)

    def next_queued_gaps(self) -> dict[str, float]:
        """Seconds from a task's end to the next task's queueing (tasks in the order they ran)."""
        gaps = {}
        for done, following in zip(self.tasks, self.tasks[1:], strict=False):
            if "ended" in done.phases and "queued" in following.phases:
                gaps[done.task_id] = (following.phases["queued"] - done.phases["ended"]).total_seconds()
        return gaps

    def figures(self) -> dict[str, object]:
        """The benchmark's figures: total, and per task the gaps that the speed goals name."""
        return {
            "run_trigger_to_end_s": _round(self.trigger_to_end_s),
            "run_first_queued_to_last_ended_s": round((self.end - self.start).total_seconds(), 1),
            "queued_to_task_container_started_s": {
                t.task_id: _round(t.gap("queued", "task container started")) for t in self.tasks},
            "task_container_exited_to_success_s": {
                t.task_id: _round(t.gap("task container last output", "ended")) for t in self.tasks},
            "gaps_s": {name: {t.task_id: _round(t.gap(a, b)) for t in self.tasks} for name, a, b in GAPS},
            "ended_to_next_queued_s": {k: _round(v) for k, v in self.next_queued_gaps().items()},
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def pod_events(events: Iterable[dict]) -> dict[str, list[tuple[str, str, datetime]]]:
    """Pod name -> (reason, container field path, time) of its events."""
    by_pod: dict[str, list[tuple[str, str, datetime]]] = {}
    for event in events:
        obj = event.get("involvedObject") or {}
        if obj.get("kind") != "Pod":
            continue
        when = parse_time(event.get("eventTime") or event.get("firstTimestamp") or event.get("lastTimestamp"))
        if when:
            by_pod.setdefault(obj["name"], []).append((event.get("reason", ""), obj.get("fieldPath") or "", when))
    return by_pod


def first_event(events: list[tuple[str, str, datetime]], reason: str, path_prefix: str = "") -> datetime | None:
    """The first such event; one in whole seconds (the kubelet's) is placed in the middle of its second."""
    times = [when + WHOLE_SECOND_MIDDLE if when.microsecond == 0 else when
             for r, path, when in events if r == reason and path.startswith(path_prefix)]
    return min(times) if times else None


def log_phases(log: list[dict]) -> tuple[str | None, dict[str, datetime]]:
    """The task pod's name and the phases the task log shows."""
    phases: dict[str, datetime] = {}
    task_pod = None
    for entry in log:
        message, when = str(entry.get("event", "")), parse_time(entry.get("timestamp"))
        if when is None:
            continue
        if message.startswith("Worker startup parse complete"):
            phases["DAG parsed"] = when
        if match := re.match(r"Building pod (\S+)", message):
            task_pod = match.group(1)
        if match := PROGRAM_CLOCK.match(message):
            phases.setdefault("task container first output", parse_time(match.group(1)))
            phases["task container last output"] = parse_time(match.group(1))
        if POD_END_SEEN.match(message):
            phases.setdefault("pod end seen", when)
        if message.startswith("Deleting pod"):
            phases["task pod deleted"] = when
    return task_pod, phases


def build_timeline(get: Callable[..., dict], task_log: Callable[[str, str, str, int], list[dict]],
                   events: Iterable[dict], dag_id: str, run_id: str) -> RunTimeline:
    """get(path, **params) is the REST API v2; task_log(dag, run, task, try) a task log's entries."""
    run = get(f"/dags/{dag_id}/dagRuns/{run_id}")
    tis = get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
    by_pod = pod_events(events)
    tasks = []
    for ti in tis:
        timeline = TaskTimeline(ti["task_id"], ti.get("try_number") or 1, ti.get("state") or "", ti.get("hostname"))
        p = timeline.phases
        for phase, key in (("queued", "queued_when"), ("task started", "start_date"), ("ended", "end_date")):
            if when := parse_time(ti.get(key)):
                p[phase] = when
        worker = by_pod.get(timeline.worker_pod or "", [])
        for phase, reason, path in (("worker pod scheduled", "Scheduled", ""),
                                    ("worker init started", "Started", "spec.initContainers"),
                                    ("worker container started", "Started", "spec.containers")):
            if when := first_event(worker, reason, path):
                p[phase] = when
        if timeline.try_number and p.get("task started"):
            task_pod, from_log = log_phases(task_log(dag_id, run_id, ti["task_id"], timeline.try_number))
            timeline.task_pod = task_pod
            p.update(from_log)
            pod = by_pod.get(task_pod or "", [])
            for phase, reason, path in (("task pod scheduled", "Scheduled", ""),
                                        ("task container started", "Started", "spec.containers")):
                if when := first_event(pod, reason, path):
                    p[phase] = when
        tasks.append(timeline)
    tasks.sort(key=lambda t: ("queued" not in t.phases, t.phases.get("queued", EPOCH)))
    return RunTimeline(dag_id, run_id, run.get("state", ""), tasks, parse_time(run.get("queued_at")),
                       parse_time(run.get("end_date")))


PHASE_ORDER = ("queued", "worker pod scheduled", "worker init started", "worker container started",
               "task started", "DAG parsed", "task pod scheduled", "task container started",
               "task container first output", "task container last output", "pod end seen", "task pod deleted", "ended")
# Events from the kubelet carry whole seconds: these phases are +-0.5 s.
COARSE = {"worker init started", "worker container started", "task container started"}


def render(timeline: RunTimeline) -> str:
    t0 = timeline.start
    whole = "" if timeline.trigger_to_end_s is None else f" ({timeline.trigger_to_end_s:.1f} s from the trigger)"
    lines = [f"{timeline.dag_id} run {timeline.run_id} ({timeline.state}): "
             f"{(timeline.end - t0).total_seconds():.1f} s from the first task queued to the last task ended{whole}",
             "", "     s  task             phase"]
    for task in timeline.tasks:
        for phase in PHASE_ORDER:
            if phase in task.phases:
                offset = (task.phases[phase] - t0).total_seconds()
                detail = {"worker pod scheduled": task.worker_pod, "task pod scheduled": task.task_pod}.get(phase)
                mark = " (+-0.5 s)" if phase in COARSE else ""
                lines.append(f"{offset:6.2f}  {task.task_id:<15}  {phase}{mark}"
                             + (f"  [{detail}]" if detail else ""))
    lines += ["", "seconds between phases:"]
    names = [t.task_id for t in timeline.tasks]
    lines.append(f"  {'':<46}" + "".join(f"{n:>15}" for n in names))
    gaps = [(name, [t.gap(a, b) for t in timeline.tasks]) for name, a, b in GAPS]
    following = timeline.next_queued_gaps()
    gaps.append(("ended -> next task queued", [following.get(n) for n in names]))
    for name, values in gaps:
        lines.append(f"  {name:<46}" + "".join(f"{'-' if v is None else f'{v:.2f}':>15}" for v in values))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_id", nargs="?", help="the DAG run (default: the DAG's latest run)")
    parser.add_argument("--dag", default="movielens_ranking")
    parser.add_argument("--namespace", default="airflow", help="the release's namespace (default: %(default)s)")
    parser.add_argument("--release", default="movielens-platform", help="the Helm release (default: %(default)s)")
    parser.add_argument("--kubeconfig", help="default: KUBECONFIG")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON after the timeline")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from platform_api import PlatformApi, ReleaseNotFound

    try:
        with PlatformApi(args.namespace, args.release, args.kubeconfig) as api:
            run_id = args.run_id or api.latest_run(args.dag)
            timeline = build_timeline(api.get, api.task_log, api.events(), args.dag, run_id)
    except ReleaseNotFound as exc:
        print(f"run_timeline: {exc}", file=sys.stderr)
        return 2
    print(render(timeline))
    if args.json:
        print(json.dumps(timeline.figures(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

