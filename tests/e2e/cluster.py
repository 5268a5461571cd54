"""The end-to-end suite's view of one release on a real cluster: kubectl and helm, services
reached through `kubectl port-forward` (re-opened when the pod behind them is replaced),
the REST API v2, and the health invariants every module checks.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pymysql
import requests

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
RELEASE = "platform"
FULLNAME = f"{RELEASE}-movielens-platform"
DAG_ID = "movielens_ranking"
TASKS = ("fetch_ratings", "rank_movies", "load_rankings")
# The release's own long-running pods: none of their containers may restart, none may log errors.
WATCHED_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer", "mysql", "movielens-api", "statsd")
METADATA_DB_SELECTOR = "app.kubernetes.io/name=metadata-db"  # the PostgreSQL stand-in, when deployed
NODE = ROOT / "scripts/local-cluster/cluster.sh"


def progress(message: str) -> None:
    print(f"[e2e {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(*cmd: str, timeout: float = 600, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=stdin)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd[:5])} ... failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def wait_until(what: str, condition: Callable[[], object], timeout: float, interval: float = 2) -> object:
    """Poll `condition` until it returns something truthy; its last exception or value explains a timeout."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
            last = value
        except Exception as exc:  # noqa: BLE001 - the condition may fail while the platform recovers
            last = exc
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {last!r})")


# The e2e release's api-server NodePort (values/local-node.yaml and kind.yaml give `make up`
# 30080): the suite runs beside a `make up` release on the same cluster.
E2E_NODE_PORT = 30081


