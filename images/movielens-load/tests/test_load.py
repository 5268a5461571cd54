"""load-rankings against a real MySQL-compatible server."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from movielens_load.cli import ConnectionSettings, LoadError, connect, replace_day

LOAD = str(Path(sys.executable).with_name("load-rankings"))


def write_csv(path: Path, rows) -> Path:
    path.write_text("rank,movieId,avg_rating,num_ratings\n" + "".join(f"{r},{m},{a},{n}\n" for r, m, a, n in rows))
    return path


def run_load(db, csv_path: Path, day="2019-01-01", *extra, env=None):
    base = {k: v for k, v in os.environ.items() if not k.startswith("MYSQL_")}
    return subprocess.run([LOAD, "--input-path", str(csv_path), "--ranking-date", day, "--retry-backoff", "0.01",
                           *extra], capture_output=True, text=True, env={**base, **db.env(), **(env or {})},
                          timeout=120)


def day_rows(db, day="2019-01-01"):
    return db.query("SELECT movie_rank, movie_id, avg_rating, num_ratings FROM movie_rankings "
                    "WHERE ranking_date = %s ORDER BY movie_rank", (day,))


def test_creates_the_table_and_loads_the_day(mysql_database, tmp_path):
    csv_path = write_csv(tmp_path / "r.csv", [(1, 20, 4.4, 4), (2, 10, 4.0, 3)])
    result = run_load(mysql_database, csv_path)
    assert result.returncode == 0, result.stderr
    assert day_rows(mysql_database) == [(1, 20, 4.4, 4), (2, 10, 4.0, 3)]
    assert "loaded 2 rankings for 2019-01-01" in result.stderr


def test_rerun_replaces_the_day_and_leaves_other_days(mysql_database, tmp_path):
    first = write_csv(tmp_path / "a.csv", [(i, 100 + i, 5 - i / 1000, 3) for i in range(1, 1001)])
    assert run_load(mysql_database, first, "2019-01-01").returncode == 0
    assert run_load(mysql_database, first, "2019-01-02").returncode == 0
    assert run_load(mysql_database, first, "2019-01-01").returncode == 0
    assert len(day_rows(mysql_database)) == 1000
    second = write_csv(tmp_path / "b.csv", [(1, 7, 3.5, 9)])
    assert run_load(mysql_database, second, "2019-01-01").returncode == 0
    assert day_rows(mysql_database) == [(1, 7, 3.5, 9)]
    assert len(day_rows(mysql_database, "2019-01-02")) == 1000


@pytest.fixture(params=["load-data-local", "multi-row-insert"])
def bulk_path(request, mysql_server):
    """Run a test over both bulk paths: the server allowing LOAD DATA LOCAL, or refusing it."""
    conn = mysql_server.connect(autocommit=True)
    with conn.cursor() as cur:
        cur.execute("SELECT @@GLOBAL.local_infile")
        (before,) = cur.fetchone()
        cur.execute("SET GLOBAL local_infile = %s", (int(request.param == "load-data-local"),))
    yield request.param
    with conn.cursor() as cur:
        cur.execute("SET GLOBAL local_infile = %s", (before,))
    conn.close()


def test_both_bulk_paths_load_the_same_rows(mysql_database, tmp_path, bulk_path):
    rows = [(i, 10 * i, 5 - i / 7, i % 9 + 3) for i in range(1, 12_001)]
    result = run_load(mysql_database, write_csv(tmp_path / "r.csv", rows), "2019-01-01", "--batch-size", "1000")
    assert result.returncode == 0, result.stderr
    assert ("multi-row INSERTs" in result.stderr) == (bulk_path == "multi-row-insert")
    assert day_rows(mysql_database) == [(r, m, a, n) for r, m, a, n in rows]


def test_a_failure_mid_load_keeps_the_previous_rows(mysql_database, tmp_path, bulk_path):
    before = write_csv(tmp_path / "old.csv", [(1, 1, 4.0, 3), (2, 2, 3.0, 3)])
    assert run_load(mysql_database, before).returncode == 0
    # Row 3500 holds a count the column cannot store: MySQL rejects it after three batches went in.
    rows = [(i, i, 4.0, 3) for i in range(1, 5001)]
    rows[3499] = (3500, 3500, 4.0, 99_999_999_999)
    bad = write_csv(tmp_path / "new.csv", rows)
    result = run_load(mysql_database, bad, "2019-01-01", "--batch-size", "1000")
    assert result.returncode == 1
    assert "previous rows for 2019-01-01 kept" in result.stderr and "Out of range" in result.stderr
    assert day_rows(mysql_database) == [(1, 1, 4.0, 3), (2, 2, 3.0, 3)]


def test_an_exception_between_batches_rolls_back(mysql_database):
    conn = connect(ConnectionSettings(**{k.lower(): v for k, v in {
        "host": mysql_database.server.host, "port": mysql_database.server.port, "user": mysql_database.user,
        "password": mysql_database.password, "database": mysql_database.name}.items()}))
    try:
        replace_day(conn, date(2019, 1, 1), [(1, 5, 4.0, 3)])

        def rows_then_crash():
            for i in range(1, 2500):
                yield (i, 1000 + i, 3.0, 3)
            raise RuntimeError("worker killed")

        with pytest.raises(RuntimeError):
            replace_day(conn, date(2019, 1, 1), rows_then_crash(), batch_size=500)
    finally:
        conn.close()
    assert day_rows(mysql_database) == [(1, 5, 4.0, 3)]


@pytest.mark.parametrize("content, message", [
    ("movie,score\n1,2\n", "r.csv:1: header is ['movie', 'score']"),
    ("rank,movieId,avg_rating,num_ratings\n1,2,4.0,3\n2,x,4.0,3\n", "r.csv:3: bad row ['2', 'x', '4.0', '3']"),
    ("rank,movieId,avg_rating,num_ratings\n1,2,4.0\n", "r.csv:2: bad row"),
    ("rank,movieId,avg_rating,num_ratings\n1,2,4.0,3\n2,2,3.0,3\n", "r.csv:3: bad row ['2', '2', '3.0', '3']: rank or"),
    ("rank,movieId,avg_rating,num_ratings\n1,2,nan,3\n", "avg_rating is not a finite number"),
])
def test_bad_csv_names_file_and_line_and_touches_nothing(mysql_database, tmp_path, content, message):
    assert run_load(mysql_database, write_csv(tmp_path / "ok.csv", [(1, 1, 4.0, 3)])).returncode == 0
    (tmp_path / "r.csv").write_text(content)
    result = run_load(mysql_database, tmp_path / "r.csv")
    assert result.returncode == 1
    assert message in result.stderr
    assert day_rows(mysql_database) == [(1, 1, 4.0, 3)]


def test_header_only_csv_empties_the_day(mysql_database, tmp_path):
    assert run_load(mysql_database, write_csv(tmp_path / "a.csv", [(1, 1, 4.0, 3)])).returncode == 0
    result = run_load(mysql_database, write_csv(tmp_path / "b.csv", []))
    assert result.returncode == 0, result.stderr
    assert day_rows(mysql_database) == []


def test_wrong_password_fails_at_once_without_leaking_it(mysql_database, tmp_path):
    csv_path = write_csv(tmp_path / "r.csv", [(1, 1, 4.0, 3)])
    result = run_load(mysql_database, csv_path, env={"MYSQL_PASSWORD": "not-the-password"})
    assert result.returncode == 1
    assert "MySQL refused the connection" in result.stderr and "retry" not in result.stderr
    assert "not-the-password" not in result.stderr


def test_unreachable_server_is_retried_a_bounded_number_of_times(mysql_database, tmp_path):
    from tests.support.net import free_port

    csv_path = write_csv(tmp_path / "r.csv", [(1, 1, 4.0, 3)])
    port = str(free_port())
    result = run_load(mysql_database, csv_path, "2019-01-01", "--max-retries", "2", env={"MYSQL_PORT": port})
    assert result.returncode == 1
    assert result.stderr.count("retry") == 2
    assert "after 2 retries" in result.stderr and "MYSQL_HOST/MYSQL_PORT" in result.stderr


def test_missing_settings_are_named(tmp_path):
    with pytest.raises(LoadError, match="MYSQL_USER and MYSQL_PASSWORD not set"):
        ConnectionSettings.from_env({})
    with pytest.raises(LoadError, match="MYSQL_PORT='x' is not a port number"):
        ConnectionSettings.from_env({"MYSQL_USER": "u", "MYSQL_PASSWORD": "p", "MYSQL_PORT": "x"})
