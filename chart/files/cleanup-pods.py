"""Delete pods Airflow created for this release: worker pods (KubernetesExecutor) and task
pods (KubernetesPodOperator), which Helm does not know.

Two Jobs run it. The pre-delete hook deletes them all, so `helm uninstall` leaves nothing
running and releases the logs claim (`helm uninstall --wait` would otherwise wait until its
timeout). The cleanup CronJob deletes only failed pods kept past their retention. Settings:

  CLEANUP_TARGETS   "namespace=label-selector" pairs, separated by spaces
  CLEANUP_PHASES    pod phases to delete, comma-separated (empty: every phase)
  CLEANUP_MIN_AGE   seconds since a pod ended (its last container exit; else its creation)
                    below which it is kept (default 0)
  CLEANUP_TIMEOUT   seconds to wait for the deleted pods to be gone
  CLEANUP_GRACE     termination grace period given to each pod, in seconds
"""

import os
import sys
import time
from datetime import UTC, datetime

from kubernetes import client, config


def ended_at(pod) -> datetime:
    finished = [s.state.terminated.finished_at for s in (pod.status.container_statuses or [])
                if s.state and s.state.terminated and s.state.terminated.finished_at]
    return max(finished) if finished else pod.metadata.creation_timestamp


def to_delete(pod, phases: set, min_age: float, now: datetime) -> bool:
    if phases and pod.status.phase not in phases:
        return False
    return (now - ended_at(pod)).total_seconds() >= min_age


def main() -> int:
    config.load_incluster_config()
    pods = client.CoreV1Api()
    targets = [pair.split("=", 1) for pair in os.environ["CLEANUP_TARGETS"].split()]
    phases = {p for p in os.environ.get("CLEANUP_PHASES", "").split(",") if p}
    min_age = float(os.environ.get("CLEANUP_MIN_AGE", "0"))
    grace = int(os.environ["CLEANUP_GRACE"])
    deadline = time.monotonic() + float(os.environ["CLEANUP_TIMEOUT"])
    # The hook deletes every pod, those started while it waits too; the CronJob deletes the
    # pods it chose at the start (one that fails meanwhile is the next run's).
    sweep_all = not phases and min_age == 0
    doomed: set[str] = set()
    first = True
    while True:
        now = datetime.now(UTC)
        left = []
        for namespace, selector in targets:
            for pod in pods.list_namespaced_pod(namespace, label_selector=selector).items:
                key = f"{namespace}/{pod.metadata.name}"
                if (first or sweep_all) and to_delete(pod, phases, min_age, now):
                    doomed.add(key)
                if key not in doomed:
                    continue
                left.append(key)
                if pod.metadata.deletion_timestamp is None:
                    print(f"deleting pod {key} ({pod.status.phase})", flush=True)
                    pods.delete_namespaced_pod(pod.metadata.name, namespace, grace_period_seconds=grace)
        first = False
        if not left:
            print(f"done: {len(doomed)} pods deleted", flush=True)
            return 0
        if time.monotonic() > deadline:
            print(f"pods still terminating after {os.environ['CLEANUP_TIMEOUT']} s: {', '.join(left)}; "
                  "delete them by hand (kubectl delete pod --force), or uninstall with --no-hooks",
                  file=sys.stderr, flush=True)
            return 1
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
