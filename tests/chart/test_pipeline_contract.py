"""The pipeline contract: the MOVIELENS_* settings the DAGs read, in the <fullname>-pipeline
ConfigMap (templates/config/pipeline-configmap.yaml), attached where DAGs are parsed or run."""

from __future__ import annotations

import ast
import re

import pytest
from chart_helpers import FULLNAME, ROOT, all_containers, component, find, generated_secrets, render, worker_pod

DEFAULT_CONTRACT = {
    "MOVIELENS_NAMESPACE": "airflow",
    "MOVIELENS_SERVICE_ACCOUNT": f"{FULLNAME}-tasks",
    "MOVIELENS_AUTOMOUNT_SERVICE_ACCOUNT_TOKEN": "false",
    "MOVIELENS_FETCH_IMAGE": "movielens-fetch:0.1.0",
    "MOVIELENS_RANK_IMAGE": "movielens-rank:0.1.0",
    "MOVIELENS_LOAD_IMAGE": "movielens-load:0.1.0",
    "MOVIELENS_IMAGE_PULL_POLICY": "IfNotPresent",
    "MOVIELENS_MAX_ACTIVE_RUNS": "4",
    "MOVIELENS_POOL": "movielens",
    "MOVIELENS_DATA_PVC": f"{FULLNAME}-data",
    "MOVIELENS_API_URL": f"http://{FULLNAME}-movielens-api",
    "MOVIELENS_API_SECRET": f"{FULLNAME}-movielens-api",
    "MOVIELENS_DB_HOST": f"{FULLNAME}-mysql",
    "MOVIELENS_DB_PORT": "3306",
    "MOVIELENS_DB_NAME": "movielens",
    "MOVIELENS_DB_SECRET": f"{FULLNAME}-movielens-db",
}


def contract(docs) -> dict[str, str]:
    return find(docs, "ConfigMap", f"{FULLNAME}-pipeline")["data"]


