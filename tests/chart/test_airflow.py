"""Airflow components: executor, config, pod template, migrations, secrets, admin user."""

from __future__ import annotations

import pytest
from chart_helpers import (
    AIRFLOW_COMPONENTS,
    FULLNAME,
    ROOT,
    airflow_cfg,
    component,
    container,
    env_of,
    env_values,
    find,
    find_all,
    generated_secrets,
    pod_spec,
    render,
    render_error,
    worker_pod,
)

API_URL = f"http://{FULLNAME}-api-server:8080/execution/"


def test_kubernetes_executor_and_execution_api_url():
    cfg = airflow_cfg(render())
    assert cfg["core"]["executor"] == "KubernetesExecutor"
    assert cfg["core"]["execution_api_server_url"] == API_URL
    assert cfg["kubernetes_executor"]["pod_template_file"] == "/opt/airflow/pod_templates/pod_template.yaml"
    assert cfg["kubernetes_executor"]["namespace"] == "airflow"
    assert cfg["kubernetes_executor"]["worker_container_repository"] == "apache/airflow"
    assert cfg["kubernetes_executor"]["worker_container_tag"] == "3.3.2"
    assert cfg["core"]["load_examples"] == "False"


def test_execution_api_url_follows_service_port():
    cfg = airflow_cfg(render({"airflow": {"apiServer": {"service": {"port": 9090}}}}))
    assert cfg["core"]["execution_api_server_url"] == f"http://{FULLNAME}-api-server:9090/execution/"
    assert cfg["api"]["port"] == "9090"


def test_user_config_is_merged_and_wins():
    cfg = airflow_cfg(
        render({"airflow": {"config": {"core": {"parallelism": 8, "load_examples": "True"}, "webserver": {"x": "y"}}}})
    )
    assert cfg["core"]["parallelism"] == "8"
    assert cfg["core"]["load_examples"] == "True"
    assert cfg["webserver"]["x"] == "y"
    assert cfg["core"]["executor"] == "KubernetesExecutor"


def test_secret_config_keys_are_refused():
    for section, key in (
        ("core", "fernet_key"),
        ("database", "sql_alchemy_conn"),
        ("api_auth", "jwt_secret"),
        ("api", "secret_key"),
    ):
        err = render_error(values={"airflow": {"config": {section: {key: "x"}}}})
        assert f"airflow.config.{section}.{key} is a secret" in err


def test_api_server_deployment_and_service():
    docs = render()
    api = component(docs, "api-server")
    main = container(api, "api-server")
    assert main["args"] == ["bash", "-c", "exec airflow api-server"]
    assert main["ports"] == [{"name": "api", "containerPort": 8080, "protocol": "TCP"}]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert main[probe]["httpGet"]["path"] == "/api/v2/monitor/health"
    svc = find(docs, "Service", f"{FULLNAME}-api-server")
    assert svc["spec"]["ports"][0]["port"] == 8080
    assert svc["spec"]["selector"]["app.kubernetes.io/component"] == "api-server"


def test_components_have_probes_and_commands():
    docs = render()
    sched = container(component(docs, "scheduler"), "scheduler")
    # Tasks run in worker pods: the scheduler serves no logs.
    assert sched["args"][-1] == "exec airflow scheduler --skip-serve-logs"
    assert sched["livenessProbe"]["httpGet"] == {"path": "/health", "port": "health"}
    assert airflow_cfg(docs)["scheduler"]["enable_health_check"] == "True"
    for name, job, flags in (("dag-processor", "DagProcessorJob", ""), ("triggerer", "TriggererJob", "")):
        c = container(component(docs, name), name)
        assert c["args"][-1] == f"exec airflow {name}{flags}"
        assert c["livenessProbe"]["exec"]["command"][-2:] == [job, "30"]  # files/check-job-heartbeat.py


def test_the_triggerer_serves_its_logs_only_without_the_shared_logs_volume():
    docs = render({"airflow": {"logs": {"persistence": {"enabled": False}}}})
    assert container(component(docs, "triggerer"), "triggerer")["args"][-1] == "exec airflow triggerer"
    docs = render({"airflow": {"logs": {"persistence": {"enabled": True}}}})
    args = container(component(docs, "triggerer"), "triggerer")["args"]
    assert args[-1] == "exec airflow triggerer --skip-serve-logs"


