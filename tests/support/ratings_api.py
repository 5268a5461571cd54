"""The MovieLens API as a real gunicorn process on 127.0.0.1, over a store built for the test."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import requests

from movielens_api.prepare import synthetic
from movielens_api.store import RatingsStore
from tests.support.net import free_port

USER, PASSWORD = "airflow", "test-password"


@dataclass
class RunningAPI:
    url: str
    user: str
    password: str
    store: RatingsStore
    process: subprocess.Popen

    @property
    def auth(self) -> tuple[str, str]:
        return (self.user, self.password)


def start_api(store_dir: Path, *, workers: int = 1, max_limit: int | None = None,
              log_path: Path | None = None) -> tuple[str, subprocess.Popen]:
    """Start `movielens-api` (gunicorn) on a free loopback port; returns (url, process)."""
    port = free_port()
    env = {**os.environ, "API_USER": USER, "API_PASSWORD": PASSWORD, "RATINGS_DIR": str(store_dir),
           "API_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers), "API_ACCESS_LOG": ""}
    if max_limit:
        env["API_MAX_LIMIT"] = str(max_limit)
    exe = shutil.which("movielens-api", path=os.path.dirname(sys.executable)) or "movielens-api"
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen([exe], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return url, proc
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_api(proc)
            raise RuntimeError(f"movielens-api did not start (exit {proc.returncode}); see {log_path}")
        time.sleep(0.1)


def stop_api(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def ratings_api(tmp_path_factory):
    """5,000 seeded ratings over the first week of 2019, served by gunicorn."""
    base = tmp_path_factory.mktemp("ratings-api")
    store = synthetic(5_000, date(2019, 1, 1), date(2019, 1, 8), seed=7)
    store.save(base / "store")
    url, proc = start_api(base / "store", workers=2, log_path=base / "api.log")
    try:
        yield RunningAPI(url, USER, PASSWORD, RatingsStore.load(base / "store"), proc)
    finally:
        stop_api(proc)
