"""chart/files/generate-secrets.py's plan: what it creates, keeps and completes, on the
chart's own plan (rendered by helm) and on hand-made states of the cluster. Its writes to
the Kubernetes API are exercised end to end (tests/e2e/test_06_generated_secrets.py)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
FULL = "rel-movielens-platform"


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("generate_secrets", ROOT / "chart" / "files" / "generate-secrets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def chart_plan(*sets: str) -> list[dict]:
    args = ["helm", "template", "rel", str(ROOT / "chart"), "--namespace", "airflow"]
    for s in sets:
        args += ["--set", s]
    docs = [d for d in yaml.safe_load_all(subprocess.run(args, capture_output=True, text=True, check=True).stdout) if d]
    jobs = [d for d in docs if d["kind"] == "Job" and d["metadata"]["name"].startswith(f"{FULL}-secrets-")]
    plans = [json.loads({e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
                        ["GENERATE_SECRETS"]) for job in jobs]
    assert len(plans) == 2 and plans[0] == plans[1]  # the Job and its first-install hook: one plan
    return plans[0]


def created(writes) -> dict[tuple[str, str], dict[str, str]]:
    return {(ns, name): data for verb, ns, name, data in writes if verb == "create"}


def test_a_first_install_creates_every_secret_with_working_values(generator):
    plan = chart_plan("pipeline.namespace=tasks")
    made = created(generator.plan(plan, {}))
    assert set(made) == {("airflow", f"{FULL}-{n}") for n in ("airflow", "mysql", "metadata")} | {
        (ns, f"{FULL}-{n}") for ns in ("airflow", "tasks") for n in ("movielens-db", "movielens-api")}
    keys = made[("airflow", "rel-movielens-platform-airflow")]
    Fernet(keys["fernet-key"].encode())  # a key Airflow can use
    assert len(keys["jwt-secret"]) == 64 and len(keys["admin-password"]) == 20 and keys["api-secret-key"].isalnum()
    mysql = made[("airflow", "rel-movielens-platform-mysql")]
    assert made[("airflow", "rel-movielens-platform-metadata")]["connection"] == (
        f"mysql+mysqldb://airflow:{mysql['airflow-password']}@rel-movielens-platform-mysql:3306/airflow?charset=utf8mb4")
    # the copy in the task namespace holds the same login
    assert made[("tasks", f"{FULL}-movielens-db")] == made[("airflow", f"{FULL}-movielens-db")]
    # nothing generated twice the same
    values = [v for data in made.values() for k, v in data.items() if k not in ("username", "airflow-username")]
    assert len(set(values)) >= 7


def test_existing_secrets_are_kept_and_feed_the_ones_made_from_them(generator):
    plan = chart_plan()
    existing = {("airflow", s["name"]): {k: f"kept-{k}" for k in s["data"]} for s in plan}
    assert generator.plan(plan, existing) == []
    del existing[("airflow", "rel-movielens-platform-metadata")]
    (write,) = generator.plan(plan, existing)
    assert write == ("create", "airflow", "rel-movielens-platform-metadata", {
        "connection": "mysql+mysqldb://kept-airflow-username:kept-airflow-password@rel-movielens-platform-mysql:3306/"
                      "airflow?charset=utf8mb4"})


def test_a_key_a_kept_secret_lacks_is_added_and_nothing_else_changes(generator):
    # metadata moved from an external database to the bundled MySQL: its airflow user is new
    plan = chart_plan()
    existing = {("airflow", "rel-movielens-platform-mysql"): {"root-password": "kept-root"}}
    writes = generator.plan(plan, existing)
    (add,) = [w for w in writes if w[0] == "add-keys"]
    assert add[1:3] == ("airflow", "rel-movielens-platform-mysql")
    assert set(add[3]) == {"airflow-username", "airflow-password"}


def test_a_missing_copy_is_made_from_the_first(generator):
    plan = chart_plan("pipeline.namespace=tasks")
    existing = {("airflow", s["name"]): {k: f"kept-{k}" for k in s["data"]} for s in plan}
    writes = generator.plan(plan, existing)
    assert ("create", "tasks", "rel-movielens-platform-movielens-api",
            {"username": "kept-username", "password": "kept-password"}) in writes
    assert {w[0] for w in writes} == {"create"} and {w[1] for w in writes} == {"tasks"}


def test_a_user_secret_is_never_in_the_plan(generator):
    plan = chart_plan("airflow.secrets.existingSecret=keys", "airflow.admin.existingSecret=admin",
                      "movielensApi.existingSecret=api")
    assert {s["name"] for s in plan} == {"rel-movielens-platform-mysql", "rel-movielens-platform-metadata",
                                         "rel-movielens-platform-movielens-db"}


def test_the_plan_holds_no_secret_value():
    plan = json.dumps(chart_plan())
    for rule in json.loads(plan):
        for how in rule["data"].values():
            assert set(how) <= {"random", "fernet", "value", "format"}
            assert "value" not in how or how["value"] in ("airflow", "movielens")  # user names only
