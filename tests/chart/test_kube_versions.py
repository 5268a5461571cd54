"""API versions chosen from .Capabilities: Kubernetes 1.20 (the offline node) and current."""

from __future__ import annotations

import pytest
from chart_helpers import find, find_all, render

TASK_NS = {"pipeline": {"namespace": "tasks", "createNamespace": True}}


def test_kubernetes_1_20_uses_policy_v1beta1_and_no_pod_security_labels():
    docs = render(TASK_NS, kube_version="1.20.2")  # validated against the oldest bundled schema
    pdbs = find_all(docs, "PodDisruptionBudget")
    # api-server, scheduler, dag-processor, triggerer, MovieLens API
    assert len(pdbs) == 5
    assert {p["apiVersion"] for p in pdbs} == {"policy/v1beta1"}
    ns = find(docs, "Namespace", "tasks")
    assert not [k for k in ns["metadata"]["labels"] if k.startswith("pod-security.kubernetes.io/")]
    assert {c["apiVersion"] for c in find_all(docs, "CronJob")} == {"batch/v1beta1"}
    # every other API version exists in 1.20
    allowed = {"v1", "apps/v1", "batch/v1", "batch/v1beta1", "rbac.authorization.k8s.io/v1", "networking.k8s.io/v1",
               "policy/v1beta1"}
    assert {d["apiVersion"] for d in docs} <= allowed


@pytest.mark.parametrize("version", ["1.21.0", "1.22.5"])
def test_policy_v1_from_1_21(version):
    docs = render(TASK_NS, kube_version=version)
    assert {p["apiVersion"] for p in find_all(docs, "PodDisruptionBudget")} == {"policy/v1"}
    assert {c["apiVersion"] for c in find_all(docs, "CronJob")} == {"batch/v1"}
    ns = find(docs, "Namespace", "tasks")
    assert "pod-security.kubernetes.io/enforce" not in ns["metadata"]["labels"]


@pytest.mark.parametrize("version", ["1.23.0", "1.30.0", "1.37.0"])
def test_pod_security_labels_from_1_23(version):
    docs = render(TASK_NS, kube_version=version)
    labels = find(docs, "Namespace", "tasks")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    assert {p["apiVersion"] for p in find_all(docs, "PodDisruptionBudget")} == {"policy/v1"}


def test_1_20_with_every_feature():
    docs = render(
        {
            **TASK_NS,
            "networkPolicies": {"enabled": True},
            "dags": {"gitSync": {"enabled": True}},
            "airflow": {"apiServer": {"ingress": {"enabled": True, "hosts": [{"name": "airflow.example.com"}]}}},
        },
        kube_version="1.20.2",
    )
    assert find_all(docs, "NetworkPolicy") and find_all(docs, "Ingress")


def test_chart_refuses_kubernetes_older_than_1_20():
    from chart_helpers import render_error

    err = render_error(kube_version="1.19.16")
    assert "chart requires kubeVersion: >=1.20.0-0" in err
