"""Every pipeline task the same way: a KubernetesPodOperator running one image.

The chart hands the DAGs their settings in the `<release>-pipeline` ConfigMap, attached to
the dag-processor and the worker pods as environment variables. PIPELINE_DEFAULTS lists
them, with the values used when a DAG is parsed outside the chart (a local cluster, the
tests). Nothing here touches Airflow Variables, Connections or the database at parse time.
"""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.secret import Secret
from kubernetes.client import models as k8s

PIPELINE_DEFAULTS = {
    "MOVIELENS_NAMESPACE": "",  # empty: the worker pod's own namespace
    "MOVIELENS_SERVICE_ACCOUNT": "default",  # the task pods' identity (workload identity annotations live on it)
    "MOVIELENS_AUTOMOUNT_SERVICE_ACCOUNT_TOKEN": "false",  # the programs never call the Kubernetes API
    "MOVIELENS_FETCH_IMAGE": "movielens-fetch:0.1.0",
    "MOVIELENS_RANK_IMAGE": "movielens-rank:0.1.0",
    "MOVIELENS_LOAD_IMAGE": "movielens-load:0.1.0",
    "MOVIELENS_IMAGE_PULL_POLICY": "IfNotPresent",
    "MOVIELENS_MAX_ACTIVE_RUNS": "4",
    "MOVIELENS_POOL": "default_pool",  # the chart names its own, which its migration Job creates
    "MOVIELENS_DATA_PVC": "movielens-data",
    "MOVIELENS_API_URL": "http://movielens-api",
    "MOVIELENS_API_SECRET": "movielens-api",  # keys username, password
    "MOVIELENS_DB_HOST": "mysql",
    "MOVIELENS_DB_PORT": "3306",
    "MOVIELENS_DB_NAME": "movielens",
    "MOVIELENS_DB_SECRET": "movielens-db",  # keys username, password
}

DATA_MOUNT = "/data"  # where every task pod mounts the data claim
TASK_UID = 10001  # the user every task image runs as


def pipeline_setting(name: str) -> str:
    return os.environ.get(name, PIPELINE_DEFAULTS[name])


def secret_env(variable: str, secret_setting: str, key: str) -> Secret:
    """An environment variable of the task pod read from the Secret a setting names."""
    return Secret("env", variable, pipeline_setting(secret_setting), key)


def pipeline_task(
    *,
    task_id: str,
    image: str,
    arguments: list[str],
    env: dict[str, str] | None = None,
    secrets: list[Secret] | None = None,
    memory_request: str = "128Mi",
    memory_limit: str = "512Mi",
    # Above the program's own worst case (its retries and timeouts): a hung pod is stopped
    # and retried instead of holding the run forever.
    timeout: timedelta = timedelta(minutes=10),
) -> KubernetesPodOperator:
    return KubernetesPodOperator(
        task_id=task_id,
        name=task_id.replace("_", "-"),
        namespace=pipeline_setting("MOVIELENS_NAMESPACE") or None,
        pool=pipeline_setting("MOVIELENS_POOL"),
        image=image,
        image_pull_policy=pipeline_setting("MOVIELENS_IMAGE_PULL_POLICY"),
        arguments=arguments,
        env_vars=env or {},
        secrets=secrets or [],
        labels={"app.kubernetes.io/part-of": "movielens-pipeline",
                "app.kubernetes.io/component": task_id.replace("_", "-")},
        volumes=[
            k8s.V1Volume(name="data", persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(
                claim_name=pipeline_setting("MOVIELENS_DATA_PVC"))),
            k8s.V1Volume(name="tmp", empty_dir=k8s.V1EmptyDirVolumeSource(size_limit="1Gi")),
        ],
        volume_mounts=[
            k8s.V1VolumeMount(name="data", mount_path=DATA_MOUNT),
            k8s.V1VolumeMount(name="tmp", mount_path="/tmp"),
        ],
        security_context=k8s.V1PodSecurityContext(
            run_as_non_root=True, run_as_user=TASK_UID, run_as_group=TASK_UID, fs_group=TASK_UID,
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
        ),
        container_security_context=k8s.V1SecurityContext(
            allow_privilege_escalation=False, read_only_root_filesystem=True,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
        ),
        container_resources=k8s.V1ResourceRequirements(
            requests={"cpu": "100m", "memory": memory_request},
            limits={"cpu": "1", "memory": memory_limit},
        ),
        service_account_name=pipeline_setting("MOVIELENS_SERVICE_ACCOUNT"),
        automount_service_account_token=pipeline_setting("MOVIELENS_AUTOMOUNT_SERVICE_ACCOUNT_TOKEN") == "true",
        get_logs=True,  # the container's output goes into the task log
        # The provider looks at a starting pod every 5 s by default; a program that ends
        # within that (most of ours do) held its task for up to 5 s more (make timeline).
        # Every 0.25 s, the wait after the kubelet reports the end is at most that: a few
        # more reads of one pod while it starts.
        startup_check_interval_seconds=0.25,
        log_events_on_failure=True,
        on_finish_action="delete_pod",
        startup_timeout_seconds=300,
        execution_timeout=timeout,
        retries=2,
        retry_delay=timedelta(seconds=30),
        retry_exponential_backoff=True,
    )
