"""RBAC: the scheduler manages worker pods, workers run KubernetesPodOperator pods, nothing more."""

from __future__ import annotations

from chart_helpers import FULLNAME, find, find_all, render

MANAGE = ["create", "get", "list", "watch", "delete", "patch"]
READ = ["get", "list", "watch"]


def rules(role):
    return {(tuple(r["apiGroups"]), tuple(r["resources"])): r["verbs"] for r in role["rules"]}


def test_roles_are_exact():
    docs = render()
    expected = {"scheduler": MANAGE, "worker": MANAGE, "triggerer": READ, "api-server": READ}
    assert {r["metadata"]["name"] for r in find_all(docs, "Role")} == {
        f"{FULLNAME}-{n}" for n in [*expected, "cleanup", "secrets", "secrets-install"]}
    for name, pod_verbs in expected.items():
        role = find(docs, "Role", f"{FULLNAME}-{name}")
        assert rules(role) == {
            (("",), ("pods",)): pod_verbs,
            (("",), ("pods/log",)): ["get"],
            (("",), ("events",)): ["list"],
        }, name
    # the uninstall hook and the cleanup CronJob only find and delete pods
    assert rules(find(docs, "Role", f"{FULLNAME}-cleanup")) == {(("",), ("pods",)): ["get", "list", "delete"]}
    hook_off, cron_off = {"uninstallCleanup": {"enabled": False}}, {"airflow": {"cleanup": {"enabled": False}}}
    for switches, exists in ((hook_off, True), (cron_off, True), ({**hook_off, **cron_off}, False)):
        roles = {r["metadata"]["name"] for r in find_all(render(switches), "Role")}
        assert (f"{FULLNAME}-cleanup" in roles) is exists, switches
    # the Secret generator: create (Kubernetes cannot limit it to names), and read and
    # complete only the Secrets of its plan; its first-install hook the same
    hook_role = find(docs, "Role", f"{FULLNAME}-secrets-install")
    assert hook_role["rules"] == find(docs, "Role", f"{FULLNAME}-secrets")["rules"]
    assert find(docs, "Role", f"{FULLNAME}-secrets")["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "patch"],
         "resourceNames": [f"{FULLNAME}-{n}"
                           for n in ("airflow", "mysql", "metadata", "movielens-db", "movielens-api")]},
    ]
    assert not find_all(docs, "ClusterRole") and not find_all(docs, "ClusterRoleBinding")


def test_bindings_tie_each_role_to_its_service_account():
    docs = render()
    for binding in find_all(docs, "RoleBinding"):
        name = binding["metadata"]["name"]
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": name, "namespace": "airflow"}]


def test_worker_role_lives_in_the_task_namespace():
    docs = render({"pipeline": {"namespace": "tasks"}})
    ns = sorted((r["metadata"]["name"], r["metadata"]["namespace"]) for r in find_all(docs, "Role"))
    assert ns == sorted([
        (f"{FULLNAME}-scheduler", "airflow"),
        (f"{FULLNAME}-api-server", "airflow"),
        (f"{FULLNAME}-worker", "tasks"),
        (f"{FULLNAME}-triggerer", "tasks"),
        (f"{FULLNAME}-cleanup", "airflow"),  # worker pods
        (f"{FULLNAME}-cleanup", "tasks"),  # task pods
        (f"{FULLNAME}-secrets", "airflow"),
        (f"{FULLNAME}-secrets", "tasks"),  # the task pods' copies of the MovieLens logins
        (f"{FULLNAME}-secrets-install", "airflow"),  # the same, as the first install's hook
        (f"{FULLNAME}-secrets-install", "tasks"),
    ])
    in_tasks = find_all(docs, "Role")
    secrets_in_tasks = next(r for r in in_tasks if r["metadata"]["name"] == f"{FULLNAME}-secrets"
                            and r["metadata"]["namespace"] == "tasks")
    assert secrets_in_tasks["rules"][1]["resourceNames"] == [f"{FULLNAME}-movielens-db", f"{FULLNAME}-movielens-api"]
    binding = find(docs, "RoleBinding", f"{FULLNAME}-worker")
    assert binding["metadata"]["namespace"] == "tasks"
    assert binding["subjects"][0]["namespace"] == "airflow"


def test_no_pods_exec_for_anyone():
    for role in find_all(render(), "Role"):
        for rule in role["rules"]:
            assert "pods/exec" not in rule["resources"]
            assert "*" not in rule["verbs"] and "*" not in rule["resources"]
