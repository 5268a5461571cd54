"""The components' wait for the migration Job (chart/files/wait-for-migrations.py), run as
the chart runs it (`python -c`), against real metadata databases made by this environment's
Airflow: it agrees with Airflow's own migration heads, passes a migrated database at once,
and waits, then fails saying what to look at, on one that is not."""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.airflow_db import FAB_AUTH_MANAGER, migrate

PATH = Path(__file__).resolve().parents[1] / "chart" / "files" / "wait-for-migrations.py"
SCRIPT = PATH.read_text()


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    return migrate(tmp_path_factory.mktemp("airflow-home"), AIRFLOW__CORE__AUTH_MANAGER=FAB_AUTH_MANAGER)


def wait(database: Path, seconds: int = 2, fab: bool = True) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "FAB": "true" if fab else "false", "MIGRATION_WAIT_SECONDS": str(seconds),
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{database}"}
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)


def test_its_heads_are_airflows_own():
    from airflow.providers.fab.auth_manager.models.db import FABDBManager
    from airflow.utils.db import _get_alembic_config, _get_script_object

    spec = importlib.util.spec_from_file_location("wait_for_migrations", PATH)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)  # its __main__ guard keeps it from waiting
    assert script.wanted_heads(True) == {
        "alembic_version": set(_get_script_object(_get_alembic_config()).get_heads()),
        "alembic_version_fab": set(FABDBManager(session=None).get_script_object().get_heads()),
    }


def test_a_migrated_database_passes_at_once(migrated):
    result = wait(migrated)
    assert result.returncode == 0, result.stderr
    assert "the metadata database is migrated" in result.stdout


def test_an_older_or_empty_database_waits_then_fails_naming_the_job(migrated, tmp_path):
    older = tmp_path / "older.db"
    older.write_bytes(migrated.read_bytes())
    with sqlite3.connect(older) as db:
        db.execute("UPDATE alembic_version SET version_num = '0000older'")
    started = time.monotonic()
    result = wait(older, seconds=2)
    assert result.returncode == 1 and time.monotonic() - started >= 2
    assert "not migrated to this image's Airflow within 2 s" in result.stderr
    assert "0000older" in result.stderr and "kubectl logs job/<release>-migrate-<id>" in result.stderr
    empty = wait(tmp_path / "empty.db", seconds=1)
    assert empty.returncode == 1 and "heads in the database {'alembic_version': set()" in empty.stderr
    # without FAB, FAB's version table is not asked for; with FAB, it is
    nofab = tmp_path / "nofab.db"
    nofab.write_bytes(migrated.read_bytes())
    with sqlite3.connect(nofab) as db:
        db.execute("DROP TABLE alembic_version_fab")
    assert wait(nofab, fab=False).returncode == 0
    assert wait(nofab, seconds=1, fab=True).returncode == 1