def on_local_node() -> bool:
    """The cluster is the local node of scripts/local-cluster and this is its root: faults
    can be injected into the node itself (its runtime, a container's processes)."""
    status = subprocess.run([str(NODE), "status"], capture_output=True, text=True, check=False)
    return status.returncode == 0 and os.geteuid() == 0


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class GitRepo:
    """The DAG repository git-sync follows: a working copy here, pushed to the in-cluster
    repository (images/dags-git-server) by the scripts `make up` and `make sync` use."""

    work: Path
    kubeconfig: str
    namespace: str

    def script(self, name: str, *args: str) -> str:
        env = {**os.environ, "KUBECONFIG": self.kubeconfig}
        result = subprocess.run([str(ROOT / "scripts" / "dags-repo" / name), self.namespace, *args],
                                capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout + result.stderr

    def deploy(self) -> None:
        self.script("deploy.sh")

    def commit(self, files: dict[str, str], message: str) -> str:
        for name, text in files.items():
            (self.work / name).parent.mkdir(parents=True, exist_ok=True)
            (self.work / name).write_text(text)
        git = ["git", "-C", str(self.work), "-c", "user.name=e2e", "-c", "user.email=e2e@platform.invalid"]
        run(*git, "add", "-A")
        run(*git, "commit", "-qm", message)
        self.script("push.sh", str(self.work))
        return run(*git, "rev-parse", "HEAD").stdout.strip()


class PortForward:
    """`kubectl port-forward` to a Service: binds to one of its pods at start."""

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
                raise ConnectionError(f"port-forward to {service} ended: {self.process.stdout.read()}")
            time.sleep(0.3)
        self.close()
        raise ConnectionError(f"port-forward to {service} did not open")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class ForwardedService:
    """A Service on a local port that survives its pod being replaced: `reopen()` after a
    connection failure starts a new port-forward (to a pod that exists now)."""

    def __init__(self, release: Release, service: str, port: int):
        self.release, self.service, self.remote = release, service, port
        self.forward: PortForward | None = None

    @property
    def port(self) -> int:
        if self.forward is None or self.forward.process.poll() is not None:
            self.forward = PortForward(self.release.kubeconfig, self.release.namespace, self.service, self.remote)
        return self.forward.local

    def reopen(self) -> None:
        self.close()

    def close(self) -> None:
        if self.forward is not None:
            self.forward.close()
            self.forward = None

    def call(self, fn: Callable[[int], object], attempts: int = 5):
        """fn(local_port), retried over a fresh port-forward when the connection fails."""
        for attempt in range(attempts):
            try:
                return fn(self.port)
            except (ConnectionError, requests.ConnectionError, pymysql.err.OperationalError) as exc:
                if attempt == attempts - 1:
                    raise
                progress(f"{self.service}: {type(exc).__name__}; reopening the port-forward")
                self.reopen()
                time.sleep(2 + attempt * 2)
        raise AssertionError("unreachable")


@dataclass
class Release:
    kubeconfig: str
    namespace: str
    values: list[str]
    git: GitRepo
    services: list[ForwardedService] = field(default_factory=list)
    install_started: datetime | None = None

    def kubectl(self, *args: str, timeout: float = 120, check: bool = True, stdin: str | None = None,
                namespace: str | None = None) -> str:
        return run("kubectl", "--kubeconfig", self.kubeconfig, "-n", namespace or self.namespace, *args,
                   timeout=timeout, check=check, stdin=stdin).stdout

    def json(self, *args: str, namespace: str | None = None) -> dict:
        return json.loads(self.kubectl(*args, "-o", "json", namespace=namespace))

    def job_log_when_done(self, name: str, namespace: str | None = None, timeout: float = 600) -> str:
        """Wait for a Job to succeed; its log."""
        wait_until(f"job {name} complete",
                   lambda: (self.json("get", "job", name, namespace=namespace).get("status") or {}).get("succeeded"),
                   timeout, interval=2)
        return self.kubectl("logs", f"job/{name}", namespace=namespace)

    def helm(self, *args: str, timeout: float = 1200, check: bool = True) -> subprocess.CompletedProcess:
        return run("helm", "--kubeconfig", self.kubeconfig, "-n", self.namespace, *args, timeout=timeout, check=check)

    def install(self, *extra: str) -> float:
        self.install_started = self.install_started or utc_now()
        started = time.monotonic()
        self.helm("upgrade", "--install", RELEASE, str(ROOT / "chart"), "--create-namespace", "--wait",
                  "--timeout", "20m", *self.values, *extra)
        return time.monotonic() - started

    def raw(self, path: str) -> dict:
        """A GET of the Kubernetes API by path (kubectl get --raw)."""
        return json.loads(run("kubectl", "--kubeconfig", self.kubeconfig, "get", "--raw", path, timeout=60).stdout)

    def secret(self, name: str) -> dict[str, str]:
        data = self.json("get", "secret", name)["data"]
        return {k: base64.b64decode(v).decode() for k, v in data.items()}

    def pods(self, selector: str) -> list[dict]:
        return self.json("get", "pods", "-l", selector)["items"]

    def component_pods(self, component: str) -> list[dict]:
        return self.pods(f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component={component}")

    def settle(self, component: str, timeout: float = 300) -> None:
        """Wait until the component's pods are all ready and none is terminating."""
        def settled():
            pods = self.component_pods(component)
            return pods and all(not p["metadata"].get("deletionTimestamp") and ready(p) for p in pods)
        wait_until(f"{component} pods ready", settled, timeout)

    def admin_airflow(self) -> Airflow:
        """A client of the api-server as the admin, over a new port-forward (after an upgrade
        restarted the api-server, settle it first)."""
        password = self.secret(f"{FULLNAME}-airflow")["admin-password"]
        return Airflow(self.service(f"{FULLNAME}-api-server", 8080), password)

    def service(self, name: str, port: int) -> ForwardedService:
        svc = ForwardedService(self, name, port)
        self.services.append(svc)
        return svc

    def close(self) -> None:
        for svc in self.services:
            svc.close()


def ready(pod: dict) -> bool:
    conditions = {c["type"]: c["status"] for c in pod.get("status", {}).get("conditions", [])}
    return pod.get("status", {}).get("phase") == "Running" and conditions.get("Ready") == "True"


class Airflow:
    """The REST API v2 as the admin user, through a port-forward that is reopened when the
    api-server pod is replaced. `prefix` is the path of [api] base_url ("" at the root)."""

    def __init__(self, service: ForwardedService, password: str, username: str = "admin"):
        self.service, self.username, self.password = service, username, password
        self.prefix = ""
        self.session = requests.Session()
        self.login()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.service.port}{self.prefix}"

    def login(self) -> None:
        def token(port):
            resp = requests.post(f"http://127.0.0.1:{port}{self.prefix}/auth/token",
                                 json={"username": self.username, "password": self.password}, timeout=30)
            resp.raise_for_status()
            return resp.json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {self.service.call(token)}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        def send(port):
            resp = self.session.request(method, f"http://127.0.0.1:{port}{self.prefix}/api/v2{path}", timeout=30,
                                        **kwargs)
            if resp.status_code in (502, 503, 504):  # the api-server is restarting
                raise requests.ConnectionError(f"{method} {path}: HTTP {resp.status_code}")
            return resp
        resp = self.service.call(send, attempts=8)
        if resp.status_code == 401:
            self.login()
            resp = self.service.call(send)
        return resp

    def get(self, path: str, **params):
        resp = self.request("GET", path, params=params)
        assert resp.status_code == 200, f"GET {path}: {resp.status_code} {resp.text[:500]}"
        return resp.json()

    def call(self, method: str, path: str, body: dict):
        resp = self.request(method, path, json=body)
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text[:500]}"
        return resp.json()

    def wait_for_dag(self, dag_id: str, timeout: float) -> float:
        started = time.monotonic()
        wait_until(f"DAG {dag_id} visible", lambda: self.request("GET", f"/dags/{dag_id}").status_code == 200,
                   timeout)
        return time.monotonic() - started

    def trigger(self, dag_id: str, logical_date: str) -> str:
        self.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        return self.call("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": logical_date})["dag_run_id"]

    def run_dag(self, dag_id: str, logical_date: str, timeout: float = 900) -> tuple[str, float]:
        run_id = self.trigger(dag_id, logical_date)
        return run_id, self.wait_for_run(dag_id, run_id, timeout)

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict]:
        tis = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return {t["task_id"]: t for t in tis}

    def wait_for_task(self, dag_id: str, run_id: str, task_id: str, states: Iterable[str], timeout: float = 300):
        wanted = set(states)
        return wait_until(f"{task_id} of {run_id} in {sorted(wanted)}",
                          lambda: self.task_instances(dag_id, run_id)[task_id]["state"] in wanted
                          and self.task_instances(dag_id, run_id)[task_id], timeout, interval=1)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 900, expect: str = "success") -> float:
        started = time.monotonic()
        state = wait_until(f"{dag_id} run {run_id} finished",
                           lambda: (s := self.run_state(dag_id, run_id)) in ("success", "failed") and s, timeout,
                           interval=2)
        if state != expect:
            detail = {t: ti["state"] for t, ti in self.task_instances(dag_id, run_id).items()}
            raise AssertionError(f"{dag_id} run {run_id} ended {state!r}, expected {expect!r}: {detail}")
        return time.monotonic() - started

    def clear(self, dag_id: str, run_id: str) -> None:
        self.call("POST", f"/dags/{dag_id}/clearTaskInstances",
                  {"dag_run_id": run_id, "dry_run": False, "only_failed": False, "reset_dag_runs": True})

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        resp = self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
                            params={"full_content": "true"}, headers={"Accept": "application/json"})
        assert resp.status_code == 200, resp.text
        return resp.text

    def task_log_entries(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> list[dict]:
        return json.loads(self.task_log(dag_id, run_id, task_id, try_number))["content"]


# ------------------------------------------------------------------ health invariants

# A log line that reports a problem: Python's and structlog's levels, MySQL's and
# PostgreSQL's severities, gunicorn's, and any traceback.
ERROR_LINE = re.compile(r"\bERROR\b|\[error\s*\]|\blevel=error\b|\"level\": \"error\"|\bCRITICAL\b|\[critical\s*\]"
                        r"|\bFATAL\b|\bPANIC\b|Traceback \(most recent call last\)")
# Lines that match ERROR_LINE but are not a problem, each with its reason.
ALLOWED_ERROR_LINES: list[tuple[re.Pattern, str]] = [
    (re.compile(r'ERROR:  relation "log" does not exist'),
     "PostgreSQL, once per fresh database: `airflow db migrate` records its own CLI call in the "
     "`log` table before the first migration has created it (Airflow ignores the failure)"),
]


@dataclass
class Checkpoint:
    since: datetime
    restarts: dict[tuple[str, str], int]
    reason: str


class Health:
    """No container of the release's long-running pods restarts, none is waiting in a
    crash loop or unready, and none logs an error, since the last checkpoint. Fault tests
    check before they break something and set a new checkpoint once the platform has
    recovered: what a fault causes is counted apart, and checked by the fault's own test."""

    def __init__(self, release: Release, metadata_db: bool):
        self.release, self.metadata_db = release, metadata_db
        self.checkpoint_ = Checkpoint(release.install_started or utc_now(), {}, "install")

    def watched_pods(self) -> list[dict]:
        pods = [p for c in WATCHED_COMPONENTS for p in self.release.component_pods(c)]
        if self.metadata_db:
            pods += self.release.pods(METADATA_DB_SELECTOR)
        return [p for p in pods if not p["metadata"].get("deletionTimestamp")]

    @staticmethod
    def statuses(pod: dict) -> list[dict]:
        status = pod.get("status", {})
        return [*status.get("initContainerStatuses", []), *status.get("containerStatuses", [])]

    def checkpoint(self, reason: str) -> None:
        restarts = {(p["metadata"]["name"], s["name"]): s.get("restartCount", 0)
                    for p in self.watched_pods() for s in self.statuses(p)}
        self.checkpoint_ = Checkpoint(utc_now(), restarts, reason)
        progress(f"health checkpoint: {reason}")

    def problems(self) -> list[str]:
        found, since = [], self.checkpoint_.since.strftime("%Y-%m-%dT%H:%M:%SZ")
        pods = self.watched_pods()
        if not pods:
            return ["no watched pods found"]
        for pod in pods:
            name = pod["metadata"]["name"]
            if not ready(pod):
                found.append(f"{name}: not ready (phase {pod.get('status', {}).get('phase')})")
            for status in self.statuses(pod):
                container = status["name"]
                restarted = status.get("restartCount", 0) - self.checkpoint_.restarts.get((name, container), 0)
                if restarted > 0:
                    last = status.get("lastState", {}).get("terminated", {})
                    found.append(f"{name}/{container}: restarted {restarted}x (last: {last.get('reason')}, "
                                 f"exit {last.get('exitCode')})")
                waiting = status.get("state", {}).get("waiting", {}).get("reason")
                if waiting:
                    found.append(f"{name}/{container}: waiting ({waiting})")
                logs = self.release.kubectl("logs", name, "-c", container, f"--since-time={since}", check=False,
                                            timeout=60)
                bad = [line for line in logs.splitlines()
                       if ERROR_LINE.search(line) and not any(p.search(line) for p, _ in ALLOWED_ERROR_LINES)]
                found += [f"{name}/{container} logged: {line[:400]}" for line in bad[:5]]
        return found

    def assert_healthy(self, where: str) -> None:
        problems = self.problems()
        assert not problems, (f"{where}: unhealthy since the checkpoint '{self.checkpoint_.reason}' "
                              f"({self.checkpoint_.since:%H:%M:%S}):\n  " + "\n  ".join(problems))
        progress(f"healthy {where} (since '{self.checkpoint_.reason}')")


def all_ready(health: Health) -> bool:
    """Every watched component has a pod, not terminating, and all of them are ready."""
    pods = health.watched_pods()
    labels = [p["metadata"]["labels"] for p in pods]
    present = {lb.get("app.kubernetes.io/component") or lb.get("app.kubernetes.io/name") for lb in labels}
    wanted = {*WATCHED_COMPONENTS, *(["metadata-db"] if health.metadata_db else [])}
    return wanted <= present and all(ready(p) for p in pods)


def wait_all_ready(health: Health, timeout: float = 600) -> float:
    started = time.monotonic()
    wait_until("every component ready again", lambda: all_ready(health), timeout)
    return time.monotonic() - started


def assert_stable(health: Health, seconds: float = 20) -> None:
    """Recovered for good: over `seconds`, no container restarts and none waits in a crash loop."""
    def counts():
        return {(p["metadata"]["name"], s["name"]): s.get("restartCount", 0)
                for p in health.watched_pods() for s in Health.statuses(p)}
    before = counts()
    time.sleep(seconds)
    after = counts()
    changed = {k: (before.get(k), v) for k, v in after.items() if before.get(k, 0) != v}
    assert not changed, f"containers still restarting after recovery: {changed}"
    waiting = [f"{p['metadata']['name']}/{s['name']}: {s['state']['waiting'].get('reason')}"
               for p in health.watched_pods() for s in Health.statuses(p) if s.get("state", {}).get("waiting")]
    assert not waiting, f"containers waiting after recovery: {waiting}"


def pods_created_since(release: Release, prefix: str, since: datetime) -> set[str]:
    """Names of the pods whose name starts with `prefix` that were scheduled since `since` (from events)."""
    names = set()
    for event in release.json("get", "events")["items"]:
        obj, when = event["involvedObject"], event.get("firstTimestamp") or event.get("eventTime")
        if obj.get("kind") == "Pod" and event.get("reason") == "Scheduled" and obj["name"].startswith(prefix) \
                and when and datetime.fromisoformat(when.replace("Z", "+00:00")) >= since.replace(microsecond=0):
            names.add(obj["name"])
    return names
