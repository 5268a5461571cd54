"""The book's ranking computed independently of rank-movies, in plain Python."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable


def book_ranking(ratings: Iterable[tuple[int, int, float]], min_ratings: int = 2) -> list[tuple]:
    """(rank, movieId, avg_rating, num_ratings) from (userId, movieId, rating) triples:
    mean rating, distinct users, more than min_ratings users, best first; ties go to more
    ratings, then the lower movieId."""
    values, users = defaultdict(list), defaultdict(set)
    for user, movie, rating in ratings:
        values[movie].append(rating)
        users[movie].add(user)
    kept = [(sum(v) / len(v), len(users[m]), m) for m, v in values.items() if len(users[m]) > min_ratings]
    kept.sort(key=lambda x: (-x[0], -x[1], x[2]))
    return [(rank, movie, avg, n) for rank, (avg, n, movie) in enumerate(kept, start=1)]
