"""What `helm uninstall` leaves and removes: templates/airflow/cleanup-job.yaml (the
pre-delete hook), the keep policy of the generated Secrets and of the data claims."""

from __future__ import annotations

import ast
import subprocess
import sys

from chart_helpers import CHART, FULLNAME, container, env_values, find, find_all, generated_secrets, render

KEEP = {"helm.sh/resource-policy": "keep"}


def annotations(obj: dict) -> dict:
    return obj["metadata"].get("annotations") or {}


def test_generated_credentials_outlive_the_release():
    docs = render()
    # made by a Job, not by Helm: `helm uninstall` never deletes them (the annotation says so)
    generated = generated_secrets(docs)
    names = ("airflow", "mysql", "metadata", "movielens-db", "movielens-api")
    assert set(generated) == {f"{FULLNAME}-{n}" for n in names}
    for name, secret in generated.items():
        assert secret["annotations"] == KEEP, name
        assert secret["labels"]["app.kubernetes.io/managed-by"] == f"{FULLNAME}-secrets"


def test_data_claims_are_kept_and_logs_are_not():
    docs = render({"pipeline": {"data": {"hostPath": "/srv/data"}}, "mysql": {"persistence": {"hostPath": "/srv/db"}},
                   "airflow": {"logs": {"persistence": {"enabled": True}}}})
    claims = {c["metadata"]["name"]: annotations(c) for c in find_all(docs, "PersistentVolumeClaim")}
    assert claims == {f"{FULLNAME}-data": KEEP, f"{FULLNAME}-mysql-data": KEEP, f"{FULLNAME}-logs": {}}
    # a kept claim keeps its hostPath volume, or the claim would lose its binding
    for volume in find_all(docs, "PersistentVolume"):
        assert annotations(volume) == KEEP
    released = render({"pipeline": {"data": {"keepOnUninstall": False}}})
    assert annotations(find(released, "PersistentVolumeClaim", f"{FULLNAME}-data")) == {}


def test_cleanup_hook_deletes_this_releases_worker_pods_and_the_task_pods():
    docs = render({"pipeline": {"namespace": "tasks"}, "uninstallCleanup": {"timeoutSeconds": 30}})
    job = find(docs, "Job", f"{FULLNAME}-cleanup")
    assert annotations(job)["helm.sh/hook"] == "pre-delete"
    assert "hook-succeeded" in annotations(job)["helm.sh/hook-delete-policy"]
    spec = job["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == f"{FULLNAME}-cleanup" and spec["automountServiceAccountToken"] is True
    c = container(job, "cleanup")
    assert c["args"][:2] == ["python", "-c"]
    ast.parse(c["args"][2])
    env = env_values(c)
    assert env["CLEANUP_TARGETS"].split() == [
        "airflow=app.kubernetes.io/instance=rel,app.kubernetes.io/component=worker",
        "tasks=kubernetes_pod_operator=True,app.kubernetes.io/part-of=movielens-pipeline",
    ]
    assert env["CLEANUP_TIMEOUT"] == "30"
    assert not [j for j in find_all(render({"uninstallCleanup": {"enabled": False}}), "Job")
                if j["metadata"]["name"] == f"{FULLNAME}-cleanup"]


def test_cleanup_script_refuses_to_run_outside_a_cluster():
    """The script itself runs for real in the end-to-end suite; here: it fails loudly, not silently."""
    result = subprocess.run([sys.executable, str(CHART / "files" / "cleanup-pods.py")], capture_output=True,
                            text=True, env={"CLEANUP_TARGETS": "a=b", "CLEANUP_TIMEOUT": "1", "CLEANUP_GRACE": "0"},
                            timeout=120, check=False)
    assert result.returncode != 0
    assert "ConfigException" in result.stderr or "KUBERNETES_SERVICE_HOST" in result.stderr
