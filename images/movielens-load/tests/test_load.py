"""load-rankings against a real MySQL-compatible server."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from movielens_load.cli import ConnectionSettings, LoadError, connect, replace_day
from tests.support.mysql import MySQLDatabase, private_mariadb
from tests.support.net import free_port

LOAD = str(Path(sys.executable).with_name("load-rankings"))


def write_csv(path: Path, rows) -> Path:
    path.write_text("rank,movieId,avg_rating,num_ratings\n" + "".join(f"{r},{m},{a},{n}\n" for r, m, a, n in rows))
    return path


def load_command(db, csv_path: Path, day="2019-01-01", *extra, env=None) -> tuple[list[str], dict[str, str]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MYSQL_")}
    return ([LOAD, "--input-path", str(csv_path), "--ranking-date", day, "--retry-backoff", "0.01", *extra],
            {**base, **db.env(), **(env or {})})


def run_load(db, csv_path: Path, day="2019-01-01", *extra, env=None, timeout=120):
    argv, full_env = load_command(db, csv_path, day, *extra, env=env)
    return subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=timeout)


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
    # A port past 65535 used to be tried (and retried) as some other port.
    with pytest.raises(LoadError, match="MYSQL_PORT='70000' is not a port number"):
        ConnectionSettings.from_env({"MYSQL_USER": "u", "MYSQL_PASSWORD": "p", "MYSQL_PORT": "70000"})


# --- helpers for the failure tests below -------------------------------------------------------------

def new_database(server) -> MySQLDatabase:
    """A database and a user with ALL on it, on `server` (as the mysql_database fixture makes)."""
    suffix = secrets.token_hex(4)
    name, user, password = f"movielens_{suffix}", f"loader_{suffix}", secrets.token_urlsafe(12)
    conn = server.connect(autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
            cur.execute("CREATE USER %s@'127.0.0.1' IDENTIFIED BY %s", (user, password))
            cur.execute(f"GRANT ALL PRIVILEGES ON {name}.* TO %s@'127.0.0.1'", (user,))
    finally:
        conn.close()
    return MySQLDatabase(server, name, user, password)


# InnoDB serves information_schema.innodb_trx from a snapshot it refreshes only once nobody has
# read it for 100 ms: polled faster, the table never shows a transaction that began later.
INNODB_TRX_IDLE_S = 0.25


def lock_waiters(db) -> list[int]:
    """Connection ids of this database's transactions waiting for a row lock."""
    return [thread for (thread,) in db.query(
        "SELECT p.id FROM information_schema.innodb_trx t JOIN information_schema.processlist p "
        "ON p.id = t.trx_mysql_thread_id WHERE p.db = %s AND t.trx_state = 'LOCK WAIT'", (db.name,))]


def wait_until(condition, timeout=30.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(interval)
    return value


@contextlib.contextmanager
def background_load(db, csv_path, day, *extra):
    argv, env = load_command(db, csv_path, day, *extra)
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def wait_for_lock_wait(db, proc) -> int:
    """The loader's connection id once it waits for a row lock (fails if it exited first)."""
    waiting = wait_until(lambda: lock_waiters(db) or proc.poll() is not None, interval=INNODB_TRX_IDLE_S)
    assert proc.poll() is None, f"the load exited {proc.returncode} early: {proc.communicate()[1]}"
    assert waiting, "the load never waited for the row lock"
    return waiting[0]


# --- a server that stops answering ------------------------------------------------------------------

@pytest.fixture(scope="module")
def freezable_server(tmp_path_factory):
    """A MariaDB of this module's own: freezing it must not stall the server the other tests share."""
    with private_mariadb(tmp_path_factory.mktemp("freezable")) as server:
        yield server


@contextlib.contextmanager
def frozen(server):
    """SIGSTOP the server: it keeps accepting TCP connections (the kernel does) but answers nothing."""
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@GLOBAL.pid_file")
            (pid_file,) = cur.fetchone()
    finally:
        conn.close()
    pid = int(Path(pid_file).read_text())
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)  # always, or the fixture could not stop the server


def test_a_server_that_stops_answering_fails_within_the_query_timeout(freezable_server, tmp_path):
    db = new_database(freezable_server)
    before = [(1, 1, 4.0, 3), (2, 2, 3.0, 3)]
    assert run_load(db, write_csv(tmp_path / "old.csv", before)).returncode == 0
    new = write_csv(tmp_path / "new.csv", [(1, 9, 2.0, 5)])
    with frozen(freezable_server):
        started = time.monotonic()
        # Retrying a stalled server would take 6 x 3 s here: it must fail after one timeout.
        result = run_load(db, new, "2019-01-01", "--query-timeout", "3", "--max-retries", "5", timeout=30)
        elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert "stopped answering" in result.stderr and "--query-timeout" in result.stderr
    assert "retry" not in result.stderr and "Traceback" not in result.stderr
    assert 3 <= elapsed < 10
    assert day_rows(db) == before