def pipeline_consumers(docs) -> set[str]:
    """The containers that get the contract ConfigMap through envFrom."""
    refs = {}
    for obj in [*(d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Job", "Pod")), worker_pod(docs)]:
        for c in all_containers(obj):
            for source in c.get("envFrom") or []:
                refs[c["name"]] = source["configMapRef"]["name"]
            assert not [e for e in c.get("env") or [] if e["name"].startswith("MOVIELENS_")], c["name"]
    assert set(refs.values()) <= {f"{FULLNAME}-pipeline"}
    return set(refs)


def test_contract_reaches_exactly_where_dags_are_parsed_or_run():
    docs = render()
    assert contract(docs) == DEFAULT_CONTRACT
    # the dag-processor parses the DAG files, the worker pods ("base") run them
    assert pipeline_consumers(docs) == {"dag-processor", "base"}


def dag_side_settings() -> set[str]:
    """The keys of PIPELINE_DEFAULTS in dags/container_tasks.py (read without importing Airflow)."""
    module = ast.parse((ROOT / "dags" / "container_tasks.py").read_text())
    for node in module.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["PIPELINE_DEFAULTS"]:
            return set(ast.literal_eval(node.value))
    raise AssertionError("dags/container_tasks.py has no PIPELINE_DEFAULTS")


def test_contract_keys_are_what_the_dags_read():
    assert set(contract(render())) == dag_side_settings()
    for dag_file in (ROOT / "dags").glob("*.py"):
        used = set(re.findall(r"MOVIELENS_[A-Z_]+", dag_file.read_text()))
        assert used <= dag_side_settings(), (dag_file.name, used - dag_side_settings())


def test_dag_processor_restarts_when_the_contract_changes():
    def checksum(values):
        return component(render(values), "dag-processor")["spec"]["template"]["metadata"]["annotations"][
            "checksum/pipeline"]

    assert checksum(None) != checksum({"pipeline": {"images": {"fetch": {"tag": "9.9.9"}}}})


def test_contract_follows_values():
    env = contract(render(
        {
            "pipeline": {
                "imagePullPolicy": "Always",
                "images": {
                    "fetch": {"repository": "reg.example/fetch", "tag": "1.2.3"},
                    "rank": {"repository": "reg.example/rank", "tag": "2.0.0"},
                    "load": {"repository": "reg.example/load", "tag": "3.1.4"},
                },
                "database": {"name": "ratings"},
                "data": {"existingClaim": "shared-data"},
            },
            "movielensApi": {"existingSecret": "api-creds"},
        }
    ))
    assert env["MOVIELENS_FETCH_IMAGE"] == "reg.example/fetch:1.2.3"
    assert env["MOVIELENS_RANK_IMAGE"] == "reg.example/rank:2.0.0"
    assert env["MOVIELENS_LOAD_IMAGE"] == "reg.example/load:3.1.4"
    assert env["MOVIELENS_IMAGE_PULL_POLICY"] == "Always"
    assert env["MOVIELENS_DB_NAME"] == "ratings"
    assert env["MOVIELENS_DATA_PVC"] == "shared-data"
    assert env["MOVIELENS_API_SECRET"] == "api-creds"


def test_contract_with_external_database():
    docs = render(
        {
            "mysql": {"enabled": False},
            "airflow": {"externalDatabase": {"enabled": True, "existingSecret": "meta"}},
            "pipeline": {"database": {"host": "db.example.internal", "port": 3307, "existingSecret": "ml-db"}},
        }
    )
    env = contract(docs)
    assert env["MOVIELENS_DB_HOST"] == "db.example.internal"
    assert env["MOVIELENS_DB_PORT"] == "3307"
    assert env["MOVIELENS_DB_SECRET"] == "ml-db"


def test_contract_with_separate_task_namespace():
    docs = render({"pipeline": {"namespace": "tasks"}})
    env = contract(docs)
    assert env["MOVIELENS_NAMESPACE"] == "tasks"
    # Services live in the release namespace: qualified names from the task namespace
    assert env["MOVIELENS_API_URL"] == f"http://{FULLNAME}-movielens-api.airflow"
    assert env["MOVIELENS_DB_HOST"] == f"{FULLNAME}-mysql.airflow"
    # the task pods' Secrets and claim exist in the task namespace
    in_tasks = {(d["kind"], d["metadata"]["name"]) for d in docs if d["metadata"].get("namespace") == "tasks"}
    assert ("PersistentVolumeClaim", f"{FULLNAME}-data") in in_tasks
    plan = generated_secrets(docs)
    for name in (f"{FULLNAME}-movielens-api", f"{FULLNAME}-movielens-db"):
        assert plan[name]["namespaces"] == ["airflow", "tasks"]


def test_the_pool_the_tasks_use_is_the_one_the_migration_job_sets():
    docs = render({"pipeline": {"pool": {"name": "team-a.movielens", "slots": 3}, "maxActiveRuns": 2}})
    assert contract(docs)["MOVIELENS_POOL"] == "team-a.movielens"
    assert contract(docs)["MOVIELENS_MAX_ACTIVE_RUNS"] == "2"
    job = next(d for d in docs if d["kind"] == "Job" and d["metadata"]["name"].startswith(f"{FULLNAME}-migrate-"))
    migrate = job["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in migrate["env"]}
    assert (env["POOL_NAME"], env["POOL_SLOTS"]) == ("team-a.movielens", "3")
    assert 'airflow pools set "$POOL_NAME" "$POOL_SLOTS"' in migrate["args"][-1]


@pytest.mark.parametrize("values_file", ["kind.yaml", "local-node.yaml", "production.yaml"])
def test_contract_in_values_files(values_file):
    docs = render(files=[values_file])
    assert set(contract(docs)) == set(DEFAULT_CONTRACT)
    assert pipeline_consumers(docs) == {"dag-processor", "base"}
