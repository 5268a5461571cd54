"""`make down` throws the local node's cluster state away but keeps the data; the
credentials that open the data go with it (scripts/local-cluster/kept-secrets.py): saved
from a namespace, restored into a cluster where the namespace is gone, before `helm install`
adopts them. Checked here on a scratch namespace of the same cluster."""

from __future__ import annotations

import json
import os
import subprocess

from tests.e2e.cluster import ROOT, run, wait_until

SCRIPT = ROOT / "scripts/local-cluster/kept-secrets.py"
NAMESPACE = "platform-e2e-kept"


def kept_secrets(kubeconfig: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "KUBECONFIG": kubeconfig})


def secret(name: str, annotations: dict, data: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": NAMESPACE, "annotations": annotations,
                         "labels": {"app.kubernetes.io/managed-by": "Helm"}},
            "stringData": data}


def test_saved_secrets_come_back_into_a_fresh_namespace(kubeconfig, tmp_path):
    kubectl = ["kubectl", "--kubeconfig", kubeconfig]
    run(*kubectl, "delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true", timeout=180)
    run(*kubectl, "create", "namespace", NAMESPACE)
    helm_kept = {"helm.sh/resource-policy": "keep", "meta.helm.sh/release-name": "platform"}
    objects = {"apiVersion": "v1", "kind": "List", "items": [
        secret("kept", helm_kept, {"password": "p1"}),
        secret("metadata-db", {}, {"password": "p2"}),
        secret("not-kept", {}, {"password": "p3"}),
    ]}
    run(*kubectl, "apply", "-f", "-", stdin=json.dumps(objects))
    target = tmp_path / "secrets" / "kept.json"
    saved = kept_secrets(kubeconfig, "save", NAMESPACE, str(target))
    assert saved.returncode == 0, saved.stderr
    assert oct(target.stat().st_mode & 0o777) == "0o600" and oct(target.parent.stat().st_mode & 0o777) == "0o700"

    run(*kubectl, "delete", "namespace", NAMESPACE, "--wait=true", timeout=180)
    wait_until("namespace gone", lambda: run(*kubectl, "get", "namespace", NAMESPACE, check=False).returncode, 120)
    restored = kept_secrets(kubeconfig, "restore", NAMESPACE, str(target))
    assert restored.returncode == 0, restored.stderr
    names = {s["metadata"]["name"]: s for s in json.loads(
        run(*kubectl, "-n", NAMESPACE, "get", "secrets", "-o", "json").stdout)["items"]}
    assert {"kept", "metadata-db"} <= set(names) and "not-kept" not in names
    assert names["kept"]["metadata"]["annotations"]["meta.helm.sh/release-name"] == "platform"  # Helm adopts it
    # A namespace that exists holds the current Secrets: nothing is overwritten.
    again = kept_secrets(kubeconfig, "restore", NAMESPACE, str(target))
    assert again.returncode == 0 and "not restored" in again.stdout
    run(*kubectl, "delete", "namespace", NAMESPACE, "--wait=false")
