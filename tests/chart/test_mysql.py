"""Bundled MySQL on/off, its init script, users and settings."""

from __future__ import annotations

from chart_helpers import (
    FULLNAME,
    component,
    container,
    env_of,
    find,
    find_all,
    generated_secrets,
    names,
    render,
    render_error,
)

EXTERNAL = {
    "mysql": {"enabled": False},
    "airflow": {"externalDatabase": {"enabled": True, "existingSecret": "metadata-db"}},
    "pipeline": {"database": {"host": "db.example.internal", "existingSecret": "movielens-db"}},
}


def test_statefulset_settings():
    docs = render()
    sts = component(docs, "mysql")
    c = container(sts, "mysql")
    assert c["image"] == "mysql:8.4"
    assert "--character-set-server=utf8mb4" in c["args"]
    assert "--collation-server=utf8mb4_unicode_ci" in c["args"]
    assert "--explicit-defaults-for-timestamp=ON" in c["args"]
    assert "--local-infile=ON" in c["args"]
    env = env_of(c)
    assert env["MYSQL_ROOT_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": f"{FULLNAME}-mysql",
        "key": "root-password",
    }
    assert env["PLATFORM_AIRFLOW_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": f"{FULLNAME}-mysql",
        "key": "airflow-password",
    }
    assert env["PLATFORM_MOVIELENS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": f"{FULLNAME}-movielens-db",
        "key": "password",
    }
    assert env["PLATFORM_MOVIELENS_DATABASE"]["value"] == "movielens"
    assert env["PLATFORM_MOVIELENS_PRIVILEGES"]["value"] == "SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP"
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    assert mounts["/var/lib/mysql"]["name"] == "data"
    assert "/docker-entrypoint-initdb.d/10-platform-databases.sh" in mounts
    claim = [v for v in sts["spec"]["template"]["spec"]["volumes"] if v["name"] == "data"][0]
    assert claim["persistentVolumeClaim"]["claimName"] == f"{FULLNAME}-mysql-data"
    assert (
        find(docs, "PersistentVolumeClaim", f"{FULLNAME}-mysql-data")["spec"]["resources"]["requests"]["storage"]
        == "8Gi"
    )
    svc = find(docs, "Service", f"{FULLNAME}-mysql")
    assert svc["spec"]["ports"][0]["port"] == 3306


def test_init_script_creates_both_databases_without_secrets():
    docs = render()
    cm = find(docs, "ConfigMap", f"{FULLNAME}-mysql-init")
    script = cm["data"]["10-platform-databases.sh"]
    assert "CREATE DATABASE IF NOT EXISTS \\`${PLATFORM_AIRFLOW_DATABASE}\\` CHARACTER SET utf8mb4" in script
    assert "CREATE DATABASE IF NOT EXISTS \\`${PLATFORM_MOVIELENS_DATABASE}\\`" in script
    assert "GRANT ALL PRIVILEGES ON \\`${PLATFORM_AIRFLOW_DATABASE}\\`.*" in script
    # the movielens user gets only its privileges on its own database
    assert "GRANT ${PLATFORM_MOVIELENS_PRIVILEGES} ON \\`${PLATFORM_MOVIELENS_DATABASE}\\`.*" in script
    assert "*.*" not in script
    # passwords from the environment (the generated Secrets), never written in
    assert 'IDENTIFIED BY $(platform_sql_string "${PLATFORM_MOVIELENS_PASSWORD}")' in script


