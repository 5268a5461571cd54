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


def push(work: Path, url: str, text: str) -> str:
    (work / "dags").mkdir(parents=True, exist_ok=True)
    (work / "dags" / "probe.py").write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "-qm", text, cwd=work)
    git("push", "-q", url, "HEAD:main", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).stdout.strip()


def chart_bundle_env(url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The dag-processor's bundle settings and environment, as the chart renders them."""
    docs = render(files=["local-node.yaml"], sets=[f"dags.gitBundle.repo={url}"])
    cfg = airflow_cfg(docs)["dag_processor"]
    pod_env = env_values(container(component(docs, "dag-processor"), "dag-processor"))
    return {
        **os.environ,
        "AIRFLOW_CONN_GIT_DAGS": pod_env["AIRFLOW_CONN_GIT_DAGS"],
        "AIRFLOW_HOME": str(tmp_path / "home"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path}/airflow.db",
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": cfg["dag_bundle_config_list"],
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


def test_a_run_gets_the_commit_it_recorded_after_the_branch_moved(repo_url, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    first = push(work, repo_url, "VERSION = 1\n")
    env = chart_bundle_env(repo_url, tmp_path)

    tracking = bundle_at(env)
    assert (tracking["version"], tracking["dag"]) == (first, "VERSION = 1\n")
    assert tracking["path"].endswith("/tracking_repo/dags"), "subdir from the values"

    second = push(work, repo_url, "VERSION = 2\n")
    assert bundle_at(env)["version"] == second, "the tracking clone follows the branch"
    pinned = bundle_at(env, first)
    assert (pinned["version"], pinned["dag"]) == (first, "VERSION = 1\n")
    assert bundle_at(env, second)["dag"] == "VERSION = 2\n"


def test_a_fresh_pod_fetches_a_recorded_commit(repo_url, tmp_path):
    """A worker pod starts with an empty /tmp: it clones, then checks out the run's commit."""
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    first = push(work, repo_url, "VERSION = 1\n")
    push(work, repo_url, "VERSION = 2\n")
    assert bundle_at(chart_bundle_env(repo_url, tmp_path), first)["dag"] == "VERSION = 1\n"


def test_the_connection_from_its_secret_is_used(repo_url, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    first = push(work, repo_url, "VERSION = 1\n")
    cfg = airflow_cfg(
        render(
            files=["local-node.yaml"],
            sets=["dags.gitBundle.repo=git://wrong.invalid/x.git", "dags.gitBundle.connectionSecret=dags-repo"],
        )
    )
    # the connection's host names the repository when the values' URL is wrong: proof it is read
    kwargs = json.loads(cfg["dag_processor"]["dag_bundle_config_list"])[0]["kwargs"]
    kwargs.pop("repo_url")
    env = chart_bundle_env(repo_url, tmp_path, AIRFLOW_CONN_GIT_DAGS=json.dumps({"conn_type": "git", "host": repo_url}))
    env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(
        [{"name": "dags", "classpath": "airflow.providers.git.bundles.git.GitDagBundle", "kwargs": kwargs}]
    )
    assert bundle_at(env)["version"] == first
