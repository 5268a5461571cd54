"""chart/files/sitecustomize.py, as the chart installs it (PYTHONPATH names its directory), in
the Airflow of the development environment: a forked helper does not copy the heap of the
Airflow process it came from, and the parent's garbage collection is unchanged."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SITECUSTOMIZE = Path(__file__).resolve().parents[1] / "chart" / "files" / "sitecustomize.py"

# Imports what the scheduler has loaded, forks three helpers that live like the executor's
# (they allocate and collect), and reports each one's private memory and freeze counts.
PROGRAM = r"""
import gc, json, multiprocessing, os, time
import airflow.models  # noqa: F401
from airflow.providers.cncf.kubernetes.executors import kubernetes_executor  # noqa: F401
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator  # noqa: F401

def private_mib(pid):
    for line in open(f"/proc/{pid}/smaps_rollup"):
        if line.startswith("Private_Dirty:"):
            return int(line.split()[1]) / 1024

def helper(queue):
    queue.put(gc.get_freeze_count())
    for _ in range(3):
        garbage = [{"n": i} for i in range(20000)]
        del garbage
        gc.collect()
    time.sleep(60)

queue = multiprocessing.Queue()
helpers = [multiprocessing.Process(target=helper, args=(queue,)) for _ in range(3)]
for h in helpers:
    h.start()
frozen_in_children = [queue.get(timeout=60) for _ in helpers]
time.sleep(1)
print(json.dumps({"parent_frozen": gc.get_freeze_count(), "children_frozen": frozen_in_children,
                  "children_private_mib": [private_mib(h.pid) for h in helpers]}))
for h in helpers:
    h.terminate()
"""


def run(tmp_path: Path, with_hook: bool) -> dict:
    startup = tmp_path / ("startup" if with_hook else "empty")
    startup.mkdir()
    if with_hook:
        shutil.copy(SITECUSTOMIZE, startup / "sitecustomize.py")
    result = subprocess.run([sys.executable, "-c", PROGRAM], env={"PYTHONPATH": str(startup), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="needs Linux's /proc")
def test_forked_helpers_keep_sharing_the_parents_memory(tmp_path):
    plain, frozen = run(tmp_path, with_hook=False), run(tmp_path, with_hook=True)
    # the children's collections skip what they inherited; the parent collects as before
    assert min(frozen["children_frozen"]) > 100_000
    assert frozen["parent_frozen"] == 0
    assert plain["children_frozen"] == [0, 0, 0]
    # each helper copied tens of MiB of the parent's heap without the hook; with it, a fraction
    assert sum(frozen["children_private_mib"]) < 0.4 * sum(plain["children_private_mib"]), (plain, frozen)