def test_a_server_that_stops_answering_mid_load_keeps_the_previous_rows(freezable_server, tmp_path):
    db = new_database(freezable_server)
    before = [(1, 1, 4.0, 3), (2, 2, 3.0, 3)]
    assert run_load(db, write_csv(tmp_path / "old.csv", before)).returncode == 0
    new = write_csv(tmp_path / "new.csv", [(i, i, 3.0, 4) for i in range(1, 501)])
    blocker = db.connect()
    try:
        with blocker.cursor() as cur:
            # Holding the day's rows catches the load inside its transaction, its DELETE sent.
            cur.execute("BEGIN")
            cur.execute("SELECT * FROM movie_rankings WHERE ranking_date = '2019-01-01' FOR UPDATE")
        with background_load(db, new, "2019-01-01", "--query-timeout", "4") as proc:
            wait_for_lock_wait(db, proc)
            with frozen(freezable_server):
                started = time.monotonic()
                _, stderr = proc.communicate(timeout=30)
                elapsed = time.monotonic() - started
        blocker.rollback()
    finally:
        blocker.close()
    assert proc.returncode == 1, stderr
    assert "stopped answering" in stderr and "previous rows for 2019-01-01 kept" in stderr
    assert "Traceback" not in stderr
    assert elapsed < 10
    assert day_rows(db) == before


class CommitBlackhole:
    """A TCP proxy to MySQL that forwards everything until the client sends COMMIT, then swallows
    the server's replies: the server commits, the client never hears of it."""

    def __init__(self, host: str, port: int):
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.commit_sent = threading.Event()
        self.sockets: list[socket.socket] = []

    def _pump(self, src, dst, from_client):
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if from_client and b"\x03COMMIT" in data:
                    self.commit_sent.set()
                if not from_client and self.commit_sent.is_set():
                    continue
                dst.sendall(data)

    def _serve(self):
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.listener.accept()
                server = socket.create_connection(self.upstream)
                self.sockets += [client, server]
                for src, dst, from_client in ((client, server, True), (server, client, False)):
                    threading.Thread(target=self._pump, args=(src, dst, from_client), daemon=True).start()

    def __enter__(self):
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.listener.close()
        for sock in self.sockets:
            sock.close()


def test_a_commit_whose_reply_is_lost_says_the_outcome_is_unknown(mysql_database, tmp_path):
    assert run_load(mysql_database, write_csv(tmp_path / "old.csv", [(1, 1, 4.0, 3)])).returncode == 0
    new = [(1, 7, 3.5, 9)]
    with CommitBlackhole(mysql_database.server.host, mysql_database.server.port) as proxy:
        result = run_load(mysql_database, write_csv(tmp_path / "new.csv", new), "2019-01-01",
                          "--query-timeout", "2", env={"MYSQL_PORT": str(proxy.port)}, timeout=30)
        assert proxy.commit_sent.is_set()
    assert result.returncode == 1, result.stderr
    assert "may or may not have been committed" in result.stderr and "rerun" in result.stderr
    assert "previous rows" not in result.stderr
    # The server did commit: "previous rows kept" would have been false.
    assert day_rows(mysql_database) == new


def test_a_lost_connection_mid_load_is_named_and_keeps_the_previous_rows(mysql_database, tmp_path):
    before = [(1, 1, 4.0, 3)]
    assert run_load(mysql_database, write_csv(tmp_path / "old.csv", before)).returncode == 0
    blocker = mysql_database.connect()
    try:
        with blocker.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT * FROM movie_rankings WHERE ranking_date = '2019-01-01' FOR UPDATE")
        with background_load(mysql_database, write_csv(tmp_path / "new.csv", [(1, 2, 3.0, 3)]), "2019-01-01") as proc:
            loader = wait_for_lock_wait(mysql_database, proc)
            with blocker.cursor() as cur:
                cur.execute(f"KILL CONNECTION {int(loader)}")
            _, stderr = proc.communicate(timeout=60)
        blocker.rollback()
    finally:
        blocker.close()
    assert proc.returncode == 1, stderr
    # The ROLLBACK on a dead connection used to replace the cause with "(0, '')".
    assert "lost the connection" in stderr and "(0, '')" not in stderr
    assert "previous rows for 2019-01-01 kept" in stderr
    assert day_rows(mysql_database) == before


# --- concurrent loads and other writers -------------------------------------------------------------

