"""The end-to-end stand-ins (tests/e2e/images/) behave like the upstream images where the
suite depends on it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GIT_SYNC = ROOT / "tests/e2e/images/git-sync/git-sync.sh"


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=cwd,
                   check=True, capture_output=True)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root for a PID namespace")
def test_git_sync_standin_stops_at_once_on_sigterm_as_pid_1(tmp_path):
    """Like git-sync itself: a pod deletion stops it at once. As a container's PID 1, bash
    ignores SIGTERM unless it traps it, and the pod would wait out its grace period."""
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    (work / "dag.py").write_text("# a DAG\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "dags", cwd=work)
    env = {**os.environ, "GITSYNC_REPO": str(work), "GITSYNC_REF": "main", "GITSYNC_ROOT": str(tmp_path / "root"),
           "GITSYNC_LINK": "repo", "GITSYNC_PERIOD": "60s"}
    # --pid --fork: the script runs as PID 1 of its own namespace, as in a container.
    proc = subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child", "bash", str(GIT_SYNC)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "root" / "repo" / "dag.py").exists():
            assert time.monotonic() < deadline and proc.poll() is None, "the first sync did not happen"
            time.sleep(0.1)
        inner = int(subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()[0])
        started = time.monotonic()
        os.kill(inner, signal.SIGTERM)
        while subprocess.run(["kill", "-0", str(inner)], capture_output=True).returncode == 0:
            assert time.monotonic() - started < 5, "git-sync stand-in ignored SIGTERM as PID 1"
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait(10)


STATSD_EXPORTER = ROOT / "tests/e2e/images/statsd-exporter/statsd_exporter.py"


def test_statsd_exporter_standin_maps_and_exposes_like_upstream(tmp_path):
    import socket

    import requests

    from tests.support.net import free_port

    # the chart's own mapping config, as the exporter Deployment mounts it
    rendered = subprocess.run(["helm", "template", "rel", str(ROOT / "chart"), "--show-only",
                               "templates/metrics/statsd-configmap.yaml"], capture_output=True, text=True, check=True)
    mapping = tmp_path / "mappings.yml"
    mapping.write_text(yaml.safe_load(rendered.stdout)["data"]["mappings.yml"])
    udp, web = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, str(STATSD_EXPORTER), f"--statsd.listen-udp=127.0.0.1:{udp}",
         f"--web.listen-address=127.0.0.1:{web}", f"--statsd.mapping-config={mapping}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def metrics() -> str:
            return requests.get(f"http://127.0.0.1:{web}/metrics", timeout=5).text

        deadline = time.monotonic() + 20
        while True:
            try:
                metrics()
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, proc.stdout.read() if proc.poll() is not None else "no answer"
                time.sleep(0.2)
        lines = [
            "airflow.scheduler_heartbeat:1|c",
            "airflow.scheduler_heartbeat:1|c|@0.5",  # sampled: counts 2
            "airflow.dagrun.duration.success.movielens_ranking:2500|ms",
            "airflow.dagrun.duration.success.movielens_ranking:1500|ms",
            "airflow.pool.open_slots.movielens:8|g\nairflow.pool.open_slots.movielens:-3|g",
            "airflow.ti.finish.movielens_ranking.load_rankings.success:1|c",
            "airflow.ti.finish:1|c",  # dropped by the chart's mapping
            "airflow.executor.running_tasks:2|g",
            "not a statsd line",
        ]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for line in lines:
                sock.sendto(line.encode(), ("127.0.0.1", udp))
        deadline = time.monotonic() + 10
        while 'airflow_pool_open_slots{pool="movielens"} 5.0' not in (text := metrics()):
            assert time.monotonic() < deadline, text
            time.sleep(0.2)
        assert "airflow_scheduler_heartbeat_total 3.0" in text
        assert 'airflow_dagrun_duration_count{dag_id="movielens_ranking",state="success"} 2.0' in text
        assert 'airflow_dagrun_duration_sum{dag_id="movielens_ranking",state="success"} 4.0' in text
        assert "# TYPE airflow_dagrun_duration summary" in text
        assert ('airflow_ti_finish_total{dag_id="movielens_ranking",state="success",task_id="load_rankings"} 1.0'
                in text)
        assert "airflow_executor_running_tasks 2.0" in text  # unmapped: dots become underscores
        assert "airflow_ti_finish_total 1.0" not in text and "airflow_ti_finish " not in text
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0]
    assert "line not understood: 'not a statsd line'" in out
