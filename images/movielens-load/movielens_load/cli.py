"""load-rankings: load one day's rankings CSV into MySQL table movie_rankings.

The CSV is rank-movies' output (rank,movieId,avg_rating,num_ratings). The whole
file is validated before the database is touched; then, in one transaction, the
date's previous rows are deleted and the new ones bulk-loaded, so a rerun
replaces the day and a crash mid-load leaves the previous rows in place.

Bulk load: LOAD DATA LOCAL INFILE from a normalised temp file when the server allows
it (local_infile=ON), else multi-row INSERTs. Every row must arrive without a
warning, or the transaction is rolled back.

Loads into one table take turns (a MySQL user lock), and a transaction MySQL aborts
for a deadlock or a lock wait timeout is rerun whole. No wait on the server is
longer than --query-timeout: a server that stops answering fails the load.

Connection settings come from the environment (the chart passes them from a
Secret): MYSQL_HOST (default localhost), MYSQL_PORT (3306), MYSQL_USER,
MYSQL_PASSWORD, MYSQL_DATABASE (movielens). The user needs SELECT, INSERT and
DELETE on the database, and CREATE only while the table does not exist.

Exit codes: 0 loaded, 1 failed (previous rows kept unless the message says the
outcome is unknown), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import logging
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pymysql

log = logging.getLogger("load-rankings")

TABLE = "movie_rankings"
HEADER = ["rank", "movieId", "avg_rating", "num_ratings"]
CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    ranking_date DATE NOT NULL,
    movie_rank INT UNSIGNED NOT NULL,
    movie_id INT NOT NULL,
    avg_rating DOUBLE NOT NULL,
    num_ratings INT UNSIGNED NOT NULL,
    loaded_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (ranking_date, movie_id),
    UNIQUE KEY ranking_date_rank (ranking_date, movie_rank)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
"""
INSERT = (f"INSERT INTO {TABLE} (ranking_date, movie_rank, movie_id, avg_rating, num_ratings) "
          "VALUES (%s, %s, %s, %s, %s)")
LOAD_DATA = (f"LOAD DATA LOCAL INFILE %s INTO TABLE {TABLE} CHARACTER SET utf8mb4 "
             "FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' "
             "(movie_rank, movie_id, avg_rating, num_ratings) SET ranking_date = %s")
# MySQL error codes worth another connection attempt: can't connect, unknown host, gone away, lost.
# Not when 2006/2013 come from a read or write timing out: that server accepted the connection and
# then stopped answering, and each retry would wait a whole --query-timeout again.
RETRYABLE_CONNECT_ERRORS = {2003, 2005, 2006, 2013}
CONNECTION_LOST = {2006, 2013}
# MySQL (1148, 3948), MariaDB (4166) or the client (2068) refuse LOAD DATA LOCAL: use INSERTs.
LOCAL_INFILE_REFUSED = {1148, 2068, 3948, 4166}
# Deadlock (1213: InnoDB rolled the transaction back) or lock wait timeout (1205: only the statement
# was rolled back, so we roll back the rest): nothing was committed, the whole transaction can rerun.
RETRYABLE_TRANSACTION_ERRORS = {1205, 1213}
TRANSACTION_RETRIES = 3
# Table (1142) or database (1044) access denied.
ACCESS_DENIED = {1044, 1142}
CONNECT_TIMEOUT = 10.0
MAX_RETRY_DELAY = 60.0


class LoadError(Exception):
    pass


class OutcomeUnknown(LoadError):
    """The COMMIT was sent but its answer never came: the day holds either the old rows or the new."""


@dataclass(frozen=True)
class ConnectionSettings:
    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def from_env(cls, environ=os.environ) -> ConnectionSettings:
        missing = [name for name in ("MYSQL_USER", "MYSQL_PASSWORD") if not environ.get(name)]
        if missing:
            raise LoadError(f"{' and '.join(missing)} not set; the task pod takes them from the database Secret")
        try:
            port = int(environ.get("MYSQL_PORT", "3306"))
            if not 1 <= port <= 65535:
                raise ValueError
        except ValueError:
            raise LoadError(f"MYSQL_PORT={environ['MYSQL_PORT']!r} is not a port number (1-65535)") from None
        return cls(environ.get("MYSQL_HOST", "localhost"), port, environ["MYSQL_USER"],
                   environ["MYSQL_PASSWORD"], environ.get("MYSQL_DATABASE", "movielens"))


