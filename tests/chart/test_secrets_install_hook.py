"""The Secret generator also runs as a pre-install hook, so a first install's pods find
their Secrets at once instead of waiting in the kubelet's retry of a missing Secret."""

from __future__ import annotations

from chart_helpers import FULLNAME, find, find_all, render, secrets_jobs

HOOK = f"{FULLNAME}-secrets-install"


def hook_objects(docs: list[dict]) -> list[dict]:
    return [d for d in docs if d["metadata"]["name"] == HOOK]


def test_the_hook_runs_the_jobs_program_before_the_release_and_is_removed_after():
    docs = render({"networkPolicies": {"enabled": True}})
    objects = hook_objects(docs)
    assert {d["kind"] for d in objects} == {"ServiceAccount", "NetworkPolicy", "Role", "RoleBinding", "Job"}
    for d in objects:
        annotations = d["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-install", d["kind"]
        assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded", d["kind"]
    weight = {d["kind"]: int(d["metadata"]["annotations"]["helm.sh/hook-weight"]) for d in objects}
    # the identity and its permissions exist before the Job's pod starts
    assert weight["ServiceAccount"] < weight["Role"] < weight["RoleBinding"] < weight["Job"]
    assert weight["NetworkPolicy"] < weight["Job"]
    hook_job = find(objects, "Job")
    (job,) = secrets_jobs(docs)
    hook_pod, job_pod = hook_job["spec"]["template"], job["spec"]["template"]
    assert hook_pod["spec"]["serviceAccountName"] == HOOK
    hook_pod["spec"]["serviceAccountName"] = job_pod["spec"]["serviceAccountName"]
    assert hook_pod == job_pod  # the same program and plan
    binding = find(objects, "RoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": HOOK, "namespace": "airflow"}]
    assert binding["roleRef"]["name"] == HOOK


def test_a_task_namespace_that_exists_gets_its_hook_role():
    docs = render({"pipeline": {"namespace": "tasks"}})
    roles = sorted(r["metadata"]["namespace"] for r in find_all(docs, "Role") if r["metadata"]["name"] == HOOK)
    assert roles == ["airflow", "tasks"]


def test_no_hook_where_the_chart_makes_a_namespace_or_generates_nothing():
    # the hook runs before the chart's Namespace exists: the plain Job alone, as before
    made = render({"pipeline": {"namespace": "tasks", "createNamespace": True}})
    assert not hook_objects(made)
    assert secrets_jobs(made)
    nothing = render({
        "airflow": {"secrets": {"existingSecret": "core"}, "admin": {"existingSecret": "admin"},
                    "externalDatabase": {"enabled": True, "existingSecret": "meta"}},
        "movielensApi": {"existingSecret": "api-creds"},
        "pipeline": {"database": {"existingSecret": "db-creds", "host": "db"}},
        "mysql": {"enabled": False},
    })
    assert not hook_objects(nothing)
