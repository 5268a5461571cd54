"""End-to-end fixtures: one Helm release on a real cluster, reached through kubectl port-forward.

Runs on any cluster pytest-helm-charts can reach (KUBECONFIG or --kube-config): the offline
node of scripts/local-cluster (`make e2e` brings it up) or kind. Settings, all optional:

  E2E_VALUES         values file for the cluster (default values/local-node.yaml)
  E2E_NAMESPACE      release namespace (default platform-e2e)
  E2E_HOSTPATH_ROOT  host folder for hostPath volumes (data, logs, MySQL); empty: none
  E2E_GIT_HOST       address on this machine that pods reach, where the suite serves the
                     DAG repository with `git daemon` (default 10.244.0.1, the local node's
                     bridge; 172.18.0.1 on kind's default network)
  E2E_FIGURES        file the measured figures are written to (JSON)
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
RELEASE = "platform"
FULLNAME = f"{RELEASE}-movielens-platform"
# Figures measured before pytest started (node start, image build and import), from scripts/e2e.sh.
FIGURES: dict[str, object] = json.loads(os.environ.get("E2E_SETUP_FIGURES") or "{}")


def progress(message: str) -> None:
    print(f"[e2e {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(*cmd: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd[:4])} ... failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@dataclass
class GitRepo:
    """The DAG repository git-sync follows: a copy of dags/, served by `git daemon`."""

    work: Path
    url: str
    process: subprocess.Popen

    def commit(self, files: dict[str, str], message: str) -> str:
        for name, text in files.items():
            (self.work / name).parent.mkdir(parents=True, exist_ok=True)
            (self.work / name).write_text(text)
        git = ["git", "-C", str(self.work), "-c", "user.name=e2e", "-c", "user.email=e2e@platform.invalid"]
        run(*git, "add", "-A")
        run(*git, "commit", "-qm", message)
        run(*git, "push", "-q", "origin", "HEAD:main")
        return run(*git, "rev-parse", "HEAD").stdout.strip()


@pytest.fixture(scope="module")
def git_repo(tmp_path_factory):
    host = os.environ.get("E2E_GIT_HOST", "10.244.0.1")
    base = tmp_path_factory.mktemp("git")
    served, work = base / "served", base / "work"
    served.mkdir()
    run("git", "init", "-q", "--bare", "-b", "main", str(served / "platform.git"))
    run("git", "init", "-q", "-b", "main", str(work))
    shutil.copytree(ROOT / "dags", work / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    run("git", "-C", str(work), "remote", "add", "origin", str(served / "platform.git"))
    port = free_port()
    daemon = subprocess.Popen(["git", "daemon", f"--base-path={served}", "--export-all", "--reuseaddr",
                               f"--listen={host}", f"--port={port}", str(served)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    repo = GitRepo(work, f"git://{host}:{port}/platform.git", daemon)
    repo.commit({}, "the platform's DAGs")
    yield repo
    daemon.terminate()
    daemon.wait(10)


class PortForward:
    """`kubectl port-forward` to a Service; works the same on any cluster."""

    def __init__(self, kubeconfig: str, namespace: str, service: str, port: int):
        self.local = free_port()
        self.process = subprocess.Popen(
            ["kubectl", "--kubeconfig", kubeconfig, "-n", namespace, "port-forward", f"svc/{service}",
             f"{self.local}:{port}", "--address", "127.0.0.1"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.local)) == 0:
                    return
            if self.process.poll() is not None:
                raise AssertionError(f"port-forward to {service} ended: {self.process.stdout.read()}")
            time.sleep(0.3)
        raise AssertionError(f"port-forward to {service} did not open")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@dataclass
class Release:
    kubeconfig: str
    namespace: str
    values: list[str]
    git: GitRepo
    forwards: list[PortForward] = field(default_factory=list)

    def kubectl(self, *args: str, timeout: float = 120) -> str:
        return run("kubectl", "--kubeconfig", self.kubeconfig, "-n", self.namespace, *args, timeout=timeout).stdout

    def helm(self, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess:
        return run("helm", "--kubeconfig", self.kubeconfig, "-n", self.namespace, *args, timeout=timeout)

    def install(self, *extra: str) -> float:
        started = time.monotonic()
        self.helm("upgrade", "--install", RELEASE, str(ROOT / "chart"), "--create-namespace", "--wait",
                  "--timeout", "20m", *self.values, *extra)
        return time.monotonic() - started

    def secret(self, name: str) -> dict[str, str]:
        data = json.loads(self.kubectl("get", "secret", name, "-o", "json"))["data"]
        return {k: base64.b64decode(v).decode() for k, v in data.items()}

    def settle(self, component: str, timeout: float = 300) -> None:
        """Wait until the component's replaced pods are gone: a port-forward to a Service
        binds to one pod, which must not be one that is terminating."""
        deadline = time.monotonic() + timeout
        selector = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component={component}"
        while time.monotonic() < deadline:
            pods = json.loads(self.kubectl("get", "pods", "-l", selector, "-o", "json"))["items"]
            if pods and not any(p["metadata"].get("deletionTimestamp") for p in pods):
                return
            time.sleep(2)
        raise AssertionError(f"{component} pods did not settle within {timeout} s")

    def forward(self, service: str, port: int) -> int:
        pf = PortForward(self.kubeconfig, self.namespace, service, port)
        self.forwards.append(pf)
        return pf.local


def hostpath_values(root: str) -> list[str]:
    """hostPath PVs for clusters without a provisioner; folders open to the pods' users."""
    if not root:
        return []
    sets = []
    for key, folder in (("pipeline.data.hostPath", "data"), ("airflow.logs.persistence.hostPath", "logs"),
                        ("mysql.persistence.hostPath", "mysql")):
        path = Path(root) / folder
        if path.exists():
            shutil.rmtree(path)
        # The pods run as 10001 (tasks), 50000 (Airflow) and 999 (MySQL, in subPath "mysql").
        for p in (path, path / "mysql") if folder == "mysql" else (path,):
            p.mkdir(parents=True)
            p.chmod(0o777)
        sets += ["--set", f"{key}={path}"]
    return sets


