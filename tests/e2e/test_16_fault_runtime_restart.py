"""Fault: the node's kubelet and containerd restart (scripts/local-cluster/cluster.sh
restart-runtime). Every component comes back and the next run succeeds."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.e2e.cluster import DAG_ID, NODE, assert_stable, on_local_node, progress, wait_all_ready
from tests.e2e.conftest import record
from tests.e2e.rankings import assert_day_is_right, logical_date_of

DAY = "2019-02-07"


def test_kubelet_and_containerd_restart(release, airflow, rankings_db, ratings_api, health):
    if not on_local_node():
        pytest.skip("needs the local node of scripts/local-cluster, as root")
    health.assert_healthy("before restarting kubelet and containerd")
    started = time.monotonic()
    result = subprocess.run([str(NODE), "restart-runtime"], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    progress(f"kubelet and containerd restarted in {time.monotonic() - started:.0f} s")
    wait_all_ready(health, timeout=600)
    back = time.monotonic() - started
    _, seconds = airflow.run_dag(DAG_ID, logical_date_of(DAY), timeout=900)
    assert_day_is_right(rankings_db, ratings_api, DAY)
    assert_stable(health)
    record("kubelet and containerd restarted", f"all components ready after {back:.0f} s; next run succeeded "
           f"in {seconds:.0f} s", back)
    health.checkpoint("runtime restarted")
