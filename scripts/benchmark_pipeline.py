"""Benchmark the three task CLIs against the book's approach, in the same run.

On one synthetic day of ratings (1,000,000 by default) this times:
  fetch  fetch-ratings (10,000-rating pages, one keep-alive connection, JSON Lines
         streamed to disk) vs the book: a requests Session with limit=100 pages,
         response.json(), one json.dump of the array
  rank   rank-movies (polars over JSON Lines) vs the book: pandas read_json of the
         array + groupby/agg + to_csv
  load   load-rankings (one transaction, LOAD DATA LOCAL) vs row-by-row INSERTs into
         the same table, committed every 1,000 rows (DbApiHook.insert_rows' way)
against a real gunicorn-served API and a real MariaDB on loopback, and prints
ratings (or rows) per second and the speed-up. Both sides run in this process:
the CLIs through their main() entry points, so interpreter start-up is in neither. Targets: fetch >= 10x, rank >= 3x,
load >= 10x. Exit status 1 when a target is missed.

Usage: .venv/bin/python scripts/benchmark_pipeline.py [--ratings N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import requests  # noqa: E402

from movielens_api.prepare import synthetic  # noqa: E402
from movielens_fetch.cli import main as fetch_main  # noqa: E402
from movielens_load.cli import main as load_main  # noqa: E402
from movielens_rank.cli import main as rank_main  # noqa: E402
from tests.support.mysql import private_mariadb  # noqa: E402
from tests.support.ratings_api import PASSWORD, USER, start_api, stop_api  # noqa: E402

DAY, NEXT_DAY = "2019-01-01", "2019-01-02"
TARGETS = {"fetch": 10.0, "rank": 3.0, "load": 10.0}


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def run_cli(main, *argv) -> None:
    if main([str(a) for a in argv]) != 0:
        raise SystemExit(f"{main.__module__} failed")


# --- the book's versions (chapter "Running tasks in containers"), the baselines
def book_fetch(url: str, output: Path) -> int:
    session = requests.Session()
    session.auth = (USER, PASSWORD)
    params = {"start_date": DAY, "end_date": NEXT_DAY}
    ratings, offset, total = [], 0, None
    while total is None or offset < total:
        response = session.get(f"{url}/ratings", params={**params, "offset": offset, "limit": 100})
        response.raise_for_status()
        body = response.json()
        ratings.extend(body["result"])
        offset += 100
        total = body["total"]
    with open(output, "w") as fh:
        json.dump(ratings, fh)
    return len(ratings)


def book_rank(input_path: Path, output: Path) -> int:
    ratings = pd.read_json(input_path)
    ranking = (
        ratings.groupby("movieId")
        .agg(avg_rating=pd.NamedAgg(column="rating", aggfunc="mean"),
             num_ratings=pd.NamedAgg(column="userId", aggfunc="nunique"))
        .loc[lambda df: df["num_ratings"] > 2]
        .sort_values(["avg_rating", "num_ratings"], ascending=False)
    )
    ranking.to_csv(output, index=True)
    return len(ratings)


def book_load(server, database: str, rankings_csv: Path, day: str) -> int:
    conn = server.connect(database)
    with conn.cursor() as cur, open(rankings_csv, newline="") as fh:
        cur.execute("DELETE FROM movie_rankings WHERE ranking_date = %s", (day,))
        count = 0
        for row in csv.DictReader(fh):
            cur.execute("INSERT INTO movie_rankings (ranking_date, movie_rank, movie_id, avg_rating, num_ratings) "
                        "VALUES (%s, %s, %s, %s, %s)",
                        (day, row["rank"], row["movieId"], row["avg_rating"], row["num_ratings"]))
            count += 1
            if count % 1000 == 0:
                conn.commit()
    conn.commit()
    conn.close()
    return count


def report(name: str, unit: str, count: int, ours: float, baseline: float) -> bool:
    ratio = baseline / ours
    ok = ratio >= TARGETS[name]
    print(f"{name:6} {count:>9,} {unit:8} ours {ours:7.2f}s ({count / ours:>11,.0f}/s)  "
          f"book {baseline:7.2f}s ({count / baseline:>10,.0f}/s)  ratio {ratio:6.1f}x  "
          f"target {TARGETS[name]:.0f}x {'ok' if ok else 'MISSED'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="movielens-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    progress(f"generating {args.ratings:,} synthetic ratings on {DAY}")
    synthetic(args.ratings, date(2019, 1, 1), date(2019, 1, 2), seed=42).save(work / "store")
    progress("starting the API (gunicorn) and MariaDB on 127.0.0.1")
    url, api = start_api(work / "store", workers=1, log_path=work / "api.log")
    results = []
    try:
        with private_mariadb(work / "mariadb") as server:
            conn = server.connect(autocommit=True)
            with conn.cursor() as cur:
                cur.execute("CREATE DATABASE IF NOT EXISTS movielens")
            conn.close()
            os.environ.update({"API_USER": USER, "API_PASSWORD": PASSWORD, "MYSQL_HOST": server.host,
                               "MYSQL_PORT": str(server.port), "MYSQL_USER": server.user,
                               "MYSQL_PASSWORD": server.password, "MYSQL_DATABASE": "movielens"})
            ratings_json, rankings_csv = work / "ratings.json", work / "rankings.csv"

            progress("fetch: fetch-ratings")
            ours, _ = timed(run_cli, fetch_main, "--start-date", DAY, "--end-date", NEXT_DAY,
                            "--output-path", ratings_json, "--host", url, "--batch-size", "10000")
            progress("fetch: the book's loop (limit=100)")
            book, count = timed(book_fetch, url, work / "book-ratings.json")
            ours_records = [json.loads(line) for line in ratings_json.read_text().splitlines()]
            if ours_records != json.loads((work / "book-ratings.json").read_bytes()):
                raise SystemExit("fetch-ratings and the book's loop disagree")
            results.append(report("fetch", "ratings", count, ours, book))

            progress("rank: rank-movies (polars)")
            ours, _ = timed(run_cli, rank_main, "--input-path", ratings_json, "--output-path", rankings_csv)
            progress("rank: the book's pandas groupby")
            book, count = timed(book_rank, work / "book-ratings.json", work / "book-rankings.csv")
            results.append(report("rank", "ratings", count, ours, book))

            progress("load: load-rankings")
            ours, _ = timed(run_cli, load_main, "--input-path", rankings_csv, "--ranking-date", DAY)
            progress("load: row-by-row INSERTs")
            book, count = timed(book_load, server, "movielens", rankings_csv, "2019-01-02")
            results.append(report("load", "rows", count, ours, book))
    finally:
        stop_api(api)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
