"""The dag-processor's and triggerer's liveness check (chart/files/check-job-heartbeat.py),
run as the chart's probe runs it, against a real metadata database made by this
environment's Airflow: for each state of the job table it answers as `airflow jobs check
--job-type ... --local` does, and says why when it fails."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.airflow_db import airflow_env, migrate

SCRIPT = (Path(__file__).resolve().parents[1] / "chart" / "files" / "check-job-heartbeat.py").read_text()


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("airflow-home")
    migrate(home)
    return home


def this_host() -> str:
    from airflow.utils.net import getfqdn

    return getfqdn()


def set_jobs(home: Path, *jobs: tuple[str, str, str, float]) -> None:
    """(job_type, state, hostname, heartbeat seconds ago), written as Airflow writes them."""
    now = datetime.now(UTC)
    with sqlite3.connect(home / "airflow.db") as db:
        db.execute("DELETE FROM job")
        for job_type, state, hostname, ago in jobs:
            beat = (now - timedelta(seconds=ago)).strftime("%Y-%m-%d %H:%M:%S.%f")
            db.execute("INSERT INTO job (job_type, state, hostname, latest_heartbeat, start_date) "
                       "VALUES (?, ?, ?, ?, ?)", (job_type, state, hostname, beat, beat))


CASES = {
    "alive": [("TriggererJob", "running", "HERE", 3)],
    "heartbeat too old": [("TriggererJob", "running", "HERE", 120)],
    "another host's": [("TriggererJob", "running", "elsewhere", 3)],
    "not running": [("TriggererJob", "success", "HERE", 3)],
    "another job type": [("DagProcessorJob", "running", "HERE", 3)],
    "the latest of two": [("TriggererJob", "running", "HERE", 120), ("TriggererJob", "running", "HERE", 2)],
    "none": [],
}


@pytest.mark.parametrize("case", CASES)
def test_it_answers_as_airflow_jobs_check_does(home, case):
    set_jobs(home, *[(t, s, this_host() if h == "HERE" else h, ago) for t, s, h, ago in CASES[case]])
    airflow = subprocess.run([sys.executable, "-m", "airflow", "jobs", "check", "--job-type", "TriggererJob",
                              "--local"], env=airflow_env(home), capture_output=True, text=True, timeout=300)
    ours = subprocess.run([sys.executable, "-c", SCRIPT, "TriggererJob", "30"], env=airflow_env(home),
                          capture_output=True, text=True, timeout=60)
    assert (ours.returncode == 0) == (airflow.returncode == 0), (case, ours, airflow)
    assert (ours.returncode == 0) == (case in ("alive", "the latest of two")), case
    if case == "heartbeat too old":
        assert re.search(r"the TriggererJob's last heartbeat is 1[2-9]\d s old \(threshold 30 s\)", ours.stderr)
    elif ours.returncode:
        assert f"no running TriggererJob of this host ({this_host()})" in ours.stderr
