"""Who logs users in: the FAB auth manager by default (users and roles in the metadata
database, made by the migration Job; webserver_config.py from a ConfigMap), or
SimpleAuthManager for development."""

from __future__ import annotations

import ast
import json

from chart_helpers import (
    FULLNAME,
    ROOT,
    airflow_cfg,
    component,
    container,
    find,
    find_all,
    names,
    pod_spec,
    render,
    render_error,
)

FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
CONFIG_MAP = f"{FULLNAME}-api-server-config"


def migration_job(docs: list[dict]) -> dict:
    [job] = [j for j in find_all(docs, "Job") if j["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"]
    return job


def fab_users(docs: list[dict]) -> list[dict]:
    env = {e["name"]: e.get("value") for e in container(migration_job(docs), "migrate")["env"]}
    return json.loads(env["FAB_USERS"])


def volumes(obj: dict) -> dict[str, dict]:
    return {v["name"]: v for v in pod_spec(obj)["volumes"]}


def mounts(c: dict) -> dict[str, dict]:
    return {m["name"]: m for m in c["volumeMounts"]}


def test_fab_is_the_default_with_the_charts_webserver_config():
    docs = render()
    cfg = airflow_cfg(docs)
    assert cfg["core"]["auth_manager"] == FAB
    assert not any(k.startswith("simple_auth_manager") for k in cfg["core"])
    # the migration Job alone syncs roles and permissions: api-server replicas would race
    assert cfg["fab"] == {"config_file": "/opt/airflow/webserver_config.py", "update_fab_perms": "False"}
    migrate_env = {e["name"]: e.get("value") for e in container(migration_job(docs), "migrate")["env"]}
    assert migrate_env["AIRFLOW__FAB__UPDATE_FAB_PERMS"] == "True"
    config = find(docs, "ConfigMap", CONFIG_MAP)["data"]["webserver_config.py"]
    assert config == (ROOT / "chart" / "files" / "webserver_config.py").read_text()
    ast.parse(config)  # Python that FAB can exec
    api = component(docs, "api-server")
    assert volumes(api)["api-server-config"]["configMap"]["name"] == CONFIG_MAP
    assert mounts(container(api, "api-server"))["api-server-config"] == {
        "name": "api-server-config", "mountPath": "/opt/airflow/webserver_config.py",
        "subPath": "webserver_config.py", "readOnly": True}
    # SimpleAuthManager's passwords file is gone with it; the api-server starts once the
    # migration Job has made FAB's roles (FAB's own start-up would race it on their names)
    inits = pod_spec(api)["initContainers"]
    assert [c["name"] for c in inits] == ["wait-for-migrations", "wait-for-fab-users"]
    wait = {e["name"]: e.get("value") for e in inits[1]["env"]}
    assert wait["ADMIN_USERNAME"] == "admin" and wait["WAIT_SECONDS"] == "900"
    assert inits[1]["args"][-1] == (ROOT / "chart" / "files" / "wait-for-fab-users.py").read_text()
    assert "auth" not in volumes(api)
    # a changed webserver_config.py restarts the api-server
    other = component(render({"airflow": {"apiServer": {"apiServerConfig": "AUTH_TYPE = 1\n"}}}), "api-server")
    key = "checksum/api-server-config"
    assert other["spec"]["template"]["metadata"]["annotations"][key] != \
        api["spec"]["template"]["metadata"]["annotations"][key]


def test_the_migration_job_makes_the_admin_from_its_secret():
    docs = render({"airflow": {"admin": {"username": "boss", "role": "op", "email": "boss@corp.example"}}})
    job = migration_job(docs)
    migrate = container(job, "migrate")
    assert 'python -c "$SYNC_FAB_USERS"' in migrate["args"][-1].splitlines()
    env = {e["name"]: e.get("value") for e in migrate["env"]}
    assert env["SYNC_FAB_USERS"] == (ROOT / "chart" / "files" / "sync-fab-users.py").read_text()
    assert fab_users(docs) == [{"username": "boss", "role": "Op", "email": "boss@corp.example",
                                "firstName": "Airflow", "lastName": "Admin",
                                "passwordFile": "/opt/airflow/fab-passwords/0"}]
    # the password is a file from the generated Secret, not an environment variable
    assert "admin-password" not in json.dumps(migrate["env"])
    sources = volumes(job)["fab-passwords"]["projected"]["sources"]
    assert sources == [{"secret": {"name": f"{FULLNAME}-airflow", "items": [{"key": "admin-password", "path": "0"}]}}]
    assert mounts(migrate)["fab-passwords"]["mountPath"] == "/opt/airflow/fab-passwords"
    assert mounts(migrate)["api-server-config"]["mountPath"] == "/opt/airflow/webserver_config.py"


def test_more_users_each_from_its_secret_and_a_changed_user_reruns_the_job():
    users = [
        {"username": "ana", "role": "viewer", "email": "ana@corp.example", "existingSecret": "ana-login"},
        {"username": "bo", "role": "DagTrigger", "email": "bo@corp.example", "firstName": "Bo", "lastName": "Lee",
         "existingSecret": "team-logins", "passwordKey": "bo"},
    ]
    docs = render({"airflow": {"fab": {"users": users}}})
    assert fab_users(docs)[1:] == [
        {"username": "ana", "role": "Viewer", "email": "ana@corp.example", "firstName": "ana", "lastName": "-",
         "passwordFile": "/opt/airflow/fab-passwords/1"},
        {"username": "bo", "role": "DagTrigger", "email": "bo@corp.example", "firstName": "Bo", "lastName": "Lee",
         "passwordFile": "/opt/airflow/fab-passwords/2"},
    ]
    sources = volumes(migration_job(docs))["fab-passwords"]["projected"]["sources"]
    assert [s["secret"] for s in sources[1:]] == [
        {"name": "ana-login", "items": [{"key": "password", "path": "1"}]},
        {"name": "team-logins", "items": [{"key": "bo", "path": "2"}]},
    ]
    assert migration_job(docs)["metadata"]["name"] != migration_job(render())["metadata"]["name"]


def test_custom_roles_reach_fab_as_json():
    roles = {"DagTrigger": [{"action": "can_read", "resource": "DAGs"},
                            {"action": "can_create", "resource": "DAG Runs"}]}
    cfg = airflow_cfg(render({"airflow": {"fab": {"roles": roles}}}))
    assert json.loads(cfg["fab"]["custom_roles"]) == roles


def test_an_existing_config_map_replaces_the_charts():
    docs = render({"airflow": {"apiServer": {"apiServerConfigConfigMapName": "sso-config"}}})
    assert CONFIG_MAP not in names(docs, "ConfigMap")
    for obj in (component(docs, "api-server"), migration_job(docs)):
        assert volumes(obj)["api-server-config"]["configMap"]["name"] == "sso-config"
    own = render({"airflow": {"apiServer": {"apiServerConfig": "AUTH_TYPE = AUTH_OAUTH\n"}}})
    assert find(own, "ConfigMap", CONFIG_MAP)["data"]["webserver_config.py"] == "AUTH_TYPE = AUTH_OAUTH\n"


def test_simple_auth_manager_has_no_fab_parts():
    docs = render({"airflow": {"authManager": "simple"}})
    cfg = airflow_cfg(docs)
    assert cfg["core"]["auth_manager"].endswith("SimpleAuthManager")
    assert "fab" not in cfg
    assert CONFIG_MAP not in names(docs, "ConfigMap")
    assert "FAB_USERS" not in json.dumps(migration_job(docs))
    assert "fab-passwords" not in volumes(migration_job(docs))
    inits = [c["name"] for c in pod_spec(component(docs, "api-server"))["initContainers"]]
    assert inits == ["wait-for-migrations", "write-passwords"]


def test_bad_auth_values_are_refused_with_the_fix():
    err = render_error(values={"airflow": {"authManager": "simple", "fab": {"users": [
        {"username": "ana", "role": "Viewer", "email": "ana@corp.example", "existingSecret": "ana-login"}]}}})
    assert "airflow.fab.users needs airflow.authManager fab" in err
    err = render_error(values={"airflow": {"fab": {"users": [{"username": "ana", "role": "Viewer", "email": "a@b"}]}}})
    assert "existingSecret" in err and "missing property" in err
    bad_role = {"R": [{"action": "can_read", "resource": "DAGs", "x": 1}]}
    err = render_error(values={"airflow": {"fab": {"roles": bad_role}}})
    assert "additional properties 'x' not allowed" in err
    err = render_error(values={"airflow": {"authManager": "ldap"}})
    assert "airflow/authManager" in err and "'fab', 'simple'" in err


def test_the_api_server_names_the_admin_login_for_tools():
    """scripts/platform_api.py logs in with what this annotation names, with either manager."""
    for auth, secret, key in (("fab", f"{FULLNAME}-airflow", "admin-password"), ("simple", "boss-login", "password")):
        values = {"airflow": {"authManager": auth, "admin": {"username": "boss"}}}
        if auth == "simple":
            values["airflow"]["admin"]["existingSecret"] = "boss-login"
        api = component(render(values), "api-server")
        login = json.loads(api["metadata"]["annotations"]["movielens-platform/admin-login"])
        assert login == {"username": "boss", "secret": secret, "key": key}


def test_production_values_use_fab_with_a_viewer_and_a_custom_role():
    docs = render(files=["production.yaml"])
    cfg = airflow_cfg(docs)
    assert cfg["core"]["auth_manager"] == FAB
    assert "DagTrigger" in json.loads(cfg["fab"]["custom_roles"])
    assert [(u["username"], u["role"]) for u in fab_users(docs)] == [("admin", "Admin"), ("analyst", "Viewer")]
