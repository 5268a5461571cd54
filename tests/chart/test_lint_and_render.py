"""Schema-valid renders for the values files and the main switches (`make lint` runs helm lint)."""

from __future__ import annotations

import subprocess

import pytest
from chart_helpers import CHART, FULLNAME, find_all, helm, names, render

SWITCHES = {
    "defaults": {},
    "git-sync": {"dags": {"gitSync": {"enabled": True}}},
    "git-sync-ssh": {
        "dags": {
            "gitSync": {
                "enabled": True,
                "repo": "git@example.com:org/dags.git",
                "sshKeySecret": "dags-ssh",
                "knownHosts": "example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample",
                "triggererSidecar": True,
            }
        }
    },
    "external-db": {
        "mysql": {"enabled": False},
        "airflow": {"externalDatabase": {"enabled": True, "existingSecret": "metadata"}},
        "pipeline": {"database": {"host": "db.example.internal", "existingSecret": "movielens-db"}},
    },
    "network-policies": {"networkPolicies": {"enabled": True}},
    "existing-secrets": {
        "airflow": {"secrets": {"existingSecret": "core"}, "admin": {"existingSecret": "admin"}},
        "movielensApi": {"existingSecret": "api-creds"},
        "pipeline": {"database": {"existingSecret": "db-creds"}},
    },
    "task-namespace": {
        "pipeline": {"namespace": "tasks", "createNamespace": True},
        "networkPolicies": {"enabled": True},
    },
    "no-persistence-logs": {"airflow": {"logs": {"persistence": {"enabled": False}}}},
    "ingress-tls": {
        "airflow": {"apiServer": {"ingress": {
            "enabled": True, "className": "nginx",
            "hosts": [{"name": "airflow.example.com", "tls": {"enabled": True, "secretName": "tls"}}]}}}
    },
}


@pytest.mark.parametrize("case", sorted(SWITCHES))
def test_switch_renders_valid_objects(case):
    docs = render(SWITCHES[case])  # render() validates every object (1.30 and 1.37, strict)
    assert len(docs) > 20
    # every object carries the standard labels
    for doc in docs:
        labels = doc["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/instance") == "rel", doc["metadata"]["name"]
        assert labels.get("app.kubernetes.io/managed-by") == "Helm"
        assert labels.get("app.kubernetes.io/name") == "movielens-platform"
        assert "app.kubernetes.io/component" in labels


@pytest.mark.parametrize("values_file", ["kind.yaml", "production.yaml", "local-node.yaml"])
def test_values_files_render(values_file):
    docs = render(files=[values_file])
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "ConfigMap", "Job", "Role", "RoleBinding", "ServiceAccount"} <= kinds


def test_default_objects():
    docs = render()
    assert names(docs, "Deployment") == {
        f"{FULLNAME}-{c}" for c in ("scheduler", "dag-processor", "triggerer", "api-server", "movielens-api", "statsd")
    }
    assert names(docs, "StatefulSet") == {f"{FULLNAME}-mysql"}
    assert names(docs, "Service") == {f"{FULLNAME}-api-server", f"{FULLNAME}-mysql", f"{FULLNAME}-movielens-api",
                                      f"{FULLNAME}-statsd"}
    # no logs claim by default: a ReadWriteOnce one would tie every Airflow pod to one node
    assert names(docs, "PersistentVolumeClaim") == {f"{FULLNAME}-data", f"{FULLNAME}-mysql-data"}
    assert names(docs, "CronJob") == {f"{FULLNAME}-cleanup-pods", f"{FULLNAME}-database-cleanup"}
    assert not find_all(docs, "PersistentVolume")
    assert not find_all(docs, "NetworkPolicy")
    assert not find_all(docs, "Ingress")
    assert not find_all(docs, "Namespace")


def test_every_object_is_namespaced_to_the_release():
    for doc in render():
        if doc["kind"] not in ("PersistentVolume", "Namespace"):
            assert doc["metadata"]["namespace"] == "airflow", doc["metadata"]["name"]


def test_names_fit_kubernetes_limits():
    long_release = "a-very-long-release-name-that-goes-on-and-on"
    result = subprocess.run([helm(), "template", long_release, str(CHART)], capture_output=True, text=True, check=True)
    import yaml

    for doc in yaml.safe_load_all(result.stdout):
        if doc:
            assert len(doc["metadata"]["name"]) <= 63, doc["metadata"]["name"]


def test_validation_is_strict():
    """The schema check that every render goes through rejects unknown fields and bad types."""
    from chart_helpers import validate

    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}}
    validate([cm])
    with pytest.raises(AssertionError, match="ConfigMap/x"):
        validate([{**cm, "spec": {}}])
    with pytest.raises(AssertionError, match="ConfigMap/x"):
        validate([{**cm, "data": {"a": 1}}])


def test_image_pull_secrets_on_every_pod():
    from chart_helpers import pod_bearing, pod_spec

    objs = pod_bearing(render({"imagePullSecrets": ["regcred"]}))
    assert len(objs) >= 10
    for obj in objs:
        assert pod_spec(obj)["imagePullSecrets"] == [{"name": "regcred"}], obj["metadata"]["name"]


@pytest.mark.parametrize("values_file", [None, "kind.yaml", "local-node.yaml", "production.yaml"])
def test_two_renders_are_identical(values_file):
    """Nothing random is rendered (generated Secrets are made in the cluster): a GitOps tool
    that renders the chart on every sync sees no change."""
    from chart_helpers import run_helm_template

    files = [values_file] if values_file else []
    first, second = (run_helm_template(files=files) for _ in range(2))
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
