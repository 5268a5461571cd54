"""A release's Airflow REST API v2 from this machine, found through the chart's labels.

The api-server Service and Deployment are the ones labelled with the release and the
component `api-server`; the login is the one that Deployment's annotation
`movielens-platform/admin-login` names (the first user and the Secret of its password, with
either auth manager), so no name is rebuilt here and nameOverride or a long release name
change nothing. The API is
reached through `kubectl port-forward` on a free local port, closed on exit.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import time

import requests

ADMIN_LOGIN = "movielens-platform/admin-login"


class ReleaseNotFound(RuntimeError):
    pass


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the caller binds it next)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PlatformApi:
    def __init__(self, namespace: str, release: str, kubeconfig: str | None = None):
        self.namespace, self.release = namespace, release
        self.kubectl_args = ["kubectl", *(["--kubeconfig", kubeconfig] if kubeconfig else []), "-n", namespace]
        self.forward: subprocess.Popen | None = None
        self.session = requests.Session()
        self.base = ""

    # ------------------------------------------------------------------ kubectl
    def kubectl_json(self, *args: str, namespace: str | None = None) -> dict:
        argv = list(self.kubectl_args)
        if namespace:
            argv[-1] = namespace
        result = subprocess.run([*argv, *args, "-o", "json"], capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise ReleaseNotFound(f"kubectl {' '.join(args)} in {argv[-1]}: {result.stderr.strip()}")
        return json.loads(result.stdout)

    def component(self, kind: str, component: str) -> dict:
        selector = f"app.kubernetes.io/instance={self.release},app.kubernetes.io/component={component}"
        items = self.kubectl_json("get", kind, "-l", selector)["items"]
        if not items:
            raise ReleaseNotFound(f"no {kind} of release {self.release!r} with component {component} in namespace "
                                  f"{self.namespace!r}: check --release and --namespace (helm list -A)")
        return items[0]

    def secret_value(self, name: str, key: str) -> str:
        return base64.b64decode(self.kubectl_json("get", "secret", name)["data"][key]).decode()

    def admin_login(self) -> tuple[str, str]:
        annotations = self.component("deployment", "api-server")["metadata"].get("annotations") or {}
        if ADMIN_LOGIN not in annotations:
            raise ReleaseNotFound(f"the api-server Deployment has no {ADMIN_LOGIN} annotation: is the release "
                                  "from an older chart? helm upgrade it with this chart")
        login = json.loads(annotations[ADMIN_LOGIN])
        return login["username"], self.secret_value(login["secret"], login["key"])

    def task_namespace(self) -> str:
        data = self.component("configmap", "pipeline").get("data", {})
        return data.get("MOVIELENS_NAMESPACE") or self.namespace

    def events(self) -> list[dict]:
        namespaces = dict.fromkeys([self.namespace, self.task_namespace()])
        return [e for ns in namespaces for e in self.kubectl_json("get", "events", namespace=ns)["items"]]

    # ------------------------------------------------------------------ REST API
    def __enter__(self) -> PlatformApi:
        service = self.component("service", "api-server")
        port = service["spec"]["ports"][0]["port"]
        local = free_port()
        self.forward = subprocess.Popen(
            [*self.kubectl_args, "port-forward", f"svc/{service['metadata']['name']}", f"{local}:{port}",
             "--address", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", local)) == 0:
                    break
            if self.forward.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise ReleaseNotFound(f"kubectl port-forward to {service['metadata']['name']} did not open")
            time.sleep(0.2)
        self.base = f"http://127.0.0.1:{local}"
        username, password = self.admin_login()
        resp = self.session.post(f"{self.base}/auth/token", json={"username": username, "password": password},
                                 timeout=30)
        resp.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {resp.json()['access_token']}"
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.forward and self.forward.poll() is None:
            self.forward.terminate()
            self.forward.wait(10)

    def get(self, path: str, **params) -> dict:
        resp = self.session.get(f"{self.base}/api/v2{path}", params=params, timeout=60)
        resp.raise_for_status()
        return resp.json()

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> list[dict]:
        resp = self.session.get(
            f"{self.base}/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            params={"full_content": "true"}, headers={"Accept": "application/json"}, timeout=60)
        resp.raise_for_status()
        return resp.json()["content"]

    def latest_run(self, dag_id: str) -> str:
        runs = self.get(f"/dags/{dag_id}/dagRuns", order_by="-run_after", limit=1)["dag_runs"]
        if not runs:
            raise ReleaseNotFound(f"DAG {dag_id} has no runs yet")
        return runs[0]["dag_run_id"]
