"""The MOVIELENS_* environment the DAGs read, on every component that parses or runs DAGs."""

from __future__ import annotations

import pytest
from chart_helpers import FULLNAME, component, container, env_values, render, worker_pod

DEFAULT_CONTRACT = {
    "MOVIELENS_NAMESPACE": "airflow",
    "MOVIELENS_FETCH_IMAGE": "movielens-fetch:0.1.0",
    "MOVIELENS_RANK_IMAGE": "movielens-rank:0.1.0",
    "MOVIELENS_LOAD_IMAGE": "movielens-load:0.1.0",
    "MOVIELENS_IMAGE_PULL_POLICY": "IfNotPresent",
    "MOVIELENS_DATA_PVC": f"{FULLNAME}-data",
    "MOVIELENS_API_URL": f"http://{FULLNAME}-movielens-api",
    "MOVIELENS_API_SECRET": f"{FULLNAME}-movielens-api",
    "MOVIELENS_DB_HOST": f"{FULLNAME}-mysql",
    "MOVIELENS_DB_PORT": "3306",
    "MOVIELENS_DB_NAME": "movielens",
    "MOVIELENS_DB_SECRET": f"{FULLNAME}-movielens-db",
}


def contract_envs(docs):
    """component -> MOVIELENS_* values."""
    out = {}
    for name in ("scheduler", "dag-processor", "triggerer", "api-server"):
        env = env_values(container(component(docs, name), name))
        out[name] = {k: v for k, v in env.items() if k.startswith("MOVIELENS_")}
    env = env_values(container(worker_pod(docs), "base"))
    out["worker"] = {k: v for k, v in env.items() if k.startswith("MOVIELENS_")}
    return out


def test_default_contract_on_every_dag_component():
    for name, env in contract_envs(render()).items():
        assert env == DEFAULT_CONTRACT, name


def test_contract_follows_values():
    docs = render(
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
    )
    for name, env in contract_envs(docs).items():
        assert env["MOVIELENS_FETCH_IMAGE"] == "reg.example/fetch:1.2.3", name
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
    for name, env in contract_envs(docs).items():
        assert env["MOVIELENS_DB_HOST"] == "db.example.internal", name
        assert env["MOVIELENS_DB_PORT"] == "3307"
        assert env["MOVIELENS_DB_SECRET"] == "ml-db"


def test_contract_with_separate_task_namespace():
    docs = render({"pipeline": {"namespace": "tasks"}})
    for name, env in contract_envs(docs).items():
        assert env["MOVIELENS_NAMESPACE"] == "tasks", name
        # Services live in the release namespace: qualified names from the task namespace
        assert env["MOVIELENS_API_URL"] == f"http://{FULLNAME}-movielens-api.airflow"
        assert env["MOVIELENS_DB_HOST"] == f"{FULLNAME}-mysql.airflow"
    # the task pods' Secrets and claim exist in the task namespace
    in_tasks = {(d["kind"], d["metadata"]["name"]) for d in docs if d["metadata"].get("namespace") == "tasks"}
    assert ("Secret", f"{FULLNAME}-movielens-api") in in_tasks
    assert ("Secret", f"{FULLNAME}-movielens-db") in in_tasks
    assert ("PersistentVolumeClaim", f"{FULLNAME}-data") in in_tasks


def test_task_namespace_secret_copies_match():
    import base64

    from chart_helpers import find_all

    docs = render({"pipeline": {"namespace": "tasks"}})
    for name in (f"{FULLNAME}-movielens-api", f"{FULLNAME}-movielens-db"):
        copies = [d for d in find_all(docs, "Secret") if d["metadata"]["name"] == name]
        assert {c["metadata"]["namespace"] for c in copies} == {"airflow", "tasks"}
        assert copies[0]["data"] == copies[1]["data"]
        assert base64.b64decode(copies[0]["data"]["password"])


@pytest.mark.parametrize("values_file", ["kind.yaml", "production.yaml"])
def test_contract_in_values_files(values_file):
    envs = contract_envs(render(files=[values_file]))
    first = envs["scheduler"]
    assert set(first) == set(DEFAULT_CONTRACT)
    for name, env in envs.items():
        assert env == first, name
