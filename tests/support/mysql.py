"""A real MySQL-compatible server for the tests.

MYSQL_TEST_HOST/MYSQL_TEST_PORT/MYSQL_TEST_USER/MYSQL_TEST_PASSWORD name a server
to use (it needs CREATE DATABASE and CREATE USER rights). Without them, a private
MariaDB (Debian's mariadb-server, which `make test` installs) is started on a free
loopback port in a temp data directory and stopped at the end of the session.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest

from tests.support.net import free_port


@dataclass(frozen=True)
class MySQLServer:
    host: str
    port: int
    user: str
    password: str

    def connect(self, database: str | None = None, **kwargs):
        return pymysql.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               database=database, charset="utf8mb4", **kwargs)


@dataclass(frozen=True)
class MySQLDatabase:
    server: MySQLServer
    name: str
    user: str
    password: str

    def env(self) -> dict[str, str]:
        """The environment load-rankings reads, for a least-privilege user of this database."""
        return {"MYSQL_HOST": self.server.host, "MYSQL_PORT": str(self.server.port),
                "MYSQL_USER": self.user, "MYSQL_PASSWORD": self.password, "MYSQL_DATABASE": self.name}

    def connect(self, **kwargs):
        return self.server.connect(self.name, **kwargs)

    def query(self, sql: str, args=None) -> list[tuple]:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return list(cur.fetchall())
        finally:
            conn.close()


def _find(*names: str) -> str:
    for name in names:
        path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
        if path:
            return path
    raise RuntimeError(f"none of {', '.join(names)} found: install Debian's mariadb-server (make test does) "
                "or point MYSQL_TEST_HOST/PORT/USER/PASSWORD at a MySQL server")


@contextlib.contextmanager
def private_mariadb(base: Path):
    """Start Debian's MariaDB in `base` on a free loopback port; stop it on exit."""
    datadir, sock, log = base / "data", base / "mysqld.sock", base / "mysqld.log"
    install = _find("mariadb-install-db", "mysql_install_db")
    server = _find("mariadbd", "mysqld")
    subprocess.run([install, "--no-defaults", f"--datadir={datadir}", "--user=root",
                    "--auth-root-authentication-method=socket", "--skip-test-db"],
                   check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(
        [server, "--no-defaults", f"--datadir={datadir}", f"--socket={sock}", f"--port={port}",
         "--bind-address=127.0.0.1", "--user=root", "--skip-name-resolve", f"--log-error={log}",
         "--character-set-server=utf8mb4", "--innodb-buffer-pool-size=128M"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = pymysql.connect(unix_socket=str(sock), user="root")
                break
            except pymysql.err.OperationalError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    detail = log.read_text() if log.exists() else 'no log'
                    raise RuntimeError(f"MariaDB did not start: {detail}") from None
                time.sleep(0.2)
        password = secrets.token_urlsafe(16)
        with conn.cursor() as cur:
            cur.execute("CREATE USER 'admin'@'127.0.0.1' IDENTIFIED BY %s", (password,))
            cur.execute("GRANT ALL PRIVILEGES ON *.* TO 'admin'@'127.0.0.1' WITH GRANT OPTION")
        conn.close()
        yield MySQLServer("127.0.0.1", port, "admin", password)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def mysql_server(tmp_path_factory):
    if os.environ.get("MYSQL_TEST_HOST"):
        yield MySQLServer(os.environ["MYSQL_TEST_HOST"], int(os.environ.get("MYSQL_TEST_PORT", "3306")),
                          os.environ.get("MYSQL_TEST_USER", "root"), os.environ.get("MYSQL_TEST_PASSWORD", ""))
        return
    with private_mariadb(tmp_path_factory.mktemp("mariadb")) as server:
        yield server


@pytest.fixture
def mysql_database(mysql_server, request):
    """A fresh database with its own user holding rights on it alone (as the chart sets up)."""
    suffix = secrets.token_hex(4)
    name, user, password = f"movielens_{suffix}", f"loader_{suffix}", secrets.token_urlsafe(12)
    conn = mysql_server.connect(autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
        cur.execute("CREATE USER %s@'127.0.0.1' IDENTIFIED BY %s", (user, password))
        cur.execute(f"GRANT ALL PRIVILEGES ON {name}.* TO %s@'127.0.0.1'", (user,))
    yield MySQLDatabase(mysql_server, name, user, password)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE {name}")
        cur.execute("DROP USER %s@'127.0.0.1'", (user,))
    conn.close()
