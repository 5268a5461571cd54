"""Housekeeping: the CronJobs that delete failed pods and old metadata, the log groomer,
and where task logs go (a volume, object storage, or nowhere by default)."""

from __future__ import annotations

import pytest
from chart_helpers import (
    FULLNAME,
    airflow_cfg,
    component,
    container,
    env_of,
    env_values,
    find,
    find_all,
    names,
    pod_bearing,
    render,
    render_error,
    worker_pod,
)


def cronjob_pod(docs: list[dict], name: str) -> dict:
    return find(docs, "CronJob", f"{FULLNAME}-{name}")["spec"]["jobTemplate"]["spec"]["template"]


def test_the_failed_pods_cleanup():
    docs = render({"airflow": {"cleanup": {"schedule": "*/10 * * * *", "failedPodRetentionHours": 6}}})
    cron = find(docs, "CronJob", f"{FULLNAME}-cleanup-pods")
    assert cron["spec"]["schedule"] == "*/10 * * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cronjob_pod(docs, "cleanup-pods")
    assert pod["spec"]["serviceAccountName"] == f"{FULLNAME}-cleanup"
    env = env_values(pod["spec"]["containers"][0])
    assert env["CLEANUP_PHASES"] == "Failed" and env["CLEANUP_MIN_AGE"] == str(6 * 3600)
    # the same pods the uninstall hook looks for
    hook = find(docs, "Job", f"{FULLNAME}-cleanup")["spec"]["template"]
    assert env["CLEANUP_TARGETS"] == env_values(hook["spec"]["containers"][0])["CLEANUP_TARGETS"]
    assert pod["spec"]["containers"][0]["args"] == hook["spec"]["containers"][0]["args"]
    assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "cleanup"  # its NetworkPolicy


def test_the_database_cleanup():
    docs = render({"airflow": {"databaseCleanup": {"retentionDays": 30, "skipArchive": False}}})
    pod = cronjob_pod(docs, "database-cleanup")
    (c,) = pod["spec"]["containers"]
    assert c["args"][:2] == ["bash", "-c"]
    assert c["args"][2].startswith(
        'exec airflow db clean --yes --clean-before-timestamp "$(date -u -d "-$RETENTION_DAYS days"')
    assert "--skip-archive" not in c["args"][2]
    assert env_values(c)["RETENTION_DAYS"] == "30"
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in env_of(c)
    # no Kubernetes API: the migration Job's account, without a token
    assert pod["spec"]["serviceAccountName"] == f"{FULLNAME}-migrate"
    assert pod["spec"]["automountServiceAccountToken"] is False
    default = cronjob_pod(render(), "database-cleanup")["spec"]["containers"][0]["args"][2]
    assert default.endswith("--skip-archive")


def test_both_cronjobs_can_be_switched_off():
    docs = render({"airflow": {"cleanup": {"enabled": False}, "databaseCleanup": {"enabled": False}}})
    assert not find_all(docs, "CronJob")


def test_network_policies_let_the_database_cleanup_reach_the_metadata_database():
    docs = render({"networkPolicies": {"enabled": True}})
    policy = find(docs, "NetworkPolicy", f"{FULLNAME}-database-cleanup")
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "database-cleanup"
    mysql_from = find(docs, "NetworkPolicy", f"{FULLNAME}-mysql")["spec"]["ingress"][0]["from"]
    assert any((p.get("podSelector") or {}).get("matchLabels", {}).get("app.kubernetes.io/component")
               == "database-cleanup" for p in mysql_from)


@pytest.mark.parametrize("schedule", ["every hour", "* * *", ""])
def test_a_malformed_schedule_is_refused(schedule):
    err = render_error(values={"airflow": {"cleanup": {"schedule": schedule}}})
    assert "at '/airflow/cleanup/schedule'" in err


# ----------------------------------------------------------------------- logs


