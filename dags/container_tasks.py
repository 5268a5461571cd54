"""Build every pipeline task the same way: a KubernetesPodOperator running one image.

The chart sets the environment variables below on every Airflow component that
parses or runs DAGs; the defaults suit a local cluster. Nothing here touches
Airflow Variables, Connections or the database at parse time.

  MOVIELENS_NAMESPACE          namespace of the task pods (default: the worker's own)
  MOVIELENS_FETCH_IMAGE        image of fetch-ratings  (default movielens-fetch:0.1.0)
  MOVIELENS_RANK_IMAGE         image of rank-movies    (default movielens-rank:0.1.0)
  MOVIELENS_LOAD_IMAGE         image of load-rankings  (default movielens-load:0.1.0)
  MOVIELENS_IMAGE_PULL_POLICY  pull policy of the task images (default IfNotPresent)
  MOVIELENS_DATA_PVC           PersistentVolumeClaim mounted at /data (default movielens-data)
  MOVIELENS_API_URL            MovieLens API base URL (default http://movielens-api)
  MOVIELENS_API_SECRET         Secret with the API's `username` and `password` (default movielens-api)
  MOVIELENS_DB_HOST            rankings MySQL host (default mysql)
  MOVIELENS_DB_PORT            rankings MySQL port (default 3306)
  MOVIELENS_DB_NAME            rankings database (default movielens)
  MOVIELENS_DB_SECRET          Secret with the database user's `username` and `password`
                               (default movielens-db)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

DATA_MOUNT = "/data"
TASK_UID = 10001  # the user every task image runs as


@dataclass(frozen=True)
class PipelineSettings:
    namespace: str | None
    images: dict[str, str]
    pull_policy: str
    data_pvc: str
    api_url: str
    api_secret: str
    db_host: str
    db_port: str
    db_name: str
    db_secret: str

    @classmethod
    def from_env(cls, environ=os.environ) -> PipelineSettings:
        get = environ.get
        return cls(
            namespace=get("MOVIELENS_NAMESPACE") or None,
            images={
                "fetch": get("MOVIELENS_FETCH_IMAGE", "movielens-fetch:0.1.0"),
                "rank": get("MOVIELENS_RANK_IMAGE", "movielens-rank:0.1.0"),
                "load": get("MOVIELENS_LOAD_IMAGE", "movielens-load:0.1.0"),
            },
            pull_policy=get("MOVIELENS_IMAGE_PULL_POLICY", "IfNotPresent"),
            data_pvc=get("MOVIELENS_DATA_PVC", "movielens-data"),
            api_url=get("MOVIELENS_API_URL", "http://movielens-api"),
            api_secret=get("MOVIELENS_API_SECRET", "movielens-api"),
            db_host=get("MOVIELENS_DB_HOST", "mysql"),
            db_port=get("MOVIELENS_DB_PORT", "3306"),
            db_name=get("MOVIELENS_DB_NAME", "movielens"),
            db_secret=get("MOVIELENS_DB_SECRET", "movielens-db"),
        )


@dataclass(frozen=True)
class Resources:
    cpu_request: str = "100m"
    memory_request: str = "128Mi"
    cpu_limit: str = "1"
    memory_limit: str = "512Mi"

    def as_k8s(self) -> k8s.V1ResourceRequirements:
        return k8s.V1ResourceRequirements(
            requests={"cpu": self.cpu_request, "memory": self.memory_request},
            limits={"cpu": self.cpu_limit, "memory": self.memory_limit},
        )


def env_from_secret(name: str, secret: str, key: str) -> k8s.V1EnvVar:
    return k8s.V1EnvVar(
        name=name,
        value_from=k8s.V1EnvVarSource(secret_key_ref=k8s.V1SecretKeySelector(name=secret, key=key)),
    )


@dataclass
class ContainerTask:
    """What differs between tasks; everything else is decided once, below."""

    task_id: str
    image: str
    arguments: list[str]
    env: dict[str, str] = field(default_factory=dict)
    secret_env: list[k8s.V1EnvVar] = field(default_factory=list)
    resources: Resources = field(default_factory=Resources)
    # Above the program's own worst case (its retries and timeouts): a hung pod is stopped
    # and retried instead of holding the run forever.
    timeout: timedelta = timedelta(minutes=10)


def container_task(spec: ContainerTask, settings: PipelineSettings) -> KubernetesPodOperator:
    return KubernetesPodOperator(
        task_id=spec.task_id,
        name=spec.task_id.replace("_", "-"),
        namespace=settings.namespace,
        image=spec.image,
        image_pull_policy=settings.pull_policy,
        arguments=spec.arguments,
        env_vars=[k8s.V1EnvVar(name=k, value=v) for k, v in spec.env.items()] + spec.secret_env,
        labels={"app.kubernetes.io/part-of": "movielens-pipeline",
                "app.kubernetes.io/component": spec.task_id.replace("_", "-")},
        volumes=[
            k8s.V1Volume(name="data", persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(
                claim_name=settings.data_pvc)),
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
        container_resources=spec.resources.as_k8s(),
        automount_service_account_token=False,
        get_logs=True,  # the container's output goes into the task log
        log_events_on_failure=True,
        on_finish_action="delete_pod",
        startup_timeout_seconds=300,
        execution_timeout=spec.timeout,
        retries=2,
        retry_delay=timedelta(seconds=30),
        retry_exponential_backoff=True,
    )
