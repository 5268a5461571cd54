"""A real Airflow metadata database for the tests of the chart's scripts: SQLite under a
temporary AIRFLOW_HOME, made by this environment's `airflow db migrate`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of an Airflow command on that home's database."""
    return {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db", **extra}


def migrate(home: Path, **extra: str) -> Path:
    """`airflow db migrate` into the home's database; its path."""
    result = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=airflow_env(home, **extra),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return home / "airflow.db"
