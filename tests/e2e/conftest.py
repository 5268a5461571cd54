"""End-to-end fixtures: one Helm release on a real cluster, shared by every module in file
order (test_0* the platform, load and soak; test_1* the faults; test_99 the last health
check). Helpers live in tests/e2e/cluster.py.

Runs on any cluster pytest-helm-charts can reach (KUBECONFIG or --kube-config): the offline
node of scripts/local-cluster (`make e2e` brings it up) or kind. Settings, all optional:

  E2E_VALUES         values file for the cluster (default values/local-node.yaml)
  E2E_NAMESPACE      release namespace (default platform-e2e)
  E2E_HOSTPATH_ROOT  host folder for hostPath volumes (data, logs, MySQL, PostgreSQL);
                     empty: none
  E2E_METADATA_DB    "standin" (default with values/local-node.yaml): deploy the PostgreSQL
                     stand-in that values file names for Airflow's metadata; "none": the
                     values file brings its own metadata database
  E2E_FIGURES        file the measured figures are written to (JSON)
  E2E_KEEP_RELEASE   keep the release after the run
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from tests.e2e.cluster import (
    E2E_NODE_PORT,
    FULLNAME,
    RELEASE,
    ROOT,
    GitRepo,
    Health,
    Release,
    progress,
    run,
)
from tests.support.mysql import MySQLDatabase, MySQLServer

# Figures measured before pytest started (node start, image build and import), from scripts/e2e.sh.
FIGURES: dict[str, object] = json.loads(os.environ.get("E2E_SETUP_FIGURES") or "{}")
# Scenario -> outcome and recovery time, printed as the reliability table.
RELIABILITY: dict[str, dict] = {}
# Title -> text printed as its own section of the summary (the timelines of runs).
REPORTS: dict[str, str] = {}
# Speed figure -> value measured in this run, printed beside the figures main had before the
# speed work (measured on the local node, 2 cores) and the goals.
SPEED: dict[str, float] = {}
SPEED_BASELINE = {
    "one 3-task run, warm, trigger to success (s)": ("27-30", "<= 12"),
    "per task, queued -> task container started, median (s)": ("2.8-6.2", "<= 2.5"),
    "per task, task container exited -> task instance success, median (s)": ("4.3-4.4", "<= 1"),
    "30 days of 2019 backfilled, wall time (s)": ("~900 (the issue's estimate)", "<= 300"),
    "install to all ready, helm install --wait (s)": ("63-79", "<= 45"),
    "platform memory at idle, sum of the release's containers (MiB)": ("1221", "<= 814 (a third less)"),
}
VALUES_FILE = os.environ.get("E2E_VALUES", str(ROOT / "values/local-node.yaml"))
HOSTPATH_ROOT = os.environ.get("E2E_HOSTPATH_ROOT", "/var/lib/platform-e2e")
METADATA_STANDIN = os.environ.get(
    "E2E_METADATA_DB", "standin" if Path(VALUES_FILE).name == "local-node.yaml" else "none") == "standin"


def record(scenario: str, outcome: str, recovery_s: float | None) -> None:
    RELIABILITY[scenario] = {"outcome": outcome, "recovery_s": None if recovery_s is None else round(recovery_s, 1)}
    progress(f"reliability: {scenario}: {outcome} ({RELIABILITY[scenario]['recovery_s']} s)")


@pytest.fixture(scope="session")
def dags_work(tmp_path_factory) -> Path:
    """The DAG repository's working copy: a copy of dags/, committed."""
    work = tmp_path_factory.mktemp("git") / "work"
    run("git", "init", "-q", "-b", "main", str(work))
    shutil.copytree(ROOT / "dags", work / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    return work


def hostpath_values(root: str) -> list[str]:
    """hostPath PVs for clusters without a provisioner; folders open to the pods' users."""
    if not root:
        return []
    sets = []
    for key, folder in (("pipeline.data.hostPath", "data"), ("airflow.logs.persistence.hostPath", "logs"),
                        ("mysql.persistence.hostPath", "mysql")):
        path = Path(root) / folder
        # The pods run as 10001 (tasks), 50000 (Airflow) and 999 (MySQL, in subPath "mysql").
        for p in (path, path / "mysql") if folder == "mysql" else (path,):
            p.mkdir(parents=True, exist_ok=True)
            p.chmod(0o777)
        sets += ["--set", f"{key}={path}"]
    return sets


def fresh_hostpaths(root: str) -> None:
    for folder in ("data", "logs", "mysql", "postgres"):
        shutil.rmtree(Path(root) / folder, ignore_errors=True)


def deploy_metadata_db(rel: Release) -> None:
    env = {**os.environ, "KUBECONFIG": rel.kubeconfig}
    host_dir = str(Path(HOSTPATH_ROOT or tempfile.mkdtemp()) / "postgres")
    result = subprocess.run([str(ROOT / "scripts/local-cluster/metadata-db.sh"), rel.namespace, host_dir],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, f"metadata-db.sh failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="session")
def kubeconfig(pytestconfig) -> str:
    """pytest-helm-charts' --kube-config option or KUBECONFIG (its own fixture is module-scoped)."""
    path = pytestconfig.getoption("kube_config", None) or os.environ.get("KUBECONFIG", "")
    if not path:
        pytest.fail("no cluster: set KUBECONFIG (or --kube-config), or run `make e2e` to bring up the local node")
    run("kubectl", "--kubeconfig", path, "get", "--raw", "/readyz", timeout=60)
    return path


@pytest.fixture(scope="session")
def release(kubeconfig, dags_work):
    namespace = os.environ.get("E2E_NAMESPACE", "platform-e2e")
    rel = Release(kubeconfig, namespace, [], GitRepo(dags_work, kubeconfig, namespace))
    remove(rel)
    if HOSTPATH_ROOT:
        fresh_hostpaths(HOSTPATH_ROOT)
    progress("the in-cluster DAG repository (scripts/dags-repo), and the DAGs pushed to it")
    rel.git.deploy()
    rel.git.commit({}, "the platform's DAGs")
    rel.values = ["-f", VALUES_FILE, "--set", "dags.gitBundle.repo=git://dags-git-server:9418/dags.git",
                  "--set", "dags.gitBundle.ref=main", *hostpath_values(HOSTPATH_ROOT)]
    # beside a `make up` release, which has the values file's NodePort for its UI
    rel.values += ["--set", f"airflow.apiServer.service.nodePort={E2E_NODE_PORT}"]
    if METADATA_STANDIN:
        progress("PostgreSQL stand-in for Airflow's metadata (scripts/local-cluster/metadata-db.sh)")
        deploy_metadata_db(rel)
    progress(f"helm install {RELEASE} into {namespace} (--wait)")
    FIGURES["install_to_all_ready_s"] = round(rel.install(), 1)
    SPEED["install to all ready, helm install --wait (s)"] = FIGURES["install_to_all_ready_s"]
    progress(f"all ready after {FIGURES['install_to_all_ready_s']} s")
    yield rel
    rel.close()
    if not os.environ.get("E2E_KEEP_RELEASE"):
        remove(rel)


def remove(rel: Release) -> None:
    """Uninstall, delete the namespace (kept Secrets and claims with it) and the kept
    hostPath volumes, which are cluster-scoped."""
    run("helm", "--kubeconfig", rel.kubeconfig, "-n", rel.namespace, "uninstall", RELEASE, "--wait", "--timeout",
        "5m", check=False, timeout=400)
    run("kubectl", "--kubeconfig", rel.kubeconfig, "delete", "namespace", rel.namespace, "--ignore-not-found",
        "--wait=true", "--timeout=300s", timeout=330)
    volumes = json.loads(run("kubectl", "--kubeconfig", rel.kubeconfig, "get", "pv", "-o", "json").stdout)["items"]
    stale = [v["metadata"]["name"] for v in volumes
             if (v["spec"].get("claimRef") or {}).get("namespace") == rel.namespace]
    if stale:
        run("kubectl", "--kubeconfig", rel.kubeconfig, "delete", "pv", *stale, "--wait=true", timeout=120)


@pytest.fixture(scope="session")
def health(release):
    return Health(release, metadata_db=METADATA_STANDIN)


@pytest.fixture(scope="session")
def airflow(release):
    return release.admin_airflow()


@pytest.fixture(scope="session")
def rankings_db(release):
    """query(sql, args) on the rankings database as the pipeline's user."""
    service = release.service(f"{FULLNAME}-mysql", 3306)
    creds = release.secret(f"{FULLNAME}-movielens-db")

    def query(sql: str, args=None) -> list[tuple]:
        def on(port):
            server = MySQLServer("127.0.0.1", port, creds["username"], creds["password"])
            return MySQLDatabase(server, "movielens", creds["username"], creds["password"]).query(sql, args)
        return service.call(on, attempts=8)

    return query


@pytest.fixture(scope="session")
def ratings_api(release):
    """day(start, end): every rating the API serves for [start, end)."""
    service = release.service(f"{FULLNAME}-movielens-api", 80)
    creds = release.secret(f"{FULLNAME}-movielens-api")

    def day(start: str, end: str) -> list[dict]:
        def on(port):
            return requests.get(f"http://127.0.0.1:{port}/ratings", auth=(creds["username"], creds["password"]),
                                params={"start_date": start, "end_date": end, "limit": 50_000}, timeout=60).json()
        body = service.call(on)
        assert len(body["result"]) == body["total"]
        return body["result"]

    return day


def pytest_terminal_summary(terminalreporter):
    for title, text in REPORTS.items():
        terminalreporter.section(title)
        terminalreporter.write_line(text)
    if RELIABILITY:
        FIGURES["reliability"] = RELIABILITY
        terminalreporter.section("reliability (scenario | outcome | recovery s)")
        for scenario, row in RELIABILITY.items():
            terminalreporter.write_line(f"| {scenario} | {row['outcome']} | {row['recovery_s']} |")
    if SPEED:
        FIGURES["speed"] = SPEED
        terminalreporter.section("speed (figure | before | goal | this run)")
        for figure, (before, goal) in SPEED_BASELINE.items():
            terminalreporter.write_line(f"| {figure} | {before} | {goal} | {SPEED.get(figure, 'not measured')} |")
    if not FIGURES:
        return
    terminalreporter.section("end-to-end figures")
    for key, value in FIGURES.items():
        if key not in ("reliability", "speed"):
            terminalreporter.write_line(f"{key}: {value}")
    target = os.environ.get("E2E_FIGURES")
    if target:
        tmp = tempfile.NamedTemporaryFile("w", dir=os.path.dirname(os.path.abspath(target)), delete=False)
        json.dump(FIGURES, tmp, indent=2)
        tmp.close()
        os.replace(tmp.name, target)