def read_rankings(path: Path) -> list[tuple[int, int, float, int]]:
    """Parse and check the whole CSV; errors name the file and line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read {path}: {exc.strerror}; did rank-movies run for this date?") from exc
    try:
        # Decoding the whole file at once pins a bad byte to its line (a text stream decodes in chunks).
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise LoadError(f"{path}:{line}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                        "rank-movies writes UTF-8: was the file written or edited by something else?") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header != HEADER:
        raise LoadError(f"{path}:1: header is {header}, expected {','.join(HEADER)}; "
                        "is this rank-movies output?")
    rows, ranks, movies = [], set(), set()
    for row in reader:
        try:
            rank, movie_id, avg_rating, num_ratings = row
            parsed = (int(rank), int(movie_id), float(avg_rating), int(num_ratings))
            if not math.isfinite(parsed[2]):
                raise ValueError("avg_rating is not a finite number")
            if parsed[0] in ranks or parsed[1] in movies:
                raise ValueError("rank or movieId repeats an earlier row")
        except ValueError as exc:
            raise LoadError(f"{path}:{reader.line_num}: bad row {row!r}: {exc}") from None
        rows.append(parsed)
        ranks.add(parsed[0])
        movies.add(parsed[1])
    return rows


def timed_out(exc: BaseException) -> bool:
    """PyMySQL raises a read or write timeout as 2013/2006 while handling the socket's TimeoutError."""
    if not exc.args or exc.args[0] not in CONNECTION_LOST:
        return False
    cause = exc.__cause__ or exc.__context__
    while cause is not None:
        if isinstance(cause, TimeoutError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def retry_delay(backoff: float, attempt: int) -> float:
    # Jitter keeps loads that failed together from retrying together.
    return min(backoff * 2**attempt, MAX_RETRY_DELAY) * random.uniform(0.5, 1.0)


def connect(settings: ConnectionSettings, *, max_retries: int = 5, backoff: float = 1.0,
            query_timeout: float = 60.0):
    """Connect, retrying a server that is not there (yet); one that stops answering fails at once.

    connect_timeout bounds the TCP connect; read_timeout/write_timeout bound every read and write
    after it, the handshake's included, so no single wait exceeds query_timeout.
    """
    # Cap the session's lock waits (row locks, metadata locks, GET_LOCK below) at half the client's
    # timeout, so a wait for a lock ends in MySQL's 1205, which is retried, not in a client timeout,
    # which reads as a hung server. LEAST keeps a DBA's shorter setting.
    lock_wait = max(1, int(query_timeout // 2))
    init_command = (f"SET SESSION innodb_lock_wait_timeout = LEAST(@@SESSION.innodb_lock_wait_timeout, {lock_wait}),"
                    f" lock_wait_timeout = LEAST(@@SESSION.lock_wait_timeout, {lock_wait})")
    for attempt in range(max_retries + 1):
        try:
            return pymysql.connect(host=settings.host, port=settings.port, user=settings.user,
                                   password=settings.password, database=settings.database,
                                   charset="utf8mb4", autocommit=False, local_infile=True,
                                   connect_timeout=min(CONNECT_TIMEOUT, query_timeout),
                                   read_timeout=query_timeout, write_timeout=query_timeout,
                                   init_command=init_command)
        except pymysql.err.OperationalError as exc:
            code = exc.args[0] if exc.args else None
            if timed_out(exc):
                raise LoadError(stopped_answering(settings, query_timeout, "while connecting")) from None
            if code not in RETRYABLE_CONNECT_ERRORS:
                raise LoadError(f"MySQL refused the connection as {settings.user!r} to "
                                f"{settings.host}:{settings.port}/{settings.database}: {exc.args[-1]}; "
                                "check MYSQL_USER/MYSQL_PASSWORD/MYSQL_DATABASE") from None
            if attempt == max_retries:
                raise LoadError(f"cannot reach MySQL at {settings.host}:{settings.port} after "
                                f"{max_retries} retries: {exc.args[-1]}; check MYSQL_HOST/MYSQL_PORT") from None
            delay = retry_delay(backoff, attempt)
            log.warning("MySQL not reachable (%s); retry %d/%d in %.1fs", exc.args[-1], attempt + 1,
                        max_retries, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


def stopped_answering(settings: ConnectionSettings, query_timeout: float, when: str) -> str:
    return (f"MySQL at {settings.host}:{settings.port} stopped answering {when}: no reply within "
            f"{query_timeout:g}s (--query-timeout); check that the server is up and not hung or overloaded "
            "(its log, SHOW PROCESSLIST, a full disk), or raise --query-timeout for a slow server")


def _check_no_warnings(cur, expected: int) -> None:
    if cur.rowcount != expected or cur.warning_count:
        cur.execute("SHOW WARNINGS LIMIT 3")
        warnings = "; ".join(str(w[2]) for w in cur.fetchall())
        raise LoadError(f"MySQL took {cur.rowcount} of {expected} rows: {warnings or 'no detail'}")


def _load_data_local(cur, ranking_date: date, rows: list[tuple]) -> bool:
    """LOAD DATA LOCAL from a temp file; False when the server or client refuses it."""
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", encoding="utf-8") as tsv:
        tsv.writelines(f"{r}\t{m}\t{a!r}\t{n}\n" for r, m, a, n in rows)
        tsv.flush()
        try:
            cur.execute(LOAD_DATA, (tsv.name, ranking_date))
        except pymysql.err.MySQLError as exc:
            if exc.args and exc.args[0] in LOCAL_INFILE_REFUSED:
                log.info("LOAD DATA LOCAL refused (%s); using multi-row INSERTs", exc.args[-1])
                return False
            raise
    _check_no_warnings(cur, len(rows))
    return True


def _insert_batches(cur, ranking_date: date, rows: list[tuple], batch_size: int) -> None:
    for start in range(0, len(rows), batch_size):
        batch = [(ranking_date, *row) for row in rows[start : start + batch_size]]
        # PyMySQL turns executemany over INSERT ... VALUES into multi-row INSERTs.
        cur.executemany(INSERT, batch)
        _check_no_warnings(cur, len(batch))


def _ensure_table(cur) -> None:
    """Create the table only when it is missing, so loading into it needs no CREATE privilege."""
    cur.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() "
                "AND table_name = %s", (TABLE,))
    if cur.fetchone()[0]:
        return
    try:
        cur.execute(CREATE_TABLE)  # DDL commits implicitly: it stays out of the transaction
    except pymysql.MySQLError as exc:
        if not exc.args or exc.args[0] not in ACCESS_DENIED:
            raise
        cur.execute("SELECT DATABASE(), CURRENT_USER()")
        database, current_user = cur.fetchone()
        user, _, host = current_user.rpartition("@")
        account = f"'{user}'@'{host}'"
        raise LoadError(f"table {database}.{TABLE} does not exist and MySQL user {account} lacks the CREATE "
                        "privilege to make it: have the database's owner run the first load or create the table "
                        f"(DDL in the README), or GRANT CREATE ON `{database}`.* TO {account}") from None


def _lock_name(cur) -> str:
    cur.execute("SELECT DATABASE()")
    (database,) = cur.fetchone()
    # One lock for the table, not one per day: the gap past the last day is shared by every new day,
    # and DELETEs of two new days take gap locks there that their INSERTs then deadlock on, just as
    # two loads of one day do (InnoDB, REPEATABLE READ, on MySQL and MariaDB alike). Lock names are
    # capped at 64 characters; a truncated name can only make two databases' loads take turns.
    return f"{database}.{TABLE}"[:64]


def _acquire_lock(cur, name: str, timeout: float) -> None:
    """GET_LOCK (MySQL 5.7+, MariaDB 10.0.2+): a session lock that a commit does not release and a
    dropped connection does, so a killed load never leaves it behind."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = max(0, math.ceil(deadline - time.monotonic()))
        # Wait server-side in slices no longer than the session's lock_wait_timeout (set below
        # --query-timeout): a long GET_LOCK would otherwise look like a server that stopped answering.
        cur.execute("SELECT GET_LOCK(%s, LEAST(@@SESSION.lock_wait_timeout, %s))", (name, remaining))
        (got,) = cur.fetchone()
        if got == 1:
            return
        if got is None:
            raise LoadError(f"MySQL refused the lock {name!r} (GET_LOCK returned NULL); retry the load")
        if time.monotonic() >= deadline:
            cur.execute("SELECT IS_USED_LOCK(%s)", (name,))
            (holder,) = cur.fetchone()
            raise LoadError(f"another load into {name} (MySQL connection {holder}) still held the table's "
                            f"lock after {timeout:g}s (--lock-timeout); wait for it to finish or raise "
                            f"--lock-timeout, or if it is stuck (SHOW PROCESSLIST), KILL {holder}")


def _rollback(conn) -> None:
    # On a lost connection the server rolls back as the session ends, and PyMySQL's ROLLBACK would
    # raise InterfaceError(0, '') in place of the error that says what happened.
    if conn.open:
        with contextlib.suppress(pymysql.MySQLError):
            conn.rollback()


def _replace_rows(conn, cur, ranking_date: date, source: Iterator[tuple], rows: list[tuple],
                  batch_size: int) -> None:
    conn.begin()
    try:
        cur.execute(f"DELETE FROM {TABLE} WHERE ranking_date = %s", (ranking_date,))
        rows.extend(source)  # a rerun finds `source` drained and `rows` full
        if not rows or not _load_data_local(cur, ranking_date, rows):
            _insert_batches(cur, ranking_date, rows, batch_size)
    except BaseException:
        _rollback(conn)
        raise
    try:
        conn.commit()
    except pymysql.MySQLError as exc:
        if exc.args and exc.args[0] in CONNECTION_LOST:
            raise OutcomeUnknown(f"the connection failed while MySQL committed ({exc.args[-1]})") from exc
        _rollback(conn)
        raise


def replace_day(conn, ranking_date: date, rows: Iterable[tuple], batch_size: int = 5000, *,
                lock_timeout: float = 300.0, retry_backoff: float = 0.5,
                retries: int = TRANSACTION_RETRIES) -> int:
    """Replace `ranking_date`'s rows with `rows` in one transaction; returns the count.

    Loads into the table take turns, so two of them never deadlock; a deadlock or lock wait
    timeout with any other writer reruns the whole transaction, up to `retries` times.
    """
    source, loaded = iter(rows), []
    with conn.cursor() as cur:
        name = _lock_name(cur)
        _acquire_lock(cur, name, lock_timeout)
        try:
            _ensure_table(cur)
            for attempt in range(retries + 1):
                try:
                    _replace_rows(conn, cur, ranking_date, source, loaded, batch_size)
                    return len(loaded)
                except pymysql.MySQLError as exc:
                    if not exc.args or exc.args[0] not in RETRYABLE_TRANSACTION_ERRORS or attempt == retries:
                        raise
                    delay = retry_delay(retry_backoff, attempt)
                    log.warning("MySQL aborted the load (%s); retry %d/%d of the whole transaction in %.1fs",
                                exc.args[-1], attempt + 1, retries, delay)
                    time.sleep(delay)
            raise AssertionError("unreachable")
        finally:
            if conn.open:
                with contextlib.suppress(pymysql.MySQLError):
                    cur.execute("SELECT RELEASE_LOCK(%s)", (name,))


def parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; use YYYY-MM-DD") from None


def bounded(kind: type, low: float, high: float):
    """An argparse type for a finite `kind` value in [low, high]; argparse names the option."""
    what = "a whole number" if kind is int else "a number of seconds"
    allowed = f"{what} from {kind(low)} to {kind(high)}" if kind is int else f"{what} from {low:g} to {high:g}"

    def parse(value: str):
        try:
            number = kind(value)
        except ValueError:
            number = math.nan
        if not low <= number <= high:  # also false for nan
            raise argparse.ArgumentTypeError(f"{value!r} is not {allowed}")
        return number

    return parse


def explain(exc: BaseException, settings: ConnectionSettings, query_timeout: float) -> str:
    """What a MySQL error during the load means for the operator."""
    if isinstance(exc, LoadError):
        return str(exc)
    if timed_out(exc):
        return stopped_answering(settings, query_timeout, "during the load")
    code = exc.args[0] if exc.args else None
    if code in CONNECTION_LOST:
        return (f"lost the connection to MySQL at {settings.host}:{settings.port} ({exc.args[-1]}); was the server "
                "restarted or the session killed? Rerun the load")
    if code in ACCESS_DENIED:
        return (f"{exc.args[-1]}: load-rankings needs SELECT, INSERT and DELETE on {settings.database} (and CREATE "
                "while the table does not exist); GRANT them to MYSQL_USER")
    return str(exc)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(prog="load-rankings", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input-path", type=Path, required=True, help="rankings CSV from rank-movies")
    p.add_argument("--ranking-date", type=parse_date, required=True, help="the day ranked (YYYY-MM-DD)")
    p.add_argument("--batch-size", type=bounded(int, 1, 1_000_000), default=5000,
                   help="rows per INSERT when LOAD DATA LOCAL is refused (default 5000)")
    p.add_argument("--max-retries", type=bounded(int, 0, 100), default=5,
                   help="retries of a server that cannot be reached (default 5); a transaction MySQL aborts "
                        f"for a deadlock or lock wait timeout is rerun up to {TRANSACTION_RETRIES} times")
    p.add_argument("--retry-backoff", type=bounded(float, 0, MAX_RETRY_DELAY), default=1.0,
                   help="first retry delay in seconds, doubled each retry up to 60, jittered (default 1)")
    p.add_argument("--query-timeout", type=bounded(float, 2, 3600), default=60.0,
                   help="seconds to wait for any answer from MySQL before failing; also bounds the TCP "
                        "connect (at most 10 s) and, at half of it, lock waits (default 60)")
    p.add_argument("--lock-timeout", type=bounded(float, 0, 3600), default=300.0,
                   help="seconds to wait for another load into the table to finish (default 300)")
    args = p.parse_args(argv)
    started = time.monotonic()
    try:
        rows = read_rankings(args.input_path)
        settings = ConnectionSettings.from_env()
        conn = connect(settings, max_retries=args.max_retries, backoff=args.retry_backoff,
                       query_timeout=args.query_timeout)
    except LoadError as exc:
        log.error("%s", exc)
        return 1
    except pymysql.MySQLError as exc:
        log.error("connecting to MySQL at %s:%d failed: %s", settings.host, settings.port, exc)
        return 1
    try:
        count = replace_day(conn, args.ranking_date, rows, args.batch_size, lock_timeout=args.lock_timeout,
                            retry_backoff=args.retry_backoff)
    except OutcomeUnknown as exc:
        log.error("loading %s for %s: %s; the new rows may or may not have been committed: rerun the load "
                  "(a rerun replaces the day)", args.input_path, args.ranking_date,
                  stopped_answering(settings, args.query_timeout, "at COMMIT") if timed_out(exc.__cause__) else exc)
        return 1
    except (LoadError, pymysql.MySQLError) as exc:
        log.error("loading %s failed, previous rows for %s kept: %s", args.input_path, args.ranking_date,
                  explain(exc, settings, args.query_timeout))
        return 1
    finally:
        conn.close()
    log.info("loaded %d rankings for %s into %s.%s in %.2fs", count, args.ranking_date,
             settings.database, TABLE, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
