"""helm test pods: api-server health, the metadata and rankings database logins, an
authenticated MovieLens API call."""

from __future__ import annotations

import ast

from chart_helpers import FULLNAME, env_of, find, find_all, render


def test_pods():
    docs = render()
    pods = {p["metadata"]["name"]: p for p in find_all(docs, "Pod")}
    assert set(pods) == {
        f"{FULLNAME}-test-{n}" for n in ("api-server-health", "movielens-api", "metadata-db", "db-movielens")
    }
    for pod in pods.values():
        assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
        assert pod["spec"]["restartPolicy"] == "Never"


def test_api_server_health_script():
    pod = find(render(), "Pod", f"{FULLNAME}-test-api-server-health")
    args = pod["spec"]["containers"][0]["args"]
    assert args[:2] == ["python", "-c"]
    ast.parse(args[2])  # valid Python
    assert f"http://{FULLNAME}-api-server:8080/api/v2/monitor/health" in args[2]
    assert 'health["metadatabase"]["status"] == "healthy"' in args[2]


def test_movielens_api_script_is_authenticated():
    pod = find(render(), "Pod", f"{FULLNAME}-test-movielens-api")
    c = pod["spec"]["containers"][0]
    ast.parse(c["args"][2])
    assert f"http://{FULLNAME}-movielens-api:80/ratings?" in c["args"][2]
    assert "error.code == 401" in c["args"][2]
    env = env_of(c)
    assert env["API_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": f"{FULLNAME}-movielens-api", "key": "password"}


def test_rankings_login_with_the_pipeline_user():
    pod = find(render(), "Pod", f"{FULLNAME}-test-db-movielens")
    c = pod["spec"]["containers"][0]
    assert c["image"] == "mysql:8.4"
    assert c["command"] == ["bash", "-ec"]
    assert f"-h {FULLNAME}-mysql -P 3306" in c["args"][0] and "-D movielens" in c["args"][0]
    assert env_of(c)["MYSQL_PWD"]["valueFrom"]["secretKeyRef"] == {
        "name": f"{FULLNAME}-movielens-db", "key": "password"}


def test_metadata_login_uses_the_components_connection():
    """`airflow db check` with the URL the components use: bundled MySQL or external."""
    for values, secret in (
        ({}, {"name": f"{FULLNAME}-metadata", "key": "connection"}),
        ({"airflow": {"externalDatabase": {"enabled": True, "existingSecret": "pg", "connectionKey": "url"}}},
         {"name": "pg", "key": "url"}),
    ):
        pod = find(render(values), "Pod", f"{FULLNAME}-test-metadata-db")
        c = pod["spec"]["containers"][0]
        assert c["args"] == ["bash", "-c", "exec airflow db check"]
        env = env_of(c)
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]["valueFrom"]["secretKeyRef"] == secret
        assert env["AIRFLOW_HOME"]["value"].startswith("/tmp/")  # read-only root: airflow.cfg goes there


def test_tests_can_be_disabled():
    assert not find_all(render({"tests": {"enabled": False}}), "Pod")
