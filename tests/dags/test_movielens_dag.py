"""The DAGs parse, every task is a KubernetesPodOperator, and each task's final pod is right."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pendulum
import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"

CHART_ENV = {
    "MOVIELENS_NAMESPACE": "pipelines",
    "MOVIELENS_SERVICE_ACCOUNT": "release-tasks",
    "MOVIELENS_AUTOMOUNT_SERVICE_ACCOUNT_TOKEN": "false",
    "MOVIELENS_FETCH_IMAGE": "registry.example/movielens-fetch:1.2.3",
    "MOVIELENS_RANK_IMAGE": "registry.example/movielens-rank:1.2.3",
    "MOVIELENS_LOAD_IMAGE": "registry.example/movielens-load:1.2.3",
    "MOVIELENS_IMAGE_PULL_POLICY": "Always",
    "MOVIELENS_MAX_ACTIVE_RUNS": "6",
    "MOVIELENS_POOL": "release-pool",
    "MOVIELENS_DATA_PVC": "release-data",
    "MOVIELENS_API_URL": "http://release-movielens-api",
    "MOVIELENS_API_SECRET": "release-movielens-api",
    "MOVIELENS_DB_HOST": "release-mysql",
    "MOVIELENS_DB_PORT": "3307",
    "MOVIELENS_DB_NAME": "rankings",
    "MOVIELENS_DB_SECRET": "release-movielens-db",
}


def load_dagbag():
    from airflow.dag_processing.dagbag import BundleDagBag

    # BundleDagBag puts the folder on sys.path as the dag-processor and task runner do.
    return BundleDagBag(dag_folder=str(DAGS), bundle_path=DAGS)


@pytest.fixture(scope="module")
def dagbag():
    with pytest.MonkeyPatch.context() as mp:
        for key, value in CHART_ENV.items():
            mp.setenv(key, value)
        return load_dagbag()


@pytest.fixture(scope="module")
def dag(dagbag):
    return dagbag.dags["movielens_ranking"]


def render_pod(task, logical_date):
    """The exact V1Pod the operator would submit for a scheduled run at logical_date."""
    dag = task.dag
    interval = dag.timetable.infer_manual_data_interval(run_after=logical_date.add(days=1))
    run_id = f"scheduled__{logical_date.isoformat()}"
    ti = SimpleNamespace(dag_id=dag.dag_id, task_id=task.task_id, run_id=run_id, try_number=1, map_index=-1)
    context = {"dag": dag, "ti": ti, "run_id": run_id, "logical_date": logical_date,
               "data_interval_start": interval.start, "data_interval_end": interval.end,
               "ds": logical_date.to_date_string()}
    task.render_template_fields(context)
    return task.build_pod_request_obj(context, dry_run=True)


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "movielens_ranking" in dagbag.dags


def test_every_task_of_every_dag_is_a_kubernetes_pod_operator(dagbag):
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    for dag in dagbag.dags.values():
        for task in dag.tasks:
            assert isinstance(task, KubernetesPodOperator), f"{dag.dag_id}.{task.task_id}"


def test_shape_and_schedule(dag):
    assert [t.task_id for t in dag.topological_sort()] == ["fetch_ratings", "rank_movies", "load_rankings"]
    assert dag.get_task("rank_movies").upstream_task_ids == {"fetch_ratings"}
    assert dag.get_task("load_rankings").upstream_task_ids == {"rank_movies"}
    assert dag.start_date == pendulum.datetime(2019, 1, 1, tz="UTC")
    assert dag.end_date == pendulum.datetime(2019, 12, 31, tz="UTC")
    interval = dag.timetable.infer_manual_data_interval(run_after=pendulum.datetime(2019, 3, 6, tz="UTC"))
    assert (interval.start, interval.end) == (pendulum.datetime(2019, 3, 5, tz="UTC"),
                                              pendulum.datetime(2019, 3, 6, tz="UTC"))


def test_every_task_deletes_its_pod_streams_logs_and_retries(dag):
    for task in dag.tasks:
        assert task.on_finish_action.value == "delete_pod"
        assert task.get_logs is True
        assert task.retries == 2
        # nothing waits forever: a hung pod is stopped and retried
        assert task.execution_timeout is not None and task.execution_timeout.total_seconds() <= 15 * 60
        assert task.namespace == "pipelines"
        assert task.image_pull_policy == "Always"
        assert task.pool == "release-pool"
        # Seen each second while it starts: most of our programs end within the provider's 5 s.
        assert task.startup_check_interval_seconds == 0.25


def test_runs_in_flight_come_from_the_chart(dag):
    assert dag.max_active_runs == 6


DAY = pendulum.datetime(2019, 3, 5, tz="UTC")


def secret_env(container) -> dict[str, tuple[str, str]]:
    return {e.name: (e.value_from.secret_key_ref.name, e.value_from.secret_key_ref.key)
            for e in container.env if e.value_from}


def plain_env(container) -> dict[str, str]:
    return {e.name: e.value for e in container.env if not e.value_from}


def test_fetch_pod(dag):
    pod = render_pod(dag.get_task("fetch_ratings"), DAY)
    (c,) = pod.spec.containers
    assert c.image == "registry.example/movielens-fetch:1.2.3"
    assert c.args == ["--start-date", "2019-03-05", "--end-date", "2019-03-06",
                      "--output-path", "/data/ratings/2019-03-05.json",
                      "--host", "http://release-movielens-api", "--batch-size", "10000",
                      "--timeout", "20", "--max-retries", "3", "--retry-backoff", "1"]
    assert c.command in (None, [])  # the image's entrypoint is the CLI
    assert secret_env(c) == {"API_USER": ("release-movielens-api", "username"),
                             "API_PASSWORD": ("release-movielens-api", "password")}
    assert plain_env(c) == {}


def test_rank_pod(dag):
    (c,) = render_pod(dag.get_task("rank_movies"), DAY).spec.containers
    assert c.image == "registry.example/movielens-rank:1.2.3"
    assert c.args == ["--input-path", "/data/ratings/2019-03-05.json",
                      "--output-path", "/data/rankings/2019-03-05.csv", "--min-ratings", "2"]
    assert c.env in (None, [])


def test_load_pod(dag):
    (c,) = render_pod(dag.get_task("load_rankings"), DAY).spec.containers
    assert c.image == "registry.example/movielens-load:1.2.3"
    assert c.args == ["--input-path", "/data/rankings/2019-03-05.csv", "--ranking-date", "2019-03-05",
                      "--query-timeout", "30"]
    assert plain_env(c) == {"MYSQL_HOST": "release-mysql", "MYSQL_PORT": "3307", "MYSQL_DATABASE": "rankings"}
    assert secret_env(c) == {"MYSQL_USER": ("release-movielens-db", "username"),
                             "MYSQL_PASSWORD": ("release-movielens-db", "password")}


@pytest.mark.parametrize("task_id", ["fetch_ratings", "rank_movies", "load_rankings"])
def test_every_pod_mounts_the_data_claim_and_is_locked_down(dag, task_id):
    pod = render_pod(dag.get_task(task_id), DAY)
    spec = pod.spec
    assert pod.metadata.namespace == "pipelines"
    assert pod.metadata.labels["app.kubernetes.io/part-of"] == "movielens-pipeline"
    volumes = {v.name: v for v in spec.volumes}
    assert volumes["data"].persistent_volume_claim.claim_name == "release-data"
    (c,) = spec.containers
    assert {m.name: m.mount_path for m in c.volume_mounts} == {"data": "/data", "tmp": "/tmp"}
    assert c.image_pull_policy == "Always"
    assert spec.security_context.run_as_non_root is True
    assert spec.security_context.run_as_user == 10001
    assert spec.security_context.seccomp_profile.type == "RuntimeDefault"
    assert c.security_context.allow_privilege_escalation is False
    assert c.security_context.read_only_root_filesystem is True
    assert c.security_context.capabilities.drop == ["ALL"]
    assert set(c.resources.requests) == {"cpu", "memory"} and set(c.resources.limits) == {"cpu", "memory"}
    assert spec.service_account_name == "release-tasks"
    assert spec.automount_service_account_token is False
    assert spec.restart_policy == "Never"


def test_defaults_without_the_chart(monkeypatch):
    for key in CHART_ENV:
        monkeypatch.delenv(key, raising=False)
    dag = load_dagbag().dags["movielens_ranking"]
    (c,) = render_pod(dag.get_task("fetch_ratings"), DAY).spec.containers
    assert c.image == "movielens-fetch:0.1.0" and c.image_pull_policy == "IfNotPresent"
    assert secret_env(c)["API_USER"] == ("movielens-api", "username")
    assert dag.get_task("fetch_ratings").pool == "default_pool"
    assert dag.max_active_runs == 4
    assert render_pod(dag.get_task("fetch_ratings"), DAY).spec.service_account_name == "default"


def test_a_workload_identity_that_needs_the_token_gets_it(monkeypatch):
    for key, value in {**CHART_ENV, "MOVIELENS_AUTOMOUNT_SERVICE_ACCOUNT_TOKEN": "true"}.items():
        monkeypatch.setenv(key, value)
    dag = load_dagbag().dags["movielens_ranking"]
    assert render_pod(dag.get_task("load_rankings"), DAY).spec.automount_service_account_token is True


def test_parsing_reads_no_airflow_variables(monkeypatch):
    """The DAG must not reach the metadata DB or Variables while being parsed."""
    from airflow.sdk import Variable

    def forbidden(*args, **kwargs):
        raise AssertionError("Variable.get at parse time")

    monkeypatch.setattr(Variable, "get", forbidden)
    assert load_dagbag().import_errors == {}


@pytest.mark.parametrize(("module", "constant", "fields"), [
    ("test_01_platform.py", "PROBE_DAG", {"source": "git-sync", "dag_id": "e2e_git_sync_probe"}),
    ("test_01_platform.py", "VERSIONED_DAG", {"version": "v1"}),
    ("test_15_fault_task_oom.py", "OOM_DAG", None),
])
def test_the_end_to_end_probe_dags_parse(tmp_path, module, constant, fields):
    """The DAGs the end-to-end suite commits (templates filled as the suite fills them) use
    container_tasks and Airflow as they are today."""
    import ast
    import shutil

    from airflow.dag_processing.dagbag import BundleDagBag

    tree = ast.parse((DAGS.parent / "tests" / "e2e" / module).read_text())
    source = next(ast.literal_eval(node.value) for node in tree.body
                  if isinstance(node, ast.Assign) and [t.id for t in node.targets] == [constant])
    shutil.copy(DAGS / "container_tasks.py", tmp_path)
    (tmp_path / "probe.py").write_text(source.format(**fields) if fields is not None else source)
    bag = BundleDagBag(dag_folder=str(tmp_path), bundle_path=tmp_path)
    assert bag.import_errors == {}
    assert len(bag.dags) == 1
