"""What a production cluster asks of the chart: ServiceAccounts it can annotate or bring,
the extension points of every component, PodDisruptionBudgets, Service and Ingress
settings, and KubernetesPodOperator's RBAC across several task namespaces.

Every render here is validated object by object against the Kubernetes schemas (strict),
so an extension value that lands in the wrong place fails the render itself.
"""

from __future__ import annotations

import pytest
from chart_helpers import (
    FULLNAME,
    NAMESPACE,
    component,
    container,
    find,
    find_all,
    generated_secrets,
    pod_spec,
    render,
    render_error,
    worker_pod,
)

# component -> (path of its values, main container)
COMPONENTS = {
    "api-server": (("airflow", "apiServer"), "api-server"),
    "scheduler": (("airflow", "scheduler"), "scheduler"),
    "dag-processor": (("airflow", "dagProcessor"), "dag-processor"),
    "triggerer": (("airflow", "triggerer"), "triggerer"),
    "worker": (("airflow", "workers"), "base"),
    "migrate": (("airflow", "migrations"), "migrate"),
    "movielens-api": (("movielensApi",), "movielens-api"),
    "mysql": (("mysql",), "mysql"),
}
# Only what calls the Kubernetes API mounts a token by default.
DEFAULT_AUTOMOUNT = {"api-server": True, "scheduler": True, "dag-processor": False, "triggerer": True,
                     "worker": True, "migrate": False, "movielens-api": False, "mysql": False}


def nest(path: tuple[str, ...], value: dict) -> dict:
    for key in reversed(path):
        value = {key: value}
    return value


def merge(*trees: dict) -> dict:
    out: dict = {}
    for tree in trees:
        for key, value in tree.items():
            out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def every_component(values: dict) -> dict:
    return merge(*(nest(path, values) for path, _ in COMPONENTS.values()))


def pod_of(docs: list[dict], name: str) -> dict:
    """The pod (template) of a component, as a Pod-shaped dict with metadata and spec."""
    if name == "worker":
        return worker_pod(docs)
    if name == "migrate":
        (job,) = [d for d in find_all(docs, "Job") if d["metadata"]["name"].startswith(f"{FULLNAME}-migrate-")]
        return job["spec"]["template"]
    return component(docs, name)["spec"]["template"]


def main_container(pod: dict, name: str) -> dict:
    return container({"kind": "Pod", "spec": pod["spec"]}, name)


EXTENSIONS = {
    "labels": {"team": "data"},
    "podAnnotations": {"example.com/owner": "data-platform"},
    "priorityClassName": "platform-critical",
    "nodeSelector": {"pool": "platform"},
    "tolerations": [{"key": "platform", "operator": "Exists", "effect": "NoSchedule"}],
    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["a", "b"]}]}]}}},
    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                   "whenUnsatisfiable": "ScheduleAnyway",
                                   "labelSelector": {"matchLabels": {"team": "data"}}}],
    "terminationGracePeriodSeconds": 45,
    "extraEnv": [{"name": "TEAM_SETTING", "value": "on"}],
    "extraEnvFrom": [{"secretRef": {"name": "team-secrets"}}],
    "extraVolumes": [{"name": "scratch", "emptyDir": {}}],
    "extraVolumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
    "extraContainers": [{"name": "sidecar", "image": "busybox:1.36", "args": ["sleep", "3600"]}],
    "extraInitContainers": [{"name": "prepare", "image": "busybox:1.36", "args": ["true"]}],
}


@pytest.fixture(scope="module")
def extended():
    return render(merge(every_component(EXTENSIONS), {"dags": {"gitSync": {"enabled": True}}}))


@pytest.mark.parametrize("name", COMPONENTS)
def test_every_extension_point_reaches_the_pod(extended, name):
    _, main = COMPONENTS[name]
    pod = pod_of(extended, name)
    spec = pod["spec"]
    assert pod["metadata"]["labels"]["team"] == "data"
    assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == name  # the chart's own stay
    assert pod["metadata"]["annotations"]["example.com/owner"] == "data-platform"
    for key in ("priorityClassName", "nodeSelector", "tolerations", "affinity", "topologySpreadConstraints",
                "terminationGracePeriodSeconds"):
        assert spec[key] == EXTENSIONS[key], key
    base = main_container(pod, main)
    assert {"name": "TEAM_SETTING", "value": "on"} in base["env"]
    assert {"secretRef": {"name": "team-secrets"}} in base["envFrom"]
    assert {"name": "scratch", "mountPath": "/scratch"} in base["volumeMounts"]
    assert {"name": "scratch", "emptyDir": {}} in spec["volumes"]
    assert [c["name"] for c in spec["containers"]][0] == main
    assert "sidecar" in [c["name"] for c in spec["containers"]]
    # the user's init containers run after the chart's own (wait for migrations, git-sync)
    assert spec["initContainers"][-1]["name"] == "prepare"


