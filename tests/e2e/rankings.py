"""The rankings a run loaded, against the book's ranking computed here from the API's data."""

from __future__ import annotations

from datetime import date, timedelta

from tests.support.ranking import book_ranking


def ranking_rows(query, day: str) -> list[tuple]:
    return query("SELECT movie_rank, movie_id, avg_rating, num_ratings FROM movie_rankings "
                 "WHERE ranking_date = %s ORDER BY movie_rank", (day,))


def assert_matches_independent_ranking(rows, ratings):
    want = book_ranking((r["userId"], r["movieId"], r["rating"]) for r in ratings)
    assert want, "the day should rank some movies"
    assert [(r, m, n) for r, m, _, n in rows] == [(r, m, n) for r, m, _, n in want]
    assert all(abs(a - b) < 1e-9 for (_, _, a, _), (_, _, b, _) in zip(rows, want, strict=True))


def assert_day_is_right(rankings_db, ratings_api, day: str) -> None:
    """The day's rows in MySQL equal the ranking of the day's ratings from the API."""
    end = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    assert_matches_independent_ranking(ranking_rows(rankings_db, day), ratings_api(day, end))


def logical_date_of(day: str) -> str:
    """The logical date of the daily run whose data interval starts on `day`."""
    return f"{(date.fromisoformat(day) + timedelta(days=1)).isoformat()}T00:00:00Z"
