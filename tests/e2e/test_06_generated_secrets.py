"""GitOps-safe generated Secrets: made inside the cluster by the chart's Job, each only if
absent. No generated value is in the release's manifests; two renders are identical; the
Job run again (an upgrade) keeps every value; and the same rendered manifests applied a
second time, as a GitOps tool would, keep them too."""

from __future__ import annotations

import base64

import yaml

from tests.e2e.cluster import FULLNAME, RELEASE, ROOT, progress, run

SCRATCH = "platform-e2e-gitops"


def generated(release, namespace: str) -> dict[str, dict[str, str]]:
    """Every Secret the chart's Job made in the namespace, decoded, by name."""
    selector = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/managed-by={FULLNAME}-secrets"
    items = release.json("get", "secrets", "-l", selector, namespace=namespace)["items"]
    return {s["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in s["data"].items()} for s in items}


def secrets_jobs(release, namespace: str) -> list[str]:
    """The Job and, in a rendered apply, its first-install hook's (Helm deletes the hook's
    once it has succeeded)."""
    return sorted(j["metadata"]["name"] for j in release.json("get", "jobs", namespace=namespace)["items"]
                  if j["metadata"]["name"].startswith(f"{FULLNAME}-secrets-"))


def secrets_job(release, namespace: str) -> str:
    jobs = secrets_jobs(release, namespace)
    assert len(jobs) == 1, jobs
    return jobs[0]


def test_no_generated_value_in_the_release_and_renders_are_identical(release):
    secrets = generated(release, release.namespace)
    assert {f"{FULLNAME}-{n}" for n in ("airflow", "mysql", "movielens-db", "movielens-api")} <= set(secrets)
    manifest = release.helm("get", "manifest", RELEASE).stdout
    assert "kind: Secret" not in manifest
    values = [v for data in secrets.values() for k, v in data.items() if len(v) >= 12]
    assert values
    for value in values:
        assert value not in manifest
    values_args = release.values
    first = run("helm", "template", RELEASE, str(ROOT / "chart"), "-n", release.namespace, *values_args).stdout
    second = run("helm", "template", RELEASE, str(ROOT / "chart"), "-n", release.namespace, *values_args).stdout
    assert first == second


def test_the_job_run_again_keeps_every_value(release, health):
    before = generated(release, release.namespace)
    job = secrets_job(release, release.namespace)
    release.kubectl("delete", "job", job, "--wait=true")
    progress("helm upgrade with the secrets Job gone: Helm makes it again, and it runs")
    release.install()
    log = release.job_log_when_done(job, timeout=300)
    assert "created" not in log and "added keys" not in log, log
    assert all(f"kept Secret {release.namespace}/{name}" in log for name in before), log
    assert generated(release, release.namespace) == before
    health.assert_healthy("after the secrets Job ran again")


def secrets_job_of(docs: list[dict]) -> str:
    (job,) = [d["metadata"]["name"] for d in docs if d["kind"] == "Job"
              and d["metadata"]["name"].startswith(f"{FULLNAME}-secrets-")
              and "helm.sh/hook" not in (d["metadata"].get("annotations") or {})]
    return job


def test_the_same_rendered_manifests_applied_twice(release):
    """A GitOps tool's view: `helm template` output applied, then applied again. The Job and
    the first-install hook's copy of it (a hook is a plain object to `kubectl apply`) run at
    once: one makes each Secret, the other keeps it."""
    release.kubectl("create", "namespace", SCRATCH, check=False)
    try:
        rendered = run("helm", "template", RELEASE, str(ROOT / "chart"), "-n", SCRATCH, *release.values).stdout
        docs = [d for d in yaml.safe_load_all(rendered) if d]
        wanted = [d for d in docs if d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "secrets"
                  and d["kind"] in ("ServiceAccount", "Role", "RoleBinding", "Job")]
        assert {d["kind"] for d in wanted} == {"ServiceAccount", "Role", "RoleBinding", "Job"}
        manifests = yaml.safe_dump_all(wanted)

        def apply() -> str:
            """Both Jobs run at once, as a GitOps apply starts them; their logs, together."""
            release.kubectl("apply", "-f", "-", stdin=manifests, namespace=SCRATCH)
            jobs = secrets_jobs(release, SCRATCH)
            assert set(jobs) == {f"{FULLNAME}-secrets-install", secrets_job_of(docs)}, jobs
            return "\n".join(release.job_log_when_done(job, namespace=SCRATCH, timeout=300) for job in jobs)

        first_log = apply()
        first = generated(release, SCRATCH)
        assert first and first != generated(release, release.namespace)  # its own, not the release's
        for name in first:  # each Secret made once, by one of the two
            assert first_log.count(f"created Secret {SCRATCH}/{name} ") == 1, first_log
        for job in secrets_jobs(release, SCRATCH):
            release.kubectl("delete", "job", job, "--wait=true", namespace=SCRATCH)
        second_log = apply()
        assert "created" not in second_log, second_log
        assert generated(release, SCRATCH) == first
    finally:
        release.kubectl("delete", "namespace", SCRATCH, "--wait=false", check=False)