@pytest.fixture(scope="module")
def release(kube_cluster, git_repo):
    namespace = os.environ.get("E2E_NAMESPACE", "platform-e2e")
    values = ["-f", os.environ.get("E2E_VALUES", str(ROOT / "values/local-node.yaml")),
              "--set", f"dags.gitSync.repo={git_repo.url}", "--set", "dags.gitSync.ref=main",
              *hostpath_values(os.environ.get("E2E_HOSTPATH_ROOT", "/var/lib/platform-e2e"))]
    rel = Release(kube_cluster.kube_config_path, namespace, values, git_repo)
    remove(rel)
    progress(f"helm install {RELEASE} into {namespace} (--wait)")
    FIGURES["install_to_all_ready_s"] = round(rel.install(), 1)
    progress(f"all ready after {FIGURES['install_to_all_ready_s']} s")
    yield rel
    for pf in rel.forwards:
        pf.close()
    if not os.environ.get("E2E_KEEP_RELEASE"):
        remove(rel)


def remove(rel: Release) -> None:
    """Uninstall and delete the namespace: worker pods the executor had not deleted yet would
    keep the logs claim (and so `helm uninstall --wait`) from finishing."""
    run("helm", "--kubeconfig", rel.kubeconfig, "-n", rel.namespace, "uninstall", RELEASE, check=False)
    run("kubectl", "--kubeconfig", rel.kubeconfig, "delete", "namespace", rel.namespace, "--ignore-not-found",
        "--wait=true", "--timeout=300s", timeout=330)


class Airflow:
    """The REST API v2 as the admin user."""

    def __init__(self, base: str, password: str):
        self.base = base
        token = requests.post(f"{base}/auth/token", json={"username": "admin", "password": password}, timeout=30)
        token.raise_for_status()
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def get(self, path: str, **params):
        resp = self.session.get(f"{self.base}/api/v2{path}", params=params, timeout=30)
        resp.raise_for_status()
        return resp.json()

    def call(self, method: str, path: str, body: dict):
        resp = self.session.request(method, f"{self.base}/api/v2{path}", json=body, timeout=30)
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json()

    def wait_for_dag(self, dag_id: str, timeout: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            resp = self.session.get(f"{self.base}/api/v2/dags/{dag_id}", timeout=30)
            if resp.status_code == 200:
                return time.monotonic() - started
            time.sleep(2)
        raise AssertionError(f"DAG {dag_id} did not appear within {timeout} s")

    def run_dag(self, dag_id: str, logical_date: str, timeout: float = 900) -> tuple[str, float]:
        self.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        run_id = self.call("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": logical_date})["dag_run_id"]
        return run_id, self.wait_for_run(dag_id, run_id, timeout)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 900) -> float:
        started, state = time.monotonic(), None
        while time.monotonic() - started < timeout:
            state = self.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in ("success", "failed"):
                break
            time.sleep(3)
        if state != "success":
            tis = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
            detail = {t["task_id"]: t["state"] for t in tis}
            raise AssertionError(f"{dag_id} run {run_id} ended {state!r}: {detail}")
        return time.monotonic() - started


@pytest.fixture(scope="module")
def airflow(release):
    port = release.forward(f"{FULLNAME}-api-server", 8080)
    return Airflow(f"http://127.0.0.1:{port}", release.secret(f"{FULLNAME}-airflow")["admin-password"])


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    terminalreporter.section("end-to-end figures")
    for key, value in FIGURES.items():
        terminalreporter.write_line(f"{key}: {value}")
    target = os.environ.get("E2E_FIGURES")
    if target:
        tmp = tempfile.NamedTemporaryFile("w", dir=os.path.dirname(os.path.abspath(target)), delete=False)
        json.dump(FIGURES, tmp, indent=2)
        tmp.close()
        os.replace(tmp.name, target)
