"""load-rankings: load one day's rankings CSV into MySQL table movie_rankings.

The CSV is rank-movies' output (rank,movieId,avg_rating,num_ratings). The whole
file is validated before the database is touched; then, in one transaction, the
date's previous rows are deleted and the new ones bulk-loaded, so a rerun
replaces the day and a crash mid-load leaves the previous rows in place.

Bulk load: LOAD DATA LOCAL INFILE from a normalised temp file when the server allows
it (local_infile=ON), else multi-row INSERTs. Every row must arrive without a
warning, or the transaction is rolled back.

Connection settings come from the environment (the chart passes them from a
Secret): MYSQL_HOST (default localhost), MYSQL_PORT (3306), MYSQL_USER,
MYSQL_PASSWORD, MYSQL_DATABASE (movielens).
"""

from __future__ import annotations

import argparse
import csv
import logging
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterable
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
RETRYABLE_CONNECT_ERRORS = {2003, 2005, 2006, 2013}
# MySQL (1148, 3948), MariaDB (4166) or the client (2068) refuse LOAD DATA LOCAL: use INSERTs.
LOCAL_INFILE_REFUSED = {1148, 2068, 3948, 4166}


class LoadError(Exception):
    pass


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
        except ValueError:
            raise LoadError(f"MYSQL_PORT={environ['MYSQL_PORT']!r} is not a port number") from None
        return cls(environ.get("MYSQL_HOST", "localhost"), port, environ["MYSQL_USER"],
                   environ["MYSQL_PASSWORD"], environ.get("MYSQL_DATABASE", "movielens"))


def read_rankings(path: Path) -> list[tuple[int, int, float, int]]:
    """Parse and check the whole CSV; errors name the file and line."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
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
    except OSError as exc:
        raise LoadError(f"cannot read {path}: {exc.strerror}; did rank-movies run for this date?") from exc
    return rows


def connect(settings: ConnectionSettings, *, max_retries: int = 5, backoff: float = 1.0):
    for attempt in range(max_retries + 1):
        try:
            return pymysql.connect(host=settings.host, port=settings.port, user=settings.user,
                                   password=settings.password, database=settings.database,
                                   charset="utf8mb4", autocommit=False, connect_timeout=10,
                                   local_infile=True)
        except pymysql.err.OperationalError as exc:
            code = exc.args[0] if exc.args else None
            if code not in RETRYABLE_CONNECT_ERRORS:
                raise LoadError(f"MySQL refused the connection as {settings.user!r} to "
                                f"{settings.host}:{settings.port}/{settings.database}: {exc.args[-1]}; "
                                "check MYSQL_USER/MYSQL_PASSWORD/MYSQL_DATABASE") from None
            if attempt == max_retries:
                raise LoadError(f"cannot reach MySQL at {settings.host}:{settings.port} after "
                                f"{max_retries} retries: {exc.args[-1]}; check MYSQL_HOST/MYSQL_PORT") from None
            delay = backoff * 2**attempt
            log.warning("MySQL not reachable (%s); retry %d/%d in %.1fs", exc.args[-1], attempt + 1,
                        max_retries, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


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


def replace_day(conn, ranking_date: date, rows: Iterable[tuple], batch_size: int = 5000) -> int:
    """Replace `ranking_date`'s rows with `rows` in one transaction; returns the count."""
    with conn.cursor() as cur:
        cur.execute(CREATE_TABLE)  # DDL commits implicitly: keep it out of the transaction below
        conn.begin()
        try:
            cur.execute(f"DELETE FROM {TABLE} WHERE ranking_date = %s", (ranking_date,))
            rows = list(rows)
            if not rows or not _load_data_local(cur, ranking_date, rows):
                _insert_batches(cur, ranking_date, rows, batch_size)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    return len(rows)


def parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; use YYYY-MM-DD") from None


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(prog="load-rankings", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input-path", type=Path, required=True, help="rankings CSV from rank-movies")
    p.add_argument("--ranking-date", type=parse_date, required=True, help="the day ranked (YYYY-MM-DD)")
    p.add_argument("--batch-size", type=int, default=5000, help="rows per INSERT (default 5000)")
    p.add_argument("--max-retries", type=int, default=5, help="connection retries (default 5)")
    p.add_argument("--retry-backoff", type=float, default=1.0, help="first retry delay, doubled each time")
    args = p.parse_args(argv)
    if args.batch_size < 1:
        p.error("--batch-size must be at least 1")
    started = time.monotonic()
    try:
        rows = read_rankings(args.input_path)
        settings = ConnectionSettings.from_env()
        conn = connect(settings, max_retries=args.max_retries, backoff=args.retry_backoff)
    except LoadError as exc:
        log.error("%s", exc)
        return 1
    try:
        count = replace_day(conn, args.ranking_date, rows, args.batch_size)
    except (LoadError, pymysql.MySQLError) as exc:
        log.error("loading %s failed, previous rows for %s kept: %s", args.input_path, args.ranking_date, exc)
        return 1
    finally:
        conn.close()
    log.info("loaded %d rankings for %s into %s.%s in %.2fs", count, args.ranking_date,
             settings.database, TABLE, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
