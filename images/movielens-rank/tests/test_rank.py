"""rank-movies against hand-computed rankings, empty and malformed input."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

RANK = str(Path(sys.executable).with_name("rank-movies"))


def rating(user, movie, value, ts=1546300800):
    return {"userId": user, "movieId": movie, "rating": value, "timestamp": ts}


def encode(ratings, fmt):
    """The two input formats: the book's JSON array, and JSON Lines as fetch-ratings writes it."""
    if fmt == "array":
        return json.dumps(ratings)
    return "".join(json.dumps(r) + "\n" for r in ratings)


@pytest.fixture(params=["array", "jsonl"])
def fmt(request):
    return request.param


def run_rank(tmp_path, ratings, *extra, raw: str | None = None, fmt="array"):
    src, out = tmp_path / "ratings" / "2019-01-01.json", tmp_path / "rankings" / "2019-01-01.csv"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text(raw if raw is not None else encode(ratings, fmt))
    result = subprocess.run([RANK, "--input-path", str(src), "--output-path", str(out), *extra],
                            capture_output=True, text=True, timeout=60)
    rows = list(csv.reader(out.open())) if out.exists() else None
    return result, rows, out


def test_the_books_ranking_by_hand(tmp_path, fmt):
    ratings = [
        # movie 10: users 1,2,3 -> mean (4+5+3)/3 = 4.0, 3 users
        rating(1, 10, 4.0), rating(2, 10, 5.0), rating(3, 10, 3.0),
        # movie 20: users 1,2,3,4 (user 4 twice) -> mean (5+4+5+4.5+3.5)/5 = 4.4, 4 distinct users
        rating(1, 20, 5.0), rating(2, 20, 4.0), rating(3, 20, 5.0), rating(4, 20, 4.5), rating(4, 20, 3.5),
        # movie 30: two users only -> dropped with min_ratings 2 (needs more than 2)
        rating(1, 30, 5.0), rating(2, 30, 5.0),
        # movie 40: users 5,6,7 -> mean 2.5
        rating(5, 40, 2.0), rating(6, 40, 3.0), rating(7, 40, 2.5),
    ]
    result, rows, _ = run_rank(tmp_path, ratings, fmt=fmt)
    assert result.returncode == 0, result.stderr
    assert rows == [
        ["rank", "movieId", "avg_rating", "num_ratings"],
        ["1", "20", "4.4", "4"],
        ["2", "10", "4.0", "3"],
        ["3", "40", "2.5", "3"],
    ]


def test_min_ratings_is_a_strict_lower_bound(tmp_path):
    ratings = [rating(u, 1, 3.0) for u in (1, 2)] + [rating(u, 2, 4.0) for u in (1, 2, 3)]
    _, rows, _ = run_rank(tmp_path, ratings, "--min-ratings", "1")
    assert [r[1] for r in rows[1:]] == ["2", "1"]
    _, rows, _ = run_rank(tmp_path, ratings, "--min-ratings", "2")
    assert [r[1] for r in rows[1:]] == ["2"]


def test_ties_break_by_more_ratings_then_lower_movie_id(tmp_path):
    ratings = ([rating(u, 7, 4.0) for u in range(1, 4)] + [rating(u, 3, 4.0) for u in range(1, 4)]
               + [rating(u, 9, 4.0) for u in range(1, 6)])
    _, rows, _ = run_rank(tmp_path, ratings, "--min-ratings", "0")
    assert [(r[0], r[1]) for r in rows[1:]] == [("1", "9"), ("2", "3"), ("3", "7")]


def test_an_empty_day_gives_a_header_only_csv(tmp_path, fmt):
    result, rows, _ = run_rank(tmp_path, [], fmt=fmt)
    assert result.returncode == 0, result.stderr
    assert rows == [["rank", "movieId", "avg_rating", "num_ratings"]]


def test_nobody_over_the_threshold_gives_a_header_only_csv(tmp_path):
    _, rows, _ = run_rank(tmp_path, [rating(1, 1, 5.0)])
    assert rows == [["rank", "movieId", "avg_rating", "num_ratings"]]


