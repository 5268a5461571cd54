"""Pre-delete hook of the chart: delete the pods Airflow created for this release.

Worker pods (KubernetesExecutor) and task pods (KubernetesPodOperator) are created by
Airflow, not by Helm, so `helm uninstall` would leave them behind, still holding the
logs claim (and so `helm uninstall --wait` until its timeout). Settings from the Job:

  CLEANUP_TARGETS   "namespace=label-selector" pairs, separated by spaces
  CLEANUP_TIMEOUT   seconds to wait for the pods to be gone
  CLEANUP_GRACE     termination grace period given to each pod, in seconds
"""

import os
import sys
import time

from kubernetes import client, config


def main() -> int:
    config.load_incluster_config()
    pods = client.CoreV1Api()
    targets = [pair.split("=", 1) for pair in os.environ["CLEANUP_TARGETS"].split()]
    grace = int(os.environ["CLEANUP_GRACE"])
    deadline = time.monotonic() + float(os.environ["CLEANUP_TIMEOUT"])
    while True:
        left = []
        for namespace, selector in targets:
            for pod in pods.list_namespaced_pod(namespace, label_selector=selector).items:
                left.append(f"{namespace}/{pod.metadata.name}")
                if pod.metadata.deletion_timestamp is None:
                    print(f"deleting pod {namespace}/{pod.metadata.name}", flush=True)
                    pods.delete_namespaced_pod(pod.metadata.name, namespace, grace_period_seconds=grace)
        if not left:
            print("no worker or task pods left", flush=True)
            return 0
        if time.monotonic() > deadline:
            print(f"pods still terminating after {os.environ['CLEANUP_TIMEOUT']} s: {', '.join(left)}; "
                  "delete them by hand (kubectl delete pod --force), or uninstall with --no-hooks",
                  file=sys.stderr, flush=True)
            return 1
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
