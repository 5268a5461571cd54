"""The chart's git DAG bundle in Airflow, for real: the [dag_processor] bundle list that
`helm template` renders for values/local-node.yaml is handed to Airflow's DagBundlesManager,
which fetches from the in-cluster DAG server's program (images/dags-git-server) over git://
on 127.0.0.1. The tracking clone follows the branch; a bundle asked for a run's recorded
version checks out that commit, whatever the branch has become."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "chart"))
from chart_helpers import airflow_cfg, component, container, env_values, render  # noqa: E402

SERVER = ROOT / "images" / "dags-git-server" / "serve-dags-repo"

# Runs in a fresh interpreter, as the dag-processor and a worker pod do: BUNDLE_VERSION empty
# is the dag-processor's tracking clone, a commit is a worker pod's.
PROBE = """
import json, os
from airflow.dag_processing.bundles.manager import DagBundlesManager
bundle = DagBundlesManager().get_bundle("dags", version=os.environ["BUNDLE_VERSION"] or None)
bundle.initialize()
version = bundle.get_current_version()
print(json.dumps({"version": getattr(version, "version", version), "path": str(bundle.path),
                  "dag": (bundle.path / "probe.py").read_text()}))
"""


def git(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


@pytest.fixture
def repo_url(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [str(SERVER)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "GIT_ROOT": str(tmp_path / "srv"), "GIT_PORT": str(port)},
    )
    url = f"git://127.0.0.1:{port}/dags.git"
    deadline = time.monotonic() + 20
    while git("ls-remote", url, check=False).returncode != 0:
        assert server.poll() is None and time.monotonic() < deadline, "serve-dags-repo did not start"
        time.sleep(0.2)
    yield url
    server.terminate()
    server.communicate(timeout=10)


@pytest.fixture
def work(tmp_path) -> Path:
    """An empty working copy on branch main, pushed to the server by push()."""
    path = tmp_path / "work"
    path.mkdir()
    git("init", "-q", "-b", "main", cwd=path)
    return path


def push(work: Path, url: str, text: str) -> str:
    (work / "dags").mkdir(parents=True, exist_ok=True)
    (work / "dags" / "probe.py").write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "-qm", text, cwd=work)
    git("push", "-q", url, "HEAD:main", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).stdout.strip()


BUNDLE_LIST = "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"


def chart_bundle_env(tmp_path: Path, *sets: str, **extra: str) -> dict[str, str]:
    """The dag-processor's bundle settings and environment, as the chart renders them for
    values/local-node.yaml with SETS; a variable the pod reads from a Secret comes in EXTRA,
    as Kubernetes would fill it from the Secret."""
    docs = render(files=["local-node.yaml"], sets=list(sets))
    cfg = airflow_cfg(docs)["dag_processor"]
    pod_env = env_values(container(component(docs, "dag-processor"), "dag-processor"))
    return {
        **os.environ,
        **{name: value for name, value in pod_env.items() if name.startswith("AIRFLOW_CONN_")},
        "AIRFLOW_HOME": str(tmp_path / "home"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path}/airflow.db",
        BUNDLE_LIST: cfg["dag_bundle_config_list"],
        # the chart's path is the pods' /tmp; here, this test's own folder
        "AIRFLOW__DAG_PROCESSOR__BUNDLE_STORAGE_PATH": str(tmp_path / "bundles"),
        **extra,
    }


def bundle_at(env: dict[str, str], version: str = "") -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**env, "BUNDLE_VERSION": version},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # a pod's log must stay clean: GitHook prints a traceback when it finds no connection
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_run_gets_the_commit_it_recorded_after_the_branch_moved(repo_url, work, tmp_path):
    first = push(work, repo_url, "VERSION = 1\n")
    env = chart_bundle_env(tmp_path, f"dags.gitBundle.repo={repo_url}")

    tracking = bundle_at(env)
    assert (tracking["version"], tracking["dag"]) == (first, "VERSION = 1\n")
    assert tracking["path"].endswith("/tracking_repo/dags"), "subdir from the values"

    second = push(work, repo_url, "VERSION = 2\n")
    assert bundle_at(env)["version"] == second, "the tracking clone follows the branch"
    pinned = bundle_at(env, first)
    assert (pinned["version"], pinned["dag"]) == (first, "VERSION = 1\n")
    assert bundle_at(env, second)["dag"] == "VERSION = 2\n"


def test_a_fresh_pod_fetches_a_recorded_commit(repo_url, work, tmp_path):
    """A worker pod starts with an empty /tmp: it clones, then checks out the run's commit."""
    first = push(work, repo_url, "VERSION = 1\n")
    push(work, repo_url, "VERSION = 2\n")
    env = chart_bundle_env(tmp_path, f"dags.gitBundle.repo={repo_url}")
    assert bundle_at(env, first)["dag"] == "VERSION = 1\n"


def test_the_connection_from_its_secret_is_used(repo_url, work, tmp_path):
    first = push(work, repo_url, "VERSION = 1\n")
    env = chart_bundle_env(tmp_path, "dags.gitBundle.connectionSecret=dags-repo",
                           AIRFLOW_CONN_GIT_DAGS=json.dumps({"conn_type": "git", "host": repo_url}))
    # without repo_url the repository is the connection's host: proof the chart's connection is read
    bundles = json.loads(env[BUNDLE_LIST])
    del bundles[0]["kwargs"]["repo_url"]
    env[BUNDLE_LIST] = json.dumps(bundles)
    assert bundle_at(env)["version"] == first