@pytest.mark.parametrize("raw, message", [
    ('[{"userId": 1, "movieId": 1, "rating": 4.0, "timestamp": 1}, {"userId": 1,', "not valid JSON at line 1"),
    ('[{"userId": 1, "movieId": 1, "rating": 4.0, "timestamp": 1}, {"movieId": 2, "rating": 4.0, '
     '"timestamp": 1}]', 'record 1 {"movieId": 2, "rating": 4.0, "timestamp": 1}: missing userId'),
    ('[{"userId": 1, "movieId": 1.5, "rating": 4.0, "timestamp": 1}]', "record 0 "),
    ('[{"userId": 1, "movieId": 2, "rating": 9, "timestamp": 1}]', "rating 9 is outside 0..5"),
    ('[{"userId": "one", "movieId": 2, "rating": 3, "timestamp": 1}]', "userId is not a number"),
    ('{"result": []}', "line 1 {\"result\": []}: missing userId"),
    ('"ratings"', "expected a JSON array of ratings, found str"),
    ('{"userId": 1, "movieId": 1, "rating": 4.0, "timestamp": 1}\n{"userId": 2, "movieId": 1}\n',
     'line 2 {"userId": 2, "movieId": 1}: missing rating'),
    ('{"userId": 1, "movieId": 1, "rating": 4.0, "timestamp": 1}\n{"userId": 2,\n', "line 2 is not valid JSON"),
])
def test_malformed_input_names_the_file_and_record(tmp_path, raw, message):
    out = tmp_path / "rankings" / "2019-01-01.csv"
    out.parent.mkdir(parents=True)
    out.write_text("previous\n")
    result, _, _ = run_rank(tmp_path, None, raw=raw)
    assert result.returncode == 1
    assert "ratings/2019-01-01.json" in result.stderr
    assert message in result.stderr
    assert out.read_text() == "previous\n"
    assert sorted(p.name for p in out.parent.iterdir()) == ["2019-01-01.csv"]


def test_fractional_movie_id_is_named(tmp_path):
    result, _, _ = run_rank(tmp_path, None, raw='[{"userId": 1, "movieId": 1.5, "rating": 4.0, "timestamp": 1}]')
    assert "movieId is not an integer" in result.stderr


def test_missing_input_says_which_step_to_run(tmp_path):
    result = subprocess.run([RANK, "--input-path", str(tmp_path / "nope.json"), "--output-path",
                             str(tmp_path / "out.csv")], capture_output=True, text=True)
    assert result.returncode == 1
    assert "nope.json" in result.stderr and "fetch-ratings" in result.stderr


def test_negative_min_ratings_is_refused(tmp_path):
    result, _, _ = run_rank(tmp_path, [], "--min-ratings", "-1")
    assert result.returncode == 2 and "--min-ratings must not be negative" in result.stderr


BIG = 2**53  # the first integer above which a float64 cannot hold every integer


@pytest.mark.parametrize("field, value, problem", [
    ("userId", "1e20", "userId is not an integer"),
    ("userId", "1.5", "userId is not an integer"),
    ("movieId", "3.0", "movieId is not an integer"),
    ("timestamp", "1546300800.0", "timestamp is not an integer"),
    ("userId", str(2**63), "userId is outside the 64-bit integer range"),
    ("movieId", str(-2**63 - 1), "movieId is outside the 64-bit integer range"),
    ("userId", "100000000000000000000", "userId is outside the 64-bit integer range"),
    ("userId", '"7"', "userId is not a number"),
    ("movieId", "true", "movieId is not a number"),
])
def test_an_id_that_is_not_a_64_bit_json_integer_names_file_record_and_field(tmp_path, fmt, field, value, problem):
    good = '{"userId": 1, "movieId": 1, "rating": 4.0, "timestamp": 1}'
    bad = good.replace(f'"{field}": 1', f'"{field}": {value}')
    raw = f"[{good}, {bad}]" if fmt == "array" else f"{good}\n{bad}\n"
    result, _, _ = run_rank(tmp_path, None, raw=raw)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    where = "record 1 " if fmt == "array" else "line 2 "
    assert f"ratings/2019-01-01.json: {where}" in result.stderr
    assert problem in result.stderr


def test_ids_beyond_2_53_stay_distinct(tmp_path, fmt):
    # Users 2^53 and 2^53+1 are two users: movie 1 has three raters and passes
    # --min-ratings 2. Movies 2^53 and 2^53+1 are two movies, each ranked under its own id.
    ratings = ([rating(u, 1, 4.0) for u in (1, BIG, BIG + 1)]
               + [rating(u, BIG, 3.0) for u in (1, 2, 3)] + [rating(u, BIG + 1, 2.0) for u in (1, 2, 3)])
    result, rows, _ = run_rank(tmp_path, ratings, fmt=fmt)
    assert result.returncode == 0, result.stderr
    assert rows[1:] == [["1", "1", "4.0", "3"], ["2", str(BIG), "3.0", "3"], ["3", str(BIG + 1), "2.0", "3"]]


def test_the_largest_64_bit_ids_are_read_exactly(tmp_path, fmt):
    top, bottom = 2**63 - 1, -2**63
    ratings = [rating(u, top, 5.0, ts=bottom) for u in (top, top - 1, bottom)]
    result, rows, _ = run_rank(tmp_path, ratings, fmt=fmt)
    assert result.returncode == 0, result.stderr
    assert rows[1:] == [["1", str(top), "5.0", "3"]]