@pytest.mark.parametrize("days_per_round", [1, 2], ids=["same-new-date", "two-new-dates"])
def test_concurrent_loads_of_new_dates_all_succeed_with_one_copy(mysql_database, tmp_path, days_per_round):
    loaders = 6
    for round_ in range(3):  # the first round also races to create the table
        days = [f"2020-{round_ + 1:02d}-{d + 1:02d}" for d in range(days_per_round)]
        jobs, copies = [], {day: [] for day in days}
        for i in range(loaders):
            # 3000 rows make the loads overlap: unserialised, every round deadlocked (measured).
            rows = [(r, 10_000 * i + r, 5 - r / 10_000, i + 1) for r in range(1, 3001)]
            day = days[i % days_per_round]
            jobs.append((write_csv(tmp_path / f"r{round_}-{i}.csv", rows), day))
            copies[day].append(rows)
        procs = []
        for csv_path, day in jobs:
            argv, env = load_command(mysql_database, csv_path, day)
            procs.append(subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                          text=True))
        results = [(proc.communicate(timeout=120)[1], proc.returncode) for proc in procs]
        failed = [stderr for stderr, code in results if code != 0]
        assert not failed, f"{len(failed)} of {loaders} loads failed in round {round_}: {failed[0]}"
        for day in days:
            # Exactly one loader's CSV, whole: not two copies, not a mix.
            assert day_rows(mysql_database, day) in copies[day]


def test_a_deadlock_with_another_writer_is_retried(mysql_database, tmp_path):
    assert run_load(mysql_database, write_csv(tmp_path / "seed.csv", [(1, 1, 4.0, 3)])).returncode == 0
    rows = [(1, 7, 3.5, 9), (2, 8, 3.0, 9)]
    insert = ("INSERT INTO movie_rankings (ranking_date, movie_rank, movie_id, avg_rating, num_ratings) "
              "VALUES (%s, %s, %s, 1.0, 1)")
    other = mysql_database.connect()
    try:
        with other.cursor() as cur:
            cur.execute("BEGIN")
            # 1000 rows make this transaction the heavier one: InnoDB picks the load as the victim.
            cur.executemany(insert, [("2000-01-01", i, i) for i in range(1, 1001)])
            cur.execute("DELETE FROM movie_rankings WHERE ranking_date = '2030-01-01'")  # gap lock past the end
        with background_load(mysql_database, write_csv(tmp_path / "new.csv", rows), "2030-01-01") as proc:
            wait_for_lock_wait(mysql_database, proc)  # the load's insert waits on our gap lock
            with other.cursor() as cur:
                cur.execute(insert, ("2030-01-01", 1, 1))  # ... and ours on the load's: a deadlock
            other.commit()
            _, stderr = proc.communicate(timeout=60)
    finally:
        other.close()
    assert proc.returncode == 0, stderr
    assert "Deadlock" in stderr and "retry 1/" in stderr
    assert day_rows(mysql_database, "2030-01-01") == rows


def test_a_lock_wait_timeout_is_retried_as_a_whole_transaction(mysql_database, tmp_path):
    assert run_load(mysql_database, write_csv(tmp_path / "old.csv", [(1, 1, 4.0, 3)])).returncode == 0
    new = [(1, 2, 3.0, 3), (2, 3, 2.0, 3)]
    blocker = mysql_database.connect()
    try:
        with blocker.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT * FROM movie_rankings WHERE ranking_date = '2019-01-01' FOR UPDATE")
        # --query-timeout 4 caps the load's lock waits at 2 s: holding the rows 3 s forces one 1205.
        with background_load(mysql_database, write_csv(tmp_path / "new.csv", new), "2019-01-01",
                             "--query-timeout", "4") as proc:
            wait_for_lock_wait(mysql_database, proc)
            time.sleep(3)
            blocker.rollback()
            _, stderr = proc.communicate(timeout=60)
    finally:
        blocker.close()
    assert proc.returncode == 0, stderr
    assert "Lock wait timeout" in stderr and "retry 1/" in stderr
    assert day_rows(mysql_database) == new


# --- privileges -------------------------------------------------------------------------------------

@pytest.fixture
def user_with(mysql_database):
    """user_with("SELECT, INSERT"): the environment of a new user holding just those rights on the database."""
    conn = mysql_database.server.connect(autocommit=True)
    users = []

    def make(privileges: str) -> dict[str, str]:
        user, password = f"dml_{secrets.token_hex(4)}", secrets.token_urlsafe(12)
        with conn.cursor() as cur:
            cur.execute("CREATE USER %s@'127.0.0.1' IDENTIFIED BY %s", (user, password))
            cur.execute(f"GRANT {privileges} ON {mysql_database.name}.* TO %s@'127.0.0.1'", (user,))
        users.append(user)
        return {"MYSQL_USER": user, "MYSQL_PASSWORD": password}

    yield make
    with conn.cursor() as cur:
        for user in users:
            cur.execute("DROP USER %s@'127.0.0.1'", (user,))
    conn.close()


@pytest.fixture
def dml_only_env(user_with):
    return user_with("SELECT, INSERT, UPDATE, DELETE")


