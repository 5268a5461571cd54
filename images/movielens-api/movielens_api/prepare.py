"""Build the ratings store at image build time.

Sources, first match wins:
  --ratings-csv PATH     a MovieLens ratings.csv (userId,movieId,rating,timestamp)
  --download-url URL     a MovieLens zip (e.g. ml-25m.zip) or ratings.csv to fetch
  otherwise              a seeded synthetic data set with the same schema

MovieLens data may not be redistributed: it is never committed, only read here.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import shutil
import sys
import tempfile
import urllib.request
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from .store import RatingsStore

log = logging.getLogger("movielens-api-prepare")

# Rating values of MovieLens: half stars from 0.5 to 5.0, skewed towards 3-4 like the real data.
RATING_VALUES = np.arange(1, 11, dtype=np.float32) / 2
RATING_WEIGHTS = np.array([1, 3, 2, 7, 5, 20, 13, 27, 8, 14], dtype=np.float64)


def to_timestamp(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def synthetic(count: int, start: date, end: date, seed: int) -> RatingsStore:
    """Deterministic ratings shaped like a year of real MovieLens: same (count, range, seed)
    gives the same store.

    About 40 ratings per user and 33 per movie on average; movie popularity follows a Zipf
    law (the 1% most rated movies take about 40% of the ratings, most movies a handful),
    and a user rates a movie at most once. At the default million ratings over 2019 a day
    has about 2,700 ratings and ranks about 300 movies at min_ratings=2.
    """
    rng = np.random.default_rng(seed)
    lo, hi = to_timestamp(start), to_timestamp(end)
    n_users = max(count // 40, 10)
    n_movies = max(count // 33, 10, -(-2 * count // n_users))  # room for twice the distinct pairs
    popularity = 1.0 / (np.arange(1, n_movies + 1) + 10.0)
    popularity /= popularity.sum()
    # Popularity by rank, not by id: the most rated movie is some id, as in the real data.
    movie_of_rank = rng.permutation(n_movies).astype(np.int64) + 1
    pairs = np.empty(0, dtype=np.int64)  # user * (n_movies + 1) + movie, in draw order
    while len(pairs) < count:
        draws = int((count - len(pairs)) * 1.3) + 100
        users = rng.integers(1, n_users + 1, size=draws, dtype=np.int64)
        movies = movie_of_rank[rng.choice(n_movies, size=draws, p=popularity)]
        pairs = np.concatenate([pairs, users * (n_movies + 1) + movies])
        _, first = np.unique(pairs, return_index=True)  # a repeated pair keeps its first draw
        pairs = pairs[np.sort(first)][:count]
    timestamp = rng.integers(lo, hi, size=count, dtype=np.int64)
    rating = rng.choice(RATING_VALUES, size=count, p=RATING_WEIGHTS / RATING_WEIGHTS.sum())
    return RatingsStore.from_arrays(timestamp, (pairs // (n_movies + 1)).astype(np.int32),
                                    (pairs % (n_movies + 1)).astype(np.int32), rating)


def from_csv(stream: io.TextIOBase, start: date, end: date, source: str) -> RatingsStore:
    lo, hi = to_timestamp(start), to_timestamp(end)
    reader = csv.reader(stream)
    header = next(reader, None)
    expected = ["userId", "movieId", "rating", "timestamp"]
    if header != expected:
        raise ValueError(f"{source}: header is {header}, expected {','.join(expected)}")
    ts, users, movies, ratings = [], [], [], []
    for line_no, row in enumerate(reader, start=2):
        try:
            t = int(row[3])
            if lo <= t < hi:
                users.append(int(row[0]))
                movies.append(int(row[1]))
                ratings.append(float(row[2]))
                ts.append(t)
        except (ValueError, IndexError) as exc:
            raise ValueError(f"{source}:{line_no}: bad rating row {row!r}: {exc}") from exc
        if line_no % 5_000_000 == 0:
            log.info("read %d rows, kept %d", line_no - 1, len(ts))
    return RatingsStore.from_arrays(ts, users, movies, ratings)


def read_csv_path(path: Path, start: date, end: date) -> RatingsStore:
    with open(path, newline="", encoding="utf-8") as fh:
        return from_csv(fh, start, end, str(path))


def download(url: str, start: date, end: date) -> RatingsStore:
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"{url}: only http(s) download URLs are supported")
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "download"
        log.info("downloading %s", url)
        # The scheme is checked above: no file:// or custom handlers.
        with urllib.request.urlopen(url, timeout=60) as resp, open(target, "wb") as out:  # noqa: S310
            shutil.copyfileobj(resp, out, length=1 << 20)
        if zipfile.is_zipfile(target):
            with zipfile.ZipFile(target) as zf:
                names = [n for n in zf.namelist() if n.endswith("/ratings.csv") or n == "ratings.csv"]
                if not names:
                    raise ValueError(f"{url}: the archive holds no ratings.csv")
                with zf.open(names[0]) as raw:
                    return from_csv(io.TextIOWrapper(raw, encoding="utf-8", newline=""), start, end, url)
        return read_csv_path(target, start, end)


def parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; use YYYY-MM-DD") from None


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(prog="movielens-api-prepare", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--output-dir", required=True, type=Path)
    p.add_argument("--ratings-csv", type=Path)
    p.add_argument("--download-url")
    p.add_argument("--start-date", type=parse_date, default=date(2019, 1, 1), help="inclusive")
    p.add_argument("--end-date", type=parse_date, default=date(2020, 1, 1), help="exclusive")
    p.add_argument("--synthetic-count", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=2019)
    args = p.parse_args(argv)
    if args.end_date <= args.start_date:
        p.error("--end-date must be after --start-date")
    if args.synthetic_count < 0:
        p.error("--synthetic-count must not be negative")
    try:
        if args.ratings_csv:
            store = read_csv_path(args.ratings_csv, args.start_date, args.end_date)
        elif args.download_url:
            store = download(args.download_url, args.start_date, args.end_date)
        else:
            store = synthetic(args.synthetic_count, args.start_date, args.end_date, args.seed)
    except (OSError, ValueError) as exc:
        log.error("%s", exc)
        return 1
    store.save(args.output_dir)
    log.info("wrote %d ratings to %s", len(store), args.output_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
