"""The three task CLIs run as processes, in the DAG's order, for one day."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tests.support.ranking import book_ranking

BIN = Path(sys.executable).parent
DAY, NEXT_DAY = "2019-01-04", "2019-01-05"


def independent_ranking(store):
    start = datetime.fromisoformat(DAY).replace(tzinfo=UTC).timestamp()
    end = datetime.fromisoformat(NEXT_DAY).replace(tzinfo=UTC).timestamp()
    ts = np.asarray(store.timestamp)
    mask = (ts >= start) & (ts < end)
    return book_ranking(zip(np.asarray(store.userId)[mask].tolist(), np.asarray(store.movieId)[mask].tolist(),
                            np.asarray(store.rating)[mask].tolist(), strict=True))


def run(cmd, env):
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, f"{cmd[0]} failed:\n{result.stderr}"
    return result


def test_fetch_rank_load_for_one_day(ratings_api, mysql_database, tmp_path):
    data = tmp_path / "data"
    ratings_file, rankings_file = data / "ratings" / f"{DAY}.json", data / "rankings" / f"{DAY}.csv"
    env = {**os.environ, "API_USER": ratings_api.user, "API_PASSWORD": ratings_api.password, **mysql_database.env()}
    run([BIN / "fetch-ratings", "--start-date", DAY, "--end-date", NEXT_DAY, "--output-path", ratings_file,
         "--host", ratings_api.url, "--batch-size", "100"], env)
    run([BIN / "rank-movies", "--input-path", ratings_file, "--output-path", rankings_file, "--min-ratings", "2"], env)
    for _ in range(2):  # the second load shows a rerun changes nothing
        run([BIN / "load-rankings", "--input-path", rankings_file, "--ranking-date", DAY], env)

    rows = mysql_database.query("SELECT movie_rank, movie_id, avg_rating, num_ratings FROM movie_rankings "
                                "WHERE ranking_date = %s ORDER BY movie_rank", (DAY,))
    want = independent_ranking(ratings_api.store)
    assert len(want) > 10
    assert [(r, m, n) for r, m, _, n in rows] == [(r, m, n) for r, m, _, n in want]
    assert np.allclose([a for _, _, a, _ in rows], [a for _, _, a, _ in want], rtol=0, atol=1e-9)