def test_a_dml_only_user_loads_into_an_existing_table(mysql_database, dml_only_env, tmp_path, bulk_path):
    # The database's owner made the table (here by loading another day).
    assert run_load(mysql_database, write_csv(tmp_path / "a.csv", [(1, 1, 4.0, 3)]), "2019-01-02").returncode == 0
    rows = [(1, 20, 4.4, 4), (2, 10, 4.0, 3)]
    for _ in range(2):  # a new day, then a rerun replacing it
        result = run_load(mysql_database, write_csv(tmp_path / "b.csv", rows), env=dml_only_env)
        assert result.returncode == 0, result.stderr
        assert day_rows(mysql_database) == rows


def test_a_missing_table_without_create_privilege_says_who_must_create_it(mysql_database, dml_only_env, tmp_path):
    result = run_load(mysql_database, write_csv(tmp_path / "r.csv", [(1, 1, 4.0, 3)]), env=dml_only_env)
    assert result.returncode == 1
    assert f"{mysql_database.name}.movie_rankings does not exist" in result.stderr
    assert f"'{dml_only_env['MYSQL_USER']}'@'127.0.0.1' lacks the CREATE privilege" in result.stderr
    assert "GRANT CREATE" in result.stderr and "Traceback" not in result.stderr
    assert mysql_database.query("SHOW TABLES") == []


def test_a_missing_dml_privilege_is_named(mysql_database, user_with, tmp_path):
    before = [(1, 1, 4.0, 3)]
    assert run_load(mysql_database, write_csv(tmp_path / "a.csv", before)).returncode == 0
    result = run_load(mysql_database, write_csv(tmp_path / "b.csv", [(1, 2, 3.0, 3)]),
                      env=user_with("SELECT, INSERT"))
    assert result.returncode == 1
    assert "DELETE command denied" in result.stderr
    assert "needs SELECT, INSERT and DELETE" in result.stderr and "GRANT" in result.stderr
    assert day_rows(mysql_database) == before


# --- arguments and input ----------------------------------------------------------------------------

@pytest.mark.parametrize("option, value, allowed", [
    ("--max-retries", "-1", "a whole number from 0 to 100"),
    ("--max-retries", "x", "a whole number from 0 to 100"),
    ("--retry-backoff", "-1", "a number of seconds from 0 to 60"),
    ("--retry-backoff", "nan", "a number of seconds from 0 to 60"),
    ("--retry-backoff", "inf", "a number of seconds from 0 to 60"),
    ("--batch-size", "0", "a whole number from 1 to 1000000"),
    ("--batch-size", "-5", "a whole number from 1 to 1000000"),
    ("--query-timeout", "0", "a number of seconds from 2 to 3600"),
    ("--query-timeout", "nan", "a number of seconds from 2 to 3600"),
    ("--query-timeout", "inf", "a number of seconds from 2 to 3600"),
    ("--query-timeout", "-3", "a number of seconds from 2 to 3600"),
    ("--query-timeout", "1e400", "a number of seconds from 2 to 3600"),
    ("--lock-timeout", "-1", "a number of seconds from 0 to 3600"),
    ("--lock-timeout", "nan", "a number of seconds from 0 to 3600"),
    ("--lock-timeout", "inf", "a number of seconds from 0 to 3600"),
])
def test_bad_option_values_exit_2_naming_the_option(tmp_path, option, value, allowed):
    csv_path = write_csv(tmp_path / "r.csv", [(1, 1, 4.0, 3)])
    # Nothing listens on the port: before the fix these values crashed in the retry loop.
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MYSQL_")},
           "MYSQL_USER": "u", "MYSQL_PASSWORD": "p", "MYSQL_HOST": "127.0.0.1", "MYSQL_PORT": str(free_port())}
    result = subprocess.run([LOAD, "--input-path", str(csv_path), "--ranking-date", "2019-01-01", option, value],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"argument {option}: {value!r} is not {allowed}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_csv_that_is_not_utf8_is_named_and_touches_nothing(mysql_database, tmp_path):
    assert run_load(mysql_database, write_csv(tmp_path / "ok.csv", [(1, 1, 4.0, 3)])).returncode == 0
    (tmp_path / "r.csv").write_bytes(b"rank,movieId,avg_rating,num_ratings\n1,2,4.0,3\n2,3,4\xe9,3\n")
    result = run_load(mysql_database, tmp_path / "r.csv")
    assert result.returncode == 1
    assert "r.csv:3: not UTF-8 text" in result.stderr and "Traceback" not in result.stderr
    assert day_rows(mysql_database) == [(1, 1, 4.0, 3)]


def test_the_readme_shows_the_ddl_the_loader_runs():
    from movielens_load.cli import CREATE_TABLE

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert CREATE_TABLE.strip() + ";" in readme