def test_extension_points_keep_what_the_chart_needs(extended):
    # envFrom is added to, not replaced: the DAGs still read the pipeline contract
    for pod, main in ((pod_of(extended, "dag-processor"), "dag-processor"), (pod_of(extended, "worker"), "base")):
        env_from = main_container(pod, main)["envFrom"]
        assert env_from[0] == {"configMapRef": {"name": f"{FULLNAME}-pipeline"}}
    # the selectors do not take the extra labels (a label change must not orphan pods)
    assert component(extended, "scheduler")["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "movielens-platform", "app.kubernetes.io/instance": "rel",
        "app.kubernetes.io/component": "scheduler"}
    worker_inits = [c["name"] for c in worker_pod(extended)["spec"]["initContainers"]]
    assert worker_inits == ["git-sync-init", "prepare"]


def test_without_extensions_nothing_extra_is_rendered():
    docs = render()
    for name in COMPONENTS:
        spec = pod_of(docs, name)["spec"]
        for key in ("priorityClassName", "terminationGracePeriodSeconds", "topologySpreadConstraints",
                    "nodeSelector", "tolerations", "affinity"):
            assert key not in spec, (name, key)


# --------------------------------------------------------------- ServiceAccounts


def test_each_component_has_its_own_service_account_by_default():
    docs = render()
    accounts = {d["metadata"]["name"]: d for d in find_all(docs, "ServiceAccount")}
    for name in COMPONENTS:
        spec = pod_of(docs, name)["spec"]
        assert spec["serviceAccountName"] == f"{FULLNAME}-{name}"
        assert spec["automountServiceAccountToken"] is DEFAULT_AUTOMOUNT[name], name
        assert accounts[f"{FULLNAME}-{name}"]["automountServiceAccountToken"] is DEFAULT_AUTOMOUNT[name]
        assert "annotations" not in accounts[f"{FULLNAME}-{name}"]["metadata"]
    tasks = accounts[f"{FULLNAME}-tasks"]
    assert tasks["metadata"]["namespace"] == NAMESPACE and tasks["automountServiceAccountToken"] is False


