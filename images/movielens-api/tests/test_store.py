"""The columnar store and its build step."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import numpy as np
import pytest

from movielens_api.app import RatingsApp
from movielens_api.prepare import main as prepare_main
from movielens_api.prepare import read_csv_path, synthetic, to_timestamp
from movielens_api.store import RatingsStore


def test_synthetic_is_deterministic_and_covers_2019():
    a = synthetic(20_000, date(2019, 1, 1), date(2020, 1, 1), seed=1)
    b = synthetic(20_000, date(2019, 1, 1), date(2020, 1, 1), seed=1)
    c = synthetic(20_000, date(2019, 1, 1), date(2020, 1, 1), seed=2)
    assert len(a) == 20_000
    for column in ("timestamp", "userId", "movieId", "rating"):
        assert np.array_equal(getattr(a, column), getattr(b, column))
    assert not np.array_equal(a.movieId, c.movieId)
    assert a.timestamp.min() >= to_timestamp(date(2019, 1, 1))
    assert a.timestamp.max() < to_timestamp(date(2020, 1, 1))
    assert set(np.unique(a.rating).tolist()) <= {x / 2 for x in range(1, 11)}


@pytest.fixture(scope="module")
def default_year():
    """The image's default store: a million synthetic ratings over 2019."""
    return synthetic(1_000_000, date(2019, 1, 1), date(2020, 1, 1), seed=2019)


def test_synthetic_users_rate_a_movie_at_most_once(default_year):
    pairs = default_year.userId.astype(np.int64) * 10**7 + default_year.movieId
    assert len(np.unique(pairs)) == len(default_year) == 1_000_000
    small = synthetic(500, date(2019, 1, 1), date(2019, 1, 2), seed=1)  # few users: still unique
    assert len(np.unique(small.userId.astype(np.int64) * 10**7 + small.movieId)) == 500


def test_synthetic_popularity_has_a_long_tail(default_year):
    _, per_movie = np.unique(default_year.movieId, return_counts=True)
    per_movie = np.sort(per_movie)[::-1]
    top_share = per_movie[: len(per_movie) // 100].sum() / per_movie.sum()
    assert 0.3 < top_share < 0.5, top_share
    assert np.median(per_movie) < 15 < per_movie[0] / 100
    # the most rated movie is not simply id 1
    assert np.argmax(np.bincount(default_year.movieId)) != 1


@pytest.mark.parametrize("day", ["2019-01-02", "2019-03-14", "2019-07-01", "2019-12-31"])
def test_a_day_of_the_default_year_ranks_hundreds_of_movies(default_year, day):
    start = to_timestamp(date.fromisoformat(day))
    lo, hi = default_year.bounds(start, start + 86400)
    _, per_movie = np.unique(default_year.movieId[lo:hi], return_counts=True)
    assert 2_300 < hi - lo < 3_200
    assert (per_movie >= 2).sum() >= 200


def test_store_is_sorted_for_stable_pages():
    store = RatingsStore.from_arrays([5, 1, 5, 1], [2, 9, 1, 9], [1, 3, 7, 2], [1.0, 2.0, 3.0, 4.0])
    assert store.timestamp.tolist() == [1, 1, 5, 5]
    assert list(zip(store.userId.tolist(), store.movieId.tolist(), strict=True)) == [(9, 2), (9, 3), (1, 7), (2, 1)]
    assert store.bounds(1, 5) == (0, 2)
    assert store.bounds(None, None) == (0, 4)
    assert store.bounds(6, 2) == (4, 4)


def test_save_and_load_round_trip(tmp_path):
    store = synthetic(1000, date(2019, 1, 1), date(2019, 2, 1), seed=3)
    store.save(tmp_path / "store")
    store.save(tmp_path / "store")  # replacing an existing store works and leaves no leftovers
    loaded = RatingsStore.load(tmp_path / "store")
    assert np.array_equal(loaded.timestamp, store.timestamp)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]
    assert (tmp_path / "store").stat().st_mode & 0o777 == 0o755  # readable by the server's user


def test_load_names_the_missing_store(tmp_path):
    with pytest.raises(FileNotFoundError, match="movielens-api-prepare"):
        RatingsStore.load(tmp_path)


def test_real_movielens_csv_is_filtered_to_the_range(tmp_path):
    csv = tmp_path / "ratings.csv"
    in_2019 = to_timestamp(date(2019, 6, 1))
    csv.write_text("userId,movieId,rating,timestamp\n"
                   f"1,10,4.5,{in_2019}\n2,20,3.0,{to_timestamp(date(2018, 12, 31))}\n"
                   f"3,30,5.0,{to_timestamp(date(2020, 1, 1))}\n4,40,0.5,{in_2019 + 5}\n")
    store = read_csv_path(csv, date(2019, 1, 1), date(2020, 1, 1))
    assert store.userId.tolist() == [1, 4] and store.rating.tolist() == [4.5, 0.5]


def test_bad_csv_names_file_and_line(tmp_path):
    csv = tmp_path / "ratings.csv"
    csv.write_text("userId,movieId,rating,timestamp\n1,10,4.5,1546300800\n1,x,4.5,1546300800\n")
    with pytest.raises(ValueError, match=r"ratings.csv:3: bad rating row"):
        read_csv_path(csv, date(2019, 1, 1), date(2020, 1, 1))
    csv.write_text("user,movie\n")
    with pytest.raises(ValueError, match="expected userId,movieId,rating,timestamp"):
        read_csv_path(csv, date(2019, 1, 1), date(2020, 1, 1))


def test_prepare_cli_writes_a_store(tmp_path):
    assert prepare_main(["--output-dir", str(tmp_path / "s"), "--synthetic-count", "500", "--seed", "9"]) == 0
    assert len(RatingsStore.load(tmp_path / "s")) == 500
    bad = subprocess.run([sys.executable, "-m", "movielens_api.prepare", "--output-dir", str(tmp_path / "t"),
                          "--start-date", "2019-02-01", "--end-date", "2019-01-01"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--end-date must be after --start-date" in bad.stderr
    assert not (tmp_path / "t").exists()


def test_app_refuses_to_start_without_credentials():
    store = synthetic(10, date(2019, 1, 1), date(2019, 1, 2), seed=1)
    with pytest.raises(ValueError, match="API_USER and API_PASSWORD"):
        RatingsApp(store, "", "")
