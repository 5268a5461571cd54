"""Columnar ratings store: four .npy columns sorted by (timestamp, userId, movieId).

Sorting once at build time gives every request a stable order (pages never
overlap or skip) and lets a date range be found by binary search, so a page
costs O(log n + limit) even at 25 million ratings. The columns are memory-mapped:
gunicorn workers share one copy through the page cache.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

COLUMNS = {
    "timestamp": np.int64,
    "userId": np.int32,
    "movieId": np.int32,
    "rating": np.float32,
}


@dataclass(frozen=True)
class RatingsStore:
    timestamp: np.ndarray
    userId: np.ndarray
    movieId: np.ndarray
    rating: np.ndarray

    def __len__(self) -> int:
        return int(self.timestamp.shape[0])

    @classmethod
    def from_arrays(cls, timestamp, user_id, movie_id, rating) -> RatingsStore:
        ts = np.asarray(timestamp, dtype=np.int64)
        users = np.asarray(user_id, dtype=np.int32)
        movies = np.asarray(movie_id, dtype=np.int32)
        ratings = np.asarray(rating, dtype=np.float32)
        if not (len(ts) == len(users) == len(movies) == len(ratings)):
            raise ValueError("rating columns differ in length")
        order = np.lexsort((movies, users, ts))
        return cls(ts[order], users[order], movies[order], ratings[order])

    @classmethod
    def load(cls, directory: str | os.PathLike) -> RatingsStore:
        directory = Path(directory)
        missing = [c for c in COLUMNS if not (directory / f"{c}.npy").is_file()]
        if missing:
            raise FileNotFoundError(
                f"ratings store {directory} lacks {', '.join(missing)}.npy; "
                "build it with `movielens-api-prepare --output-dir DIR`"
            )
        cols = {c: np.load(directory / f"{c}.npy", mmap_mode="r") for c in COLUMNS}
        # A ragged store would load and then fail every page at request time; refuse it now.
        rows = cols["timestamp"].shape
        for name, col in cols.items():
            if col.ndim != 1 or col.shape != rows:
                raise ValueError(
                    f"ratings store {directory} is damaged: {name}.npy has shape {col.shape}, timestamp.npy "
                    f"{rows}, but every column needs one value per rating; rebuild it with "
                    "`movielens-api-prepare --output-dir DIR`"
                )
        return cls(**cols)

    def save(self, directory: str | os.PathLike) -> None:
        """Write all columns to a temp folder beside `directory`, then swap it in."""
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
        tmp.chmod(0o755)  # mkdtemp makes it private; the server may run as another user
        for name in COLUMNS:
            np.save(tmp / f"{name}.npy", getattr(self, name))
        if directory.exists():
            old = directory.with_name(directory.name + ".old")
            directory.rename(old)
            tmp.rename(directory)
            for f in old.iterdir():
                f.unlink()
            old.rmdir()
        else:
            tmp.rename(directory)

    def bounds(self, start_ts: int | None, end_ts: int | None) -> tuple[int, int]:
        """Index range of ratings with start_ts <= timestamp < end_ts."""
        lo = 0 if start_ts is None else int(np.searchsorted(self.timestamp, start_ts, "left"))
        hi = len(self) if end_ts is None else int(np.searchsorted(self.timestamp, end_ts, "left"))
        return lo, max(lo, hi)

    def records(self, lo: int, hi: int) -> list[dict]:
        return [
            {"userId": u, "movieId": m, "rating": r, "timestamp": t}
            for u, m, r, t in zip(
                self.userId[lo:hi].tolist(),
                self.movieId[lo:hi].tolist(),
                self.rating[lo:hi].tolist(),
                self.timestamp[lo:hi].tolist(),
                strict=True,
            )
        ]