def test_workload_identity_annotations_and_token_mounts():
    irsa = {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/airflow-logs"}
    docs = render(merge(
        every_component({"serviceAccount": {"annotations": irsa}}),
        nest(("airflow", "dagProcessor"), {"serviceAccount": {"automountServiceAccountToken": True}}),
        nest(("pipeline", "taskPods"), {"serviceAccount": {"annotations": irsa, "automountServiceAccountToken": True}}),
    ))
    accounts = {d["metadata"]["name"]: d for d in find_all(docs, "ServiceAccount")}
    for name in [*COMPONENTS, "tasks"]:
        assert accounts[f"{FULLNAME}-{name}"]["metadata"]["annotations"] == irsa, name
    assert pod_of(docs, "dag-processor")["spec"]["automountServiceAccountToken"] is True
    contract = find(docs, "ConfigMap", f"{FULLNAME}-pipeline")["data"]
    assert contract["MOVIELENS_AUTOMOUNT_SERVICE_ACCOUNT_TOKEN"] == "true"


def test_service_accounts_brought_by_the_user():
    docs = render(merge(
        *(nest(path, {"serviceAccount": {"create": False, "name": f"team-{name}"}})
          for name, (path, _) in COMPONENTS.items()),
        nest(("pipeline", "taskPods"), {"serviceAccount": {"create": False, "name": "team-tasks"}}),
    ))
    created = {d["metadata"]["name"] for d in find_all(docs, "ServiceAccount")}
    # the chart's Jobs and hooks keep the chart's own
    assert created == {f"{FULLNAME}-{n}" for n in ("cleanup", "test", "secrets", "secrets-install", "statsd")}
    for name in COMPONENTS:
        assert pod_of(docs, name)["spec"]["serviceAccountName"] == f"team-{name}"
    # the chart's Roles are bound to the user's accounts
    bound = {b["metadata"]["name"]: b["subjects"][0]["name"] for b in find_all(docs, "RoleBinding")}
    for name in ("api-server", "scheduler", "triggerer", "worker"):
        assert bound[f"{FULLNAME}-{name}"] == f"team-{name}"
    assert find(docs, "ConfigMap", f"{FULLNAME}-pipeline")["data"]["MOVIELENS_SERVICE_ACCOUNT"] == "team-tasks"


def test_not_created_and_not_named_is_the_namespace_default():
    docs = render(nest(("airflow", "migrations"), {"serviceAccount": {"create": False}}))
    assert pod_of(docs, "migrate")["spec"]["serviceAccountName"] == "default"
    assert f"{FULLNAME}-migrate" not in {d["metadata"]["name"] for d in find_all(docs, "ServiceAccount")}


def test_a_named_service_account_the_chart_creates():
    docs = render(nest(("airflow", "scheduler"), {"serviceAccount": {"name": "airflow-scheduler"}}))
    assert find(docs, "ServiceAccount", "airflow-scheduler")["metadata"]["namespace"] == NAMESPACE
    assert pod_of(docs, "scheduler")["spec"]["serviceAccountName"] == "airflow-scheduler"
    assert find(docs, "RoleBinding", f"{FULLNAME}-scheduler")["subjects"][0]["name"] == "airflow-scheduler"


# ----------------------------------------------------------- disruption budgets


@pytest.mark.parametrize("name, path", [
    ("api-server", ("airflow", "apiServer")), ("scheduler", ("airflow", "scheduler")),
    ("dag-processor", ("airflow", "dagProcessor")), ("triggerer", ("airflow", "triggerer")),
    ("movielens-api", ("movielensApi",)),
])
def test_a_disruption_budget_for_every_component_that_can_have_replicas(name, path):
    default = find(render(), "PodDisruptionBudget", f"{FULLNAME}-{name}")
    assert default["apiVersion"] == "policy/v1"
    assert default["spec"]["maxUnavailable"] == 1
    assert default["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == name
    custom = render(nest(path, {"replicas": 3, "podDisruptionBudget": {"config": {"minAvailable": "50%"}}}))
    spec = find(custom, "PodDisruptionBudget", f"{FULLNAME}-{name}")["spec"]
    assert spec["minAvailable"] == "50%" and "maxUnavailable" not in spec
    off = render(nest(path, {"podDisruptionBudget": {"enabled": False}}))
    assert f"{FULLNAME}-{name}" not in {d["metadata"]["name"] for d in find_all(off, "PodDisruptionBudget")}


# ------------------------------------------------------------ Service, Ingress


def test_api_server_service_for_a_cloud_load_balancer():
    docs = render({"airflow": {"apiServer": {"service": {
        "type": "LoadBalancer", "nodePort": 30080,
        "annotations": {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"},
        "loadBalancerSourceRanges": ["10.0.0.0/8", "192.0.2.0/24"]}}}})
    svc = find(docs, "Service", f"{FULLNAME}-api-server")
    assert svc["metadata"]["annotations"] == {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}
    assert svc["spec"]["type"] == "LoadBalancer"
    assert svc["spec"]["loadBalancerSourceRanges"] == ["10.0.0.0/8", "192.0.2.0/24"]
    assert svc["spec"]["ports"][0]["nodePort"] == 30080


def test_a_cluster_ip_service_has_no_node_port_or_source_ranges():
    docs = render({"airflow": {"apiServer": {"service": {"nodePort": 30080,
                                                         "loadBalancerSourceRanges": ["10.0.0.0/8"]}}}})
    svc = find(docs, "Service", f"{FULLNAME}-api-server")
    assert "nodePort" not in svc["spec"]["ports"][0] and "loadBalancerSourceRanges" not in svc["spec"]


def test_movielens_api_service_annotations():
    docs = render({"movielensApi": {"service": {"annotations": {"example.com/scrape": "false"}}}})
    assert find(docs, "Service", f"{FULLNAME}-movielens-api")["metadata"]["annotations"] == {
        "example.com/scrape": "false"}


# ------------------------------------------ KubernetesPodOperator: exec, namespaces


def worker_roles(docs: list[dict]) -> dict[str, dict]:
    return {r["metadata"]["namespace"]: r for r in find_all(docs, "Role")
            if r["metadata"]["name"] == f"{FULLNAME}-worker"}


def test_pods_exec_only_when_the_dags_push_xcoms_from_task_pods():
    def exec_rules(docs):
        return [r for role in worker_roles(docs).values() for r in role["rules"] if "pods/exec" in r["resources"]]

    assert exec_rules(render()) == []
    docs = render({"pipeline": {"taskPods": {"allowXcomPush": True}, "extraNamespaces": ["team-b"]}})
    assert exec_rules(docs) == [{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "get"]}] * 2


def test_task_pods_in_several_namespaces():
    docs = render({"pipeline": {"namespace": "tasks", "extraNamespaces": ["team-a", "team-b", "tasks"]}})
    every = {"tasks", "team-a", "team-b"}
    assert set(worker_roles(docs)) == every
    for kind in ("Role", "RoleBinding"):
        for name in ("worker", "triggerer"):
            found = {d["metadata"]["namespace"] for d in find_all(docs, kind)
                     if d["metadata"]["name"] == f"{FULLNAME}-{name}"}
            assert found == every, (kind, name)
    for binding in find_all(docs, "RoleBinding"):
        if binding["metadata"]["name"] == f"{FULLNAME}-worker":
            assert binding["subjects"] == [
                {"kind": "ServiceAccount", "name": f"{FULLNAME}-worker", "namespace": NAMESPACE}]
    tasks_accounts = {d["metadata"]["namespace"] for d in find_all(docs, "ServiceAccount")
                      if d["metadata"]["name"] == f"{FULLNAME}-tasks"}
    assert tasks_accounts == every
    # the pipeline's own Secrets and the uninstall cleanup stay in the pipeline's namespace
    assert {ns for s in generated_secrets(docs).values() for ns in s["namespaces"]} == {NAMESPACE, "tasks"}
    cleanup = find(docs, "Job", f"{FULLNAME}-cleanup")
    targets = {e["name"]: e["value"] for e in pod_spec(cleanup)["containers"][0]["env"]}["CLEANUP_TARGETS"]
    assert "team-a" not in targets and "team-b" not in targets


# ------------------------------------------------------------- schema rejections


@pytest.mark.parametrize("values, message", [
    (nest(("airflow", "scheduler"), {"tolerations": [{"key": "a", "tolerationSeconds": "soon"}]}),
     "at '/airflow/scheduler/tolerations/0/tolerationSeconds'"),
    (nest(("airflow", "workers"), {"extraContainers": [{"image": "busybox:1.36"}]}),
     "at '/airflow/workers/extraContainers/0': missing property 'name'"),
    (nest(("mysql",), {"extraVolumes": [{"name": "v", "emptyDir": {}, "hostpath": {"path": "/x"}}]}),
     "at '/mysql/extraVolumes/0': additional properties 'hostpath' not allowed"),
    (nest(("movielensApi",), {"extraEnvFrom": [{"secretRef": {"name": "s"}, "secret": {"name": "s"}}]}),
     "at '/movielensApi/extraEnvFrom/0': additional properties 'secret' not allowed"),
    (nest(("airflow", "dagProcessor"), {"topologySpreadConstraints": [{"maxSkew": 1}]}),
     "at '/airflow/dagProcessor/topologySpreadConstraints/0': missing properties 'topologyKey', 'whenUnsatisfiable'"),
    (nest(("airflow", "apiServer"), {"affinity": {"nodeAfinity": {}}}),
     "at '/airflow/apiServer/affinity': additional properties 'nodeAfinity' not allowed"),
    (nest(("airflow", "triggerer"), {"labels": {"app.kubernetes.io/component": "mine"}}),
     "at '/airflow/triggerer/labels/app.kubernetes.io~1component'"),
    (nest(("airflow", "migrations"), {"terminationGracePeriodSeconds": -1}),
     "at '/airflow/migrations/terminationGracePeriodSeconds'"),
    (nest(("airflow", "scheduler"), {"serviceAccount": {"annotation": {}}}),
     "at '/airflow/scheduler/serviceAccount': additional properties 'annotation' not allowed"),
    (nest(("airflow", "scheduler"), {"podDisruptionBudget": {"config": {"minAvailable": "most"}}}),
     "at '/airflow/scheduler/podDisruptionBudget/config/minAvailable'"),
    ({"pipeline": {"extraNamespaces": ["Team_A"]}}, "at '/pipeline/extraNamespaces/0'"),
    ({"airflow": {"apiServer": {"service": {"loadBalancerSourceRanges": ["everyone"]}}}},
     "at '/airflow/apiServer/service/loadBalancerSourceRanges/0'"),
    ({"airflow": {"apiServer": {"ingress": {"hosts": [{"name": "a.example", "paths": [{"path": "no-slash"}]}]}}}},
     "at '/airflow/apiServer/ingress/hosts/0/paths/0/path'"),
])
def test_schema_rejects_malformed_extensions(values, message):
    err = render_error(values=values)
    assert "values don't meet the specifications of the schema" in err
    assert message in err
