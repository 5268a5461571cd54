"""The git DAG bundle (dags.gitBundle): the [dag_processor] bundle list the chart writes, no
git-sync anywhere, the repository's credentials only where it is fetched, git's egress, and
the values that cannot go together. tests/test_dag_bundle.py runs the rendered bundle list
in Airflow against a real git server."""

from __future__ import annotations

import json

import pytest
from chart_helpers import (
    FULLNAME,
    airflow_cfg,
    all_containers,
    component,
    container,
    env_of,
    find,
    render,
    render_error,
    worker_pod,
)

REPO = "git://dags-git-server:9418/dags.git"
BUNDLE = {"dags": {"gitBundle": {"enabled": True, "repo": REPO, "ref": "release", "refreshInterval": 15}}}


def bundle_list(docs: list[dict]) -> list[dict]:
    return json.loads(airflow_cfg(docs)["dag_processor"]["dag_bundle_config_list"])


def test_off_by_default_no_bundle_list():
    assert "dag_bundle_config_list" not in airflow_cfg(render()).get("dag_processor", {})


def test_bundle_list_is_one_git_bundle_from_the_values():
    docs = render(BUNDLE)
    assert bundle_list(docs) == [
        {
            "name": "dags",
            "classpath": "airflow.providers.git.bundles.git.GitDagBundle",
            "kwargs": {
                "repo_url": REPO,
                "tracking_ref": "release",
                "subdir": "dags",
                "refresh_interval": 15,
                "git_conn_id": "git_dags",
            },
        }
    ]
    assert airflow_cfg(docs)["dag_processor"]["bundle_storage_path"] == "/tmp/airflow/dag-bundles"


def test_repository_root_and_a_user_setting_beside_the_bundle():
    values = {
        "dags": {"gitBundle": {**BUNDLE["dags"]["gitBundle"], "subdir": "/"}},
        "airflow": {"config": {"dag_processor": {"refresh_interval": "10"}}},
    }
    docs = render(values)
    assert "subdir" not in bundle_list(docs)[0]["kwargs"]
    assert airflow_cfg(docs)["dag_processor"]["refresh_interval"] == "10"


def test_no_git_sync_container_anywhere():
    docs = render(BUNDLE)
    for obj in [component(docs, "dag-processor"), worker_pod(docs)]:
        assert not any("git-sync" in c["name"] for c in all_containers(obj))


def test_credentials_only_in_the_pods_that_fetch_the_repository():
    values = {"dags": {"gitBundle": {**BUNDLE["dags"]["gitBundle"], "connectionSecret": "dags-repo-token"}}}
    docs = render(values)
    assert bundle_list(docs)[0]["kwargs"]["git_conn_id"] == "git_dags"
    ref = {"secretKeyRef": {"name": "dags-repo-token", "key": "connection"}}
    for obj, name in ((component(docs, "dag-processor"), "dag-processor"), (worker_pod(docs), "base")):
        assert env_of(container(obj, name))["AIRFLOW_CONN_GIT_DAGS"]["valueFrom"] == ref
    for name in ("scheduler", "triggerer", "api-server"):
        for c in all_containers(component(docs, name)):
            assert "AIRFLOW_CONN_GIT_DAGS" not in env_of(c), name
    # the airflow.cfg ConfigMap names the connection, never holds it
    assert "dags-repo-token" not in json.dumps(find(docs, "ConfigMap", f"{FULLNAME}-config"))


def test_a_public_repository_gets_a_connection_without_credentials():
    docs = render(BUNDLE)
    assert bundle_list(docs)[0]["kwargs"]["git_conn_id"] == "git_dags"
    for obj, name in ((component(docs, "dag-processor"), "dag-processor"), (worker_pod(docs), "base")):
        assert env_of(container(obj, name))["AIRFLOW_CONN_GIT_DAGS"] == {
            "name": "AIRFLOW_CONN_GIT_DAGS",
            "value": '{"conn_type": "git"}',
        }


def test_git_egress_for_the_dag_processor_and_the_workers():
    docs = render({**BUNDLE, "networkPolicies": {"enabled": True, "gitPorts": [9418]}})
    for name in ("dag-processor", "worker"):
        policy = find(docs, "NetworkPolicy", f"{FULLNAME}-{name}")
        ports = [p["port"] for rule in policy["spec"]["egress"] for p in rule.get("ports", [])]
        assert 9418 in ports, name


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"dags": {"gitBundle": {"enabled": True}, "gitSync": {"enabled": True}}}, "choose one source of DAGs"),
        ({"dags": {"gitBundle": {"enabled": True, "name": "my bundle"}}}, "/dags/gitBundle/name"),
        ({"dags": {"gitBundle": {"enabled": True, "refreshInterval": 0}}}, "/dags/gitBundle/refreshInterval"),
    ],
)
def test_refused_values_name_the_problem(values, message):
    assert message in render_error(values=values)


@pytest.mark.parametrize("values_file", ["kind.yaml", "local-node.yaml"])
def test_laptop_clusters_use_the_bundle(values_file):
    docs = render(files=[values_file])
    assert bundle_list(docs)[0]["kwargs"]["repo_url"] == REPO
