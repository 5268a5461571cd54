"""The chart's housekeeping programs, run for real: the pod cleanup's choice of pods
(chart/files/cleanup-pods.py, on kubernetes client models) and the log groomer
(chart/files/groom-logs.sh, with bash on real files)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kubernetes.client import models as k8s

FILES = Path(__file__).resolve().parents[1] / "chart" / "files"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def cleanup():
    spec = importlib.util.spec_from_file_location("cleanup_pods", FILES / "cleanup-pods.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pod(phase: str, created_hours_ago: float, finished_hours_ago: list[float] | None = None) -> k8s.V1Pod:
    statuses = [
        k8s.V1ContainerStatus(name=f"c{i}", image="x", image_id="", ready=False, restart_count=0,
                              state=k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(
                                  exit_code=1, finished_at=NOW - timedelta(hours=h))))
        for i, h in enumerate(finished_hours_ago or [])
    ]
    return k8s.V1Pod(metadata=k8s.V1ObjectMeta(name="p", creation_timestamp=NOW - timedelta(hours=created_hours_ago)),
                     status=k8s.V1PodStatus(phase=phase, container_statuses=statuses or None))


def test_a_failed_pod_goes_once_its_retention_has_passed_since_it_ended(cleanup):
    day = 24 * 3600
    # created two days ago, but its last container ended 1 h ago: kept
    assert not cleanup.to_delete(pod("Failed", 48, [30, 1]), {"Failed"}, day, NOW)
    assert cleanup.to_delete(pod("Failed", 48, [30, 25]), {"Failed"}, day, NOW)
    # no container ever ran (an image that never pulled): its creation counts
    assert cleanup.to_delete(pod("Failed", 25), {"Failed"}, day, NOW)
    assert not cleanup.to_delete(pod("Failed", 23), {"Failed"}, day, NOW)


def test_only_the_phases_asked_for(cleanup):
    assert not cleanup.to_delete(pod("Running", 100), {"Failed"}, 0, NOW)
    assert not cleanup.to_delete(pod("Succeeded", 100, [99]), {"Failed"}, 0, NOW)
    # the uninstall hook: every phase, any age
    for phase in ("Pending", "Running", "Succeeded", "Failed"):
        assert cleanup.to_delete(pod(phase, 0), set(), 0, NOW)


def age(path: Path, days: float) -> None:
    then = time.time() - days * 86400
    os.utime(path, (then, then))


def groom(logs: Path, retention_days: int = 15) -> subprocess.CompletedProcess:
    env = {**os.environ, "LOGS_DIR": str(logs), "RETENTION_DAYS": str(retention_days), "INTERVAL_MINUTES": "1",
           "ONCE": "1"}
    return subprocess.run(["bash", str(FILES / "groom-logs.sh")], env=env, capture_output=True, text=True,
                          timeout=30, check=True)


def test_the_groomer_deletes_old_logs_and_the_folders_they_leave(tmp_path):
    old_run = tmp_path / "dag_id=movielens_ranking" / "run_id=scheduled__2019-01-01"
    new_run = tmp_path / "dag_id=movielens_ranking" / "run_id=scheduled__2019-03-01"
    fresh_dir = tmp_path / "dag_id=movielens_ranking" / "run_id=manual__now"
    for folder in (old_run, new_run, fresh_dir):
        folder.mkdir(parents=True)
    (old_run / "attempt=1.log").write_text("old\n")
    (new_run / "attempt=1.log").write_text("new\n")
    (new_run / "attempt=0.log").write_text("sixteen days\n")
    age(old_run / "attempt=1.log", 20)
    age(new_run / "attempt=0.log", 16)
    age(new_run / "attempt=1.log", 14)
    age(old_run, 20)

    result = groom(tmp_path)

    assert "removed 2 files older than 15 days" in result.stdout
    assert not (old_run / "attempt=1.log").exists() and not (new_run / "attempt=0.log").exists()
    assert (new_run / "attempt=1.log").read_text() == "new\n"
    # a folder a worker has just made, empty, stays; one emptied now goes a retention later
    assert fresh_dir.is_dir() and old_run.is_dir()
    age(old_run, 16)
    groom(tmp_path)
    assert not old_run.exists() and fresh_dir.is_dir()
    assert tmp_path.is_dir()  # never the logs folder itself


def test_the_groomer_refuses_to_start_without_its_settings(tmp_path):
    result = subprocess.run(["bash", str(FILES / "groom-logs.sh")], env={"PATH": os.environ["PATH"], "ONCE": "1"},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "LOGS_DIR" in result.stderr
