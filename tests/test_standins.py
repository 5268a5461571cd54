"""The end-to-end stand-ins (tests/e2e/images/) behave like the upstream images where the
suite depends on it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

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