def test_by_default_no_logs_volume_ties_the_pods_to_one_node(tmp_path):
    docs = render()
    assert f"{FULLNAME}-logs" not in names(docs, "PersistentVolumeClaim")
    for obj in pod_bearing(docs):
        spec = obj["spec"] if obj["kind"] == "Pod" else (obj["spec"].get("template") or
                                                          obj["spec"]["jobTemplate"]["spec"]["template"])["spec"]
        for volume in spec.get("volumes") or []:
            assert "persistentVolumeClaim" not in volume or volume["name"] != "logs", obj["metadata"]["name"]
    assert airflow_cfg(docs)["logging"]["remote_logging"] == "False"
    assert [c["name"] for c in component(docs, "scheduler")["spec"]["template"]["spec"]["containers"]] == ["scheduler"]


def test_the_log_groomer_runs_beside_the_scheduler_on_the_logs_volume():
    docs = render({"airflow": {"logs": {"persistence": {"enabled": True},
                                        "groomer": {"retentionDays": 7, "intervalMinutes": 60}}}})
    groomer = container(component(docs, "scheduler"), "log-groomer")
    assert env_values(groomer) == {"LOGS_DIR": "/opt/airflow/logs", "RETENTION_DAYS": "7", "INTERVAL_MINUTES": "60"}
    assert groomer["volumeMounts"] == [{"name": "logs", "mountPath": "/opt/airflow/logs"}]
    assert "find \"$LOGS_DIR\"" in groomer["args"][2]
    assert groomer["securityContext"]["readOnlyRootFilesystem"] is True
    off = render({"airflow": {"logs": {"persistence": {"enabled": True}, "groomer": {"enabled": False}}}})
    assert len(component(off, "scheduler")["spec"]["template"]["spec"]["containers"]) == 1


S3 = {"enabled": True, "baseLogFolder": "s3://team-logs/airflow", "connectionId": "aws_logs",
      "connectionSecret": "airflow-logs-connection"}


def test_remote_logging_to_object_storage():
    docs = render({"airflow": {"logs": {"remote": S3}}})
    logging = airflow_cfg(docs)["logging"]
    assert logging["remote_logging"] == "True"
    assert logging["remote_base_log_folder"] == "s3://team-logs/airflow"
    assert logging["remote_log_conn_id"] == "aws_logs"
    assert logging["delete_local_logs"] == "True"
    # the connection from its Secret, in every Airflow container: workers write, the api-server reads
    expected = {"secretKeyRef": {"name": "airflow-logs-connection", "key": "connection"}}
    assert env_of(container(worker_pod(docs), "base"))["AIRFLOW_CONN_AWS_LOGS"]["valueFrom"] == expected
    for name in ("api-server", "scheduler", "dag-processor", "triggerer"):
        assert env_of(container(component(docs, name), name))["AIRFLOW_CONN_AWS_LOGS"]["valueFrom"] == expected


def test_remote_logging_through_the_workload_identity_needs_no_secret():
    docs = render({"airflow": {"logs": {"remote": {"enabled": True, "baseLogFolder": "gs://team-logs/airflow",
                                                   "connectionId": "google_cloud_default"}},
                               "workers": {"serviceAccount": {"annotations": {
                                   "iam.gke.io/gcp-service-account": "logs@project.iam.gserviceaccount.com"}}}}})
    assert not [n for n in env_of(container(worker_pod(docs), "base")) if n.startswith("AIRFLOW_CONN_")]
    assert find(docs, "ServiceAccount", f"{FULLNAME}-worker")["metadata"]["annotations"]


def test_remote_logging_needs_a_place():
    err = render_error(values={"airflow": {"logs": {"remote": {"enabled": True}}}})
    assert "airflow.logs.remote.baseLogFolder is required when airflow.logs.remote.enabled is true" in err
    err = render_error(values={"airflow": {"logs": {"remote": {"enabled": True, "baseLogFolder": "/var/log"}}}})
    assert "at '/airflow/logs/remote/baseLogFolder'" in err
