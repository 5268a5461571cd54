"""Pod and container security, resources, and no secrets in ConfigMaps."""

from __future__ import annotations

import pytest
from chart_helpers import all_containers, find_all, pod_bearing, pod_spec, render

CASES = {
    "defaults": {},
    "git-sync": {"dags": {"gitSync": {"enabled": True, "triggererSidecar": True}}},
    "kind": "kind.yaml",
    "production": "production.yaml",
}


def docs_for(case):
    value = CASES[case]
    return render(files=[value]) if isinstance(value, str) else render(value)


@pytest.mark.parametrize("case", sorted(CASES))
def test_pods_are_restricted(case):
    objs = pod_bearing(docs_for(case))
    assert len(objs) >= 8
    for obj in objs:
        spec = pod_spec(obj)
        psc = spec["securityContext"]
        where = obj["metadata"]["name"]
        assert psc["runAsNonRoot"] is True, where
        assert psc["runAsUser"] > 0, where
        assert psc["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert "hostNetwork" not in spec and "hostPID" not in spec
        for c in all_containers(obj):
            sc = c["securityContext"]
            cw = f"{where}/{c['name']}"
            assert sc["allowPrivilegeEscalation"] is False, cw
            assert sc["capabilities"] == {"drop": ["ALL"]}, cw
            assert sc["runAsNonRoot"] is True, cw
            assert sc["readOnlyRootFilesystem"] is True, cw
            assert "privileged" not in sc
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][part]), cw
            assert c["imagePullPolicy"] in ("IfNotPresent", "Never"), cw
            assert not c["image"].endswith(":latest") and ":" in c["image"], cw
        for vol in spec.get("volumes", []):
            assert "hostPath" not in vol, where


def test_writable_tmp_for_read_only_root_filesystems():
    for obj in pod_bearing(render({"dags": {"gitSync": {"enabled": True}}})):
        for c in all_containers(obj):
            mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{obj['metadata']['name']}/{c['name']}"


def test_service_account_tokens_only_where_the_kubernetes_api_is_used():
    docs = render()
    tokens = {}
    for obj in pod_bearing(docs):
        spec = pod_spec(obj)
        component = obj["metadata"]["labels"]["app.kubernetes.io/component"]
        tokens[component] = spec["automountServiceAccountToken"]
    assert tokens == {
        "scheduler": True,
        "triggerer": True,
        "api-server": True,
        "worker": True,
        "cleanup": True,  # the uninstall hook and the CronJob delete worker and task pods
        "secrets": True,  # the Secret generator
        "database-cleanup": False,
        "statsd": False,
        "dag-processor": False,
        "movielens-api": False,
        "mysql": False,
        "migrate": False,
        "test": False,
    }


def test_no_secret_in_any_manifest():
    for case in CASES:
        docs = docs_for(case)
        assert not find_all(docs, "Secret"), case  # generated inside the cluster
        for cm in find_all(docs, "ConfigMap"):
            assert "password =" not in "\n".join(cm["data"].values()).lower(), cm["metadata"]["name"]


def test_secret_settings_come_from_secrets():
    for obj in pod_bearing(render()):
        for c in all_containers(obj):
            for e in c.get("env", []):
                if "value" in e:
                    assert not any(word in e["name"] for word in ("PASSWORD", "SECRET_KEY", "FERNET", "JWT")), e["name"]


def test_movielens_api_pod():
    from chart_helpers import FULLNAME, component, container, env_of, find

    docs = render()
    api = component(docs, "movielens-api")
    c = container(api, "movielens-api")
    assert c["image"] == "movielens-api:0.1.0"
    assert pod_spec(api)["securityContext"]["runAsUser"] == 10001
    assert c["ports"] == [{"name": "http", "containerPort": 5000, "protocol": "TCP"}]
    assert c["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env = env_of(c)
    assert env["API_USER"]["valueFrom"]["secretKeyRef"] == {"name": f"{FULLNAME}-movielens-api", "key": "username"}
    assert env["API_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": f"{FULLNAME}-movielens-api", "key": "password"}
    svc = find(docs, "Service", f"{FULLNAME}-movielens-api")
    assert svc["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