def test_init_script_is_valid_bash_that_quotes_passwords(tmp_path):
    """Run the script with stubbed entrypoint helpers and check the SQL it sends."""
    import subprocess

    script = find(render(), "ConfigMap", f"{FULLNAME}-mysql-init")["data"]["10-platform-databases.sh"]
    path = tmp_path / "init.sh"
    path.write_text(script)
    harness = tmp_path / "run.sh"
    harness.write_text(
        "mysql_note() { :; }\n"
        "docker_process_sql() { cat; }\n"
        "PLATFORM_AIRFLOW_DATABASE=airflow PLATFORM_AIRFLOW_USER=airflow\n"
        'PLATFORM_AIRFLOW_PASSWORD="it\'s\\\\x"\n'
        "PLATFORM_MOVIELENS_DATABASE=movielens PLATFORM_MOVIELENS_USER=movielens PLATFORM_MOVIELENS_PASSWORD=pw\n"
        "PLATFORM_MOVIELENS_PRIVILEGES='SELECT, INSERT'\n"
        f"source {path}\n"
    )
    out = subprocess.run(["bash", str(harness)], capture_output=True, text=True, check=True).stdout
    assert "CREATE USER IF NOT EXISTS 'airflow'@'%' IDENTIFIED BY 'it''s\\\\x';" in out
    assert "GRANT SELECT, INSERT ON `movielens`.* TO 'movielens'@'%';" in out
    assert "CREATE DATABASE IF NOT EXISTS `airflow` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;" in out


def test_generated_passwords_are_random_and_long():
    plan = generated_secrets(render())
    mysql, db = plan[f"{FULLNAME}-mysql"]["data"], plan[f"{FULLNAME}-movielens-db"]["data"]
    assert db["username"] == {"value": "movielens"}
    assert mysql["root-password"] == mysql["airflow-password"] == db["password"] == {"random": 32}


def test_mysql_off_external_database():
    docs = render(EXTERNAL)
    assert not find_all(docs, "StatefulSet")
    assert f"{FULLNAME}-mysql" not in names(docs, "Service")
    assert set(generated_secrets(docs)) == {f"{FULLNAME}-airflow", f"{FULLNAME}-movielens-api"}
    env = env_of(container(component(docs, "scheduler"), "scheduler"))
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]["valueFrom"]["secretKeyRef"] == {
        "name": "metadata-db",
        "key": "connection",
    }
    # no MySQL login tests without the bundled server
    test_pods = [d["metadata"]["name"] for d in find_all(docs, "Pod")]
    assert not [n for n in test_pods if "-test-db-" in n]


def test_mysql_off_requires_external_settings():
    err = render_error(values={"mysql": {"enabled": False}})
    assert "Airflow's metadata needs a database: set airflow.externalDatabase.enabled=true" in err
    err = render_error(values={"airflow": {"externalDatabase": {"enabled": True}}})
    assert "airflow.externalDatabase.existingSecret is required when airflow.externalDatabase.enabled" in err
    err = render_error(values={"mysql": {"enabled": False},
                               "airflow": {"externalDatabase": {"enabled": True, "existingSecret": "m"}}})
    assert "pipeline.database.host is required when mysql.enabled is false" in err


def test_bundled_mysql_keeps_only_the_pipeline_database_when_the_metadata_is_external():
    """The supported split on clusters whose only MySQL-compatible server is MariaDB."""
    docs = render({"airflow": {"externalDatabase": {"enabled": True, "existingSecret": "metadata-db"}}})
    assert set(generated_secrets(docs)[f"{FULLNAME}-mysql"]["data"]) == {"root-password"}
    assert f"{FULLNAME}-metadata" not in generated_secrets(docs)
    env = env_of(container(component(docs, "mysql"), "mysql"))
    assert not [name for name in env if name.startswith("PLATFORM_AIRFLOW_")]
    script = find(docs, "ConfigMap", f"{FULLNAME}-mysql-init")["data"]["10-platform-databases.sh"]
    assert "PLATFORM_AIRFLOW" not in script and "PLATFORM_MOVIELENS_DATABASE" in script
    for name in ("scheduler", "api-server", "dag-processor", "triggerer"):
        env = env_of(container(component(docs, name), name))
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]["valueFrom"]["secretKeyRef"] == {
            "name": "metadata-db", "key": "connection"}