def test_concurrency_values_reach_airflow_cfg():
    cfg = airflow_cfg(render({"airflow": {"concurrency": {"parallelism": 6, "podCreationBatchSize": 3}}}))
    assert cfg["core"]["parallelism"] == "6"
    assert cfg["kubernetes_executor"]["worker_pods_creation_batch_size"] == "3"
    # Airflow's own default of one pod per scheduler loop holds a backfill's tasks back.
    assert airflow_cfg(render())["kubernetes_executor"]["worker_pods_creation_batch_size"] == "16"


def test_replicas_are_configurable():
    docs = render({"airflow": {"scheduler": {"replicas": 2}, "apiServer": {"replicas": 3}}})
    assert component(docs, "scheduler")["spec"]["replicas"] == 2
    assert component(docs, "api-server")["spec"]["replicas"] == 3


def test_every_component_waits_for_migrations():
    docs = render()
    for name in AIRFLOW_COMPONENTS:
        init = container(component(docs, name), "wait-for-migrations", init=True)
        assert init["args"] == ["python", "-c", (ROOT / "chart" / "files" / "wait-for-migrations.py").read_text()]
        assert {k: env_values(init)[k] for k in ("FAB", "MIGRATION_WAIT_SECONDS")} == {
            "FAB": "true", "MIGRATION_WAIT_SECONDS": "900"}
        assert (
            env_of(init)["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]["valueFrom"]["secretKeyRef"]["name"]
            == f"{FULLNAME}-metadata"
        )


def migration_jobs(docs):
    return [j for j in find_all(docs, "Job") if j["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"]


def test_migration_job_is_plain_job_named_by_checksum():
    docs = render()
    jobs = migration_jobs(docs)
    assert len(jobs) == 1
    job = jobs[0]
    assert "helm.sh/hook" not in (job["metadata"].get("annotations") or {})
    assert job["metadata"]["name"].startswith(f"{FULLNAME}-migrate-")
    script = container(job, "migrate")["args"][-1].splitlines()
    pools = 'airflow pools set "$POOL_NAME" "$POOL_SLOTS" "the MovieLens pipeline\'s tasks"'
    # with FAB (the default) its users first: the api-server waits for them
    assert script == ["set -e", "airflow db migrate", 'python -c "$SYNC_FAB_USERS"', pools]
    simple = migration_jobs(render({"airflow": {"authManager": "simple"}}))[0]
    assert container(simple, "migrate")["args"][-1].splitlines() == ["set -e", "airflow db migrate", pools]
    assert "ttlSecondsAfterFinished" not in job["spec"]
    # a new image makes a new Job (rerun on upgrade); same values keep the same name
    other = migration_jobs(render({"airflow": {"image": {"tag": "3.3.3"}}}))[0]
    assert other["metadata"]["name"] != job["metadata"]["name"]
    assert migration_jobs(render())[0]["metadata"]["name"] == job["metadata"]["name"]
    ttl = migration_jobs(render({"airflow": {"migrations": {"ttlSecondsAfterFinished": 600}}}))[0]
    assert ttl["spec"]["ttlSecondsAfterFinished"] == 600


def test_secrets_are_referenced_never_inlined():
    docs = render()
    generated = generated_secrets(docs)[f"{FULLNAME}-airflow"]["data"]
    assert set(generated) == {"fernet-key", "jwt-secret", "api-secret-key", "admin-password"}
    assert generated["jwt-secret"] == {"random": 64}  # HS512 wants a key of 64 bytes or more
    for name in AIRFLOW_COMPONENTS:
        env = env_of(container(component(docs, name), name))
        for var, key in (
            ("AIRFLOW__CORE__FERNET_KEY", "fernet-key"),
            ("AIRFLOW__API_AUTH__JWT_SECRET", "jwt-secret"),
            ("AIRFLOW__API__SECRET_KEY", "api-secret-key"),
        ):
            assert env[var]["valueFrom"]["secretKeyRef"] == {"name": f"{FULLNAME}-airflow", "key": key}
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]["valueFrom"]["secretKeyRef"] == {
            "name": f"{FULLNAME}-metadata",
            "key": "connection",
        }
    # generated in the cluster: no Secret, so no value, in any manifest
    assert not find_all(docs, "Secret")


def test_same_jwt_secret_for_scheduler_api_server_and_workers():
    docs = render()
    refs = []
    for obj, name in ((component(docs, "scheduler"), "scheduler"), (component(docs, "api-server"), "api-server")):
        refs.append(env_of(container(obj, name))["AIRFLOW__API_AUTH__JWT_SECRET"]["valueFrom"]["secretKeyRef"])
    refs.append(
        env_of(container(worker_pod(docs), "base"))["AIRFLOW__API_AUTH__JWT_SECRET"]["valueFrom"]["secretKeyRef"]
    )
    assert refs[0] == refs[1] == refs[2]


def test_metadata_connection_uses_mysqldb_and_bundled_mysql():
    docs = render()
    conn = generated_secrets(docs)[f"{FULLNAME}-metadata"]["data"]["connection"]
    mysql = f"{FULLNAME}-mysql"
    assert conn == {"format": f"mysql+mysqldb://{{{mysql}/airflow-username}}:{{{mysql}/airflow-password}}"
                              f"@{mysql}:3306/airflow?charset=utf8mb4"}


def test_existing_secrets_are_used():
    docs = render(
        {
            "airflow": {"secrets": {"existingSecret": "core"}, "admin": {"existingSecret": "admin"}},
            "movielensApi": {"existingSecret": "api-creds"},
            "pipeline": {"database": {"existingSecret": "db-creds"}},
        }
    )
    secret_names = set(generated_secrets(docs))
    assert f"{FULLNAME}-airflow" not in secret_names
    assert f"{FULLNAME}-movielens-api" not in secret_names
    assert f"{FULLNAME}-movielens-db" not in secret_names
    env = env_of(container(component(docs, "scheduler"), "scheduler"))
    assert env["AIRFLOW__CORE__FERNET_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "core"
    migrate = pod_spec(migration_jobs(docs)[0])
    passwords = {v["name"]: v for v in migrate["volumes"]}["fab-passwords"]["projected"]["sources"]
    assert passwords[0]["secret"] == {"name": "admin", "items": [{"key": "password", "path": "0"}]}
    api = container(component(docs, "movielens-api"), "movielens-api")
    assert env_of(api)["API_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "api-creds"
    mysql = container(component(docs, "mysql"), "mysql")
    assert env_of(mysql)["PLATFORM_MOVIELENS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "db-creds",
        "key": "password",
    }


def test_only_admin_secret_existing_keeps_generated_core_secrets():
    docs = render({"airflow": {"admin": {"existingSecret": "admin"}}})
    assert set(generated_secrets(docs)[f"{FULLNAME}-airflow"]["data"]) == {"fernet-key", "jwt-secret", "api-secret-key"}


def test_admin_user_via_simple_auth_manager_passwords_file():
    docs = render({"airflow": {"authManager": "simple", "admin": {"username": "boss"}}})
    cfg = airflow_cfg(docs)
    assert cfg["core"]["simple_auth_manager_users"] == "boss:admin"
    assert cfg["core"]["simple_auth_manager_passwords_file"] == "/opt/airflow/auth/passwords.json"
    api = component(docs, "api-server")
    init = container(api, "write-passwords", init=True)
    assert env_values(init)["ADMIN_USERNAME"] == "boss"
    assert env_of(init)["ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": f"{FULLNAME}-airflow",
        "key": "admin-password",
    }
    assert "/opt/airflow/auth/passwords.json" in init["args"][-1]
    # the file is written to a writable emptyDir shared with the api-server
    mounts = {m["name"]: m["mountPath"] for m in container(api, "api-server")["volumeMounts"]}
    assert mounts["auth"] == "/opt/airflow/auth"
    vols = {v["name"]: v for v in api["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in vols["auth"]


def test_config_mounted_as_airflow_cfg_everywhere():
    docs = render()
    for name in AIRFLOW_COMPONENTS:
        mounts = {m["mountPath"]: m for m in container(component(docs, name), name)["volumeMounts"]}
        assert mounts["/opt/airflow/airflow.cfg"]["subPath"] == "airflow.cfg"
    mounts = {m["mountPath"] for m in container(worker_pod(docs), "base")["volumeMounts"]}
    assert "/opt/airflow/airflow.cfg" in mounts


def test_config_change_restarts_components():
    a = component(render(), "scheduler")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    b = component(render({"airflow": {"config": {"core": {"parallelism": 4}}}}), "scheduler")["spec"]["template"][
        "metadata"
    ]["annotations"]["checksum/config"]
    assert a != b


def test_worker_pod_template():
    docs = render(
        {
            "airflow": {
                "workers": {
                    "extraEnv": [{"name": "EXTRA", "value": "1"}],
                    "nodeSelector": {"pool": "tasks"},
                    "tolerations": [{"key": "tasks", "operator": "Exists", "effect": "NoSchedule"}],
                    "podAnnotations": {"team": "data"},
                    "labels": {"tier": "worker"},
                    "extraVolumes": [{"name": "scratch", "emptyDir": {}}],
                    "extraVolumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
                    "resources": {
                        "requests": {"cpu": "250m", "memory": "512Mi"},
                        "limits": {"cpu": "2", "memory": "2Gi"},
                    },
                }
            }
        }
    )
    pod = worker_pod(docs)
    assert pod["kind"] == "Pod"
    spec = pod["spec"]
    assert [c["name"] for c in spec["containers"]] == ["base"]
    base = spec["containers"][0]
    assert base["image"] == "apache/airflow:3.3.2"
    assert env_values(base)["EXTRA"] == "1"
    assert spec["nodeSelector"] == {"pool": "tasks"}
    assert spec["tolerations"][0]["key"] == "tasks"
    assert pod["metadata"]["annotations"] == {"team": "data"}
    assert pod["metadata"]["labels"]["tier"] == "worker"
    assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"
    assert {"name": "scratch", "mountPath": "/scratch"} in base["volumeMounts"]
    assert base["resources"]["limits"]["memory"] == "2Gi"
    assert spec["serviceAccountName"] == f"{FULLNAME}-worker"
    assert spec["restartPolicy"] == "Never"
    # workers talk to the execution API, not to the metadata database
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" not in env_of(base)
    # the scheduler mounts this template where [kubernetes_executor] pod_template_file points
    sched = component(docs, "scheduler")
    mount = [m for m in container(sched, "scheduler")["volumeMounts"] if m["name"] == "pod-template"][0]
    assert mount["mountPath"] == airflow_cfg(docs)["kubernetes_executor"]["pod_template_file"]


def test_worker_pod_deletion_settings():
    cfg = airflow_cfg(render({"airflow": {"workers": {"deleteWorkerPods": False}}}))
    assert cfg["kubernetes_executor"]["delete_worker_pods"] == "False"


def test_external_database_async_key():
    docs = render(
        {
            "mysql": {"enabled": False},
            "airflow": {
                "externalDatabase": {
                    "enabled": True,
                    "existingSecret": "meta",
                    "connectionKey": "url",
                    "asyncConnectionKey": "async-url",
                }
            },
            "pipeline": {"database": {"host": "db"}},
        }
    )
    env = env_of(container(component(docs, "scheduler"), "scheduler"))
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]["valueFrom"]["secretKeyRef"] == {"name": "meta", "key": "url"}
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"]["valueFrom"]["secretKeyRef"] == {
        "name": "meta",
        "key": "async-url",
    }
    default_env = env_of(container(component(render(), "scheduler"), "scheduler"))
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC" not in default_env


def test_ingress_for_api_server_with_several_hosts_and_paths():
    docs = render(
        {
            "airflow": {
                "apiServer": {
                    "ingress": {
                        "enabled": True,
                        "className": "nginx",
                        "hosts": [
                            {"name": "af.example.org", "tls": {"enabled": True, "secretName": "tls"}},
                            {"name": "ops.example.org",
                             "paths": [{"path": "/airflow", "pathType": "ImplementationSpecific"}, {"path": "/af"}]},
                        ],
                    }
                }
            }
        }
    )
    ing = find(docs, "Ingress", f"{FULLNAME}-api-server")
    assert ing["spec"]["ingressClassName"] == "nginx"
    first, second = ing["spec"]["rules"]
    backend = {"service": {"name": f"{FULLNAME}-api-server", "port": {"name": "api"}}}
    assert first == {"host": "af.example.org",
                     "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
    assert second["host"] == "ops.example.org"
    assert [(p["path"], p["pathType"]) for p in second["http"]["paths"]] == [
        ("/airflow", "ImplementationSpecific"), ("/af", "Prefix")]
    assert ing["spec"]["tls"] == [{"hosts": ["af.example.org"], "secretName": "tls"}]


def test_ingress_without_hosts_is_refused():
    err = render_error(values={"airflow": {"apiServer": {"ingress": {"enabled": True}}}})
    assert "airflow.apiServer.ingress.hosts is empty: give at least one host" in err


def test_a_base_url_under_a_subpath_moves_the_execution_api_and_the_probes():
    docs = render({"airflow": {"config": {"api": {"base_url": "https://ops.example.org/team/airflow/"}}}})
    assert airflow_cfg(docs)["core"]["execution_api_server_url"] == (
        f"http://{FULLNAME}-api-server:8080/team/airflow/execution/")
    api = container(component(docs, "api-server"), "api-server")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert api[probe]["httpGet"]["path"] == "/team/airflow/api/v2/monitor/health", probe
    helm_test = find(docs, "Pod", f"{FULLNAME}-test-api-server-health")
    assert ":8080/team/airflow/api/v2/monitor/health" in helm_test["spec"]["containers"][0]["args"][-1]


@pytest.mark.parametrize("base_url", ["https://airflow.example.org", "https://airflow.example.org/", ""])
def test_a_base_url_at_the_root_changes_no_path(base_url):
    values = {"airflow": {"config": {"api": {"base_url": base_url}}}} if base_url else {}
    docs = render(values)
    assert airflow_cfg(docs)["core"]["execution_api_server_url"] == f"http://{FULLNAME}-api-server:8080/execution/"
    api = container(component(docs, "api-server"), "api-server")
    assert api["readinessProbe"]["httpGet"]["path"] == "/api/v2/monitor/health"


def test_every_airflow_container_imports_the_fork_memory_hook():
    docs = render()
    hook = (ROOT / "chart" / "files" / "sitecustomize.py").read_text()
    config = find(docs, "ConfigMap", f"{FULLNAME}-config")
    assert config["data"]["sitecustomize.py"].rstrip("\n") == hook.rstrip("\n")
    containers = [container(component(docs, name), name) for name in AIRFLOW_COMPONENTS]
    containers += [container(worker_pod(docs), "base")]
    containers += [container(migration_jobs(docs)[0], "migrate")]
    for c in containers:
        assert env_values(c)["PYTHONPATH"] == "/opt/airflow/python-startup", c["name"]
        mount = next(m for m in c["volumeMounts"] if m["mountPath"] == "/opt/airflow/python-startup/sitecustomize.py")
        assert mount == {"name": "config", "mountPath": "/opt/airflow/python-startup/sitecustomize.py",
                         "subPath": "sitecustomize.py", "readOnly": True}, c["name"]
    off = render({"airflow": {"freezeGcAtFork": False}})
    assert "sitecustomize.py" not in find(off, "ConfigMap", f"{FULLNAME}-config")["data"]
    scheduler = container(component(off, "scheduler"), "scheduler")
    assert "PYTHONPATH" not in env_values(scheduler)
    assert not [m for m in scheduler["volumeMounts"] if "python-startup" in m["mountPath"]]


def test_dag_processor_and_triggerer_liveness_reads_the_heartbeat_without_airflow():
    script = (ROOT / "chart" / "files" / "check-job-heartbeat.py").read_text()
    docs = render({"airflow": {"config": {"triggerer": {"triggerer_health_check_threshold": "45"}}}})
    for name, job_type, threshold in (("dag-processor", "DagProcessorJob", "30"), ("triggerer", "TriggererJob", "45")):
        probe = container(component(docs, name), name)["livenessProbe"]
        assert probe["exec"]["command"] == ["python", "-c", script, job_type, threshold], name
        assert probe["periodSeconds"] == 60 and probe["failureThreshold"] == 5
    # a host name Airflow computes otherwise: Airflow's own check
    custom = render({"airflow": {"config": {"core": {"hostname_callable": "socket.gethostname"}}}})
    probe = container(component(custom, "triggerer"), "triggerer")["livenessProbe"]
    assert probe["exec"]["command"] == ["bash", "-c", "airflow jobs check --job-type TriggererJob --local"]
