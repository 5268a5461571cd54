"""rank-movies: rank one day's movies by average rating (the book's ranking).

Input: {"userId", "movieId", "rating", "timestamp"} objects, either as the book's
single JSON array or as JSON Lines (one object per line, fetch-ratings' default);
the first character tells which. An empty JSON Lines file is a day without ratings. Output: CSV with header
rank,movieId,avg_rating,num_ratings where avg_rating is the mean rating,
num_ratings the number of distinct users, only movies with
num_ratings > --min-ratings kept, sorted by avg_rating descending; ties go to
more ratings first, then the lower movieId, so the order is deterministic.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

log = logging.getLogger("rank-movies")

SCHEMA = {"userId": pl.Int64, "movieId": pl.Int64, "rating": pl.Float64, "timestamp": pl.Int64}
OUTPUT_COLUMNS = ["rank", "movieId", "avg_rating", "num_ratings"]


class RankError(Exception):
    pass


def _describe_bad_record(path: Path, json_lines: bool) -> str:
    """Slow path, only after the fast reader failed: find the first bad record."""
    text = path.read_bytes()
    try:
        if json_lines:
            records = []
            for line_no, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    try:
                        records.append((f"line {line_no}", json.loads(line)))
                    except json.JSONDecodeError as exc:
                        return f"{path}: line {line_no} is not valid JSON: {exc.msg}: {line[:200]!r}"
        else:
            data = json.loads(text)
            if not isinstance(data, list):
                return f"{path}: expected a JSON array of ratings, found {type(data).__name__}"
            records = [(f"record {index}", record) for index, record in enumerate(data)]
    except json.JSONDecodeError as exc:
        return f"{path}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
    except UnicodeDecodeError as exc:
        return f"{path}: not UTF-8 text: {exc}"
    for where, record in records:
        problem = _record_problem(record)
        if problem:
            return f"{path}: {where} {json.dumps(record)[:200]}: {problem}"
    return f"{path}: unreadable ratings file"


def _record_problem(record) -> str | None:
    if not isinstance(record, dict):
        return "is not an object"
    for field, kind in SCHEMA.items():
        value = record.get(field)
        if value is None:
            return f"missing {field}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{field} is not a number"
        if kind is pl.Int64 and not (isinstance(value, int) or float(value).is_integer()):
            return f"{field} is not an integer"
    if not 0 <= record["rating"] <= 5:
        return f"rating {record['rating']} is outside 0..5"
    return None


def _first_byte(path: Path) -> bytes:
    with open(path, "rb") as fh:
        while chunk := fh.read(4096):
            stripped = chunk.lstrip()
            if stripped:
                return stripped[:1]
    return b""


def read_ratings(path: Path) -> pl.DataFrame:
    try:
        first = _first_byte(path)
    except OSError as exc:
        raise RankError(f"cannot read {path}: {exc.strerror}; did fetch-ratings run for this date?") from exc
    if first == b"":
        return pl.DataFrame(schema=SCHEMA)
    json_lines = first == b"{"
    # Read every column as Float64 so that a fractional id is caught here, not truncated.
    float_schema = {name: pl.Float64 for name in SCHEMA}
    try:
        frame = pl.read_ndjson(path, schema=float_schema) if json_lines else pl.read_json(path, schema=float_schema)
    except Exception as exc:  # polars raises several kinds for bad JSON or types
        raise RankError(_describe_bad_record(path, json_lines)) from exc
    integer_columns = [name for name, kind in SCHEMA.items() if kind is pl.Int64]
    bad = (
        pl.any_horizontal(pl.all().is_null())
        | ~pl.col("rating").is_between(0, 5)
        | pl.any_horizontal(pl.col(integer_columns) != pl.col(integer_columns).floor())
    )
    if frame.select(bad.any()).item():
        raise RankError(_describe_bad_record(path, json_lines))
    return frame.cast(SCHEMA)


def rank_movies(ratings: pl.DataFrame, min_ratings: int) -> pl.DataFrame:
    return (
        ratings.group_by("movieId")
        .agg(avg_rating=pl.col("rating").mean(), num_ratings=pl.col("userId").n_unique())
        .filter(pl.col("num_ratings") > min_ratings)
        .sort(["avg_rating", "num_ratings", "movieId"], descending=[True, True, False])
        .with_row_index("rank", offset=1)
        .select(OUTPUT_COLUMNS)
    )


def write_csv_atomic(frame: pl.DataFrame, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            frame.write_csv(out)
        os.replace(tmp_name, output)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(prog="rank-movies", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input-path", type=Path, required=True, help="ratings JSON from fetch-ratings")
    p.add_argument("--output-path", type=Path, required=True, help="rankings CSV to write")
    p.add_argument("--min-ratings", type=int, default=2,
                   help="keep movies rated by more than this many users (default 2)")
    args = p.parse_args(argv)
    if args.min_ratings < 0:
        p.error("--min-ratings must not be negative")
    started = time.monotonic()
    try:
        ratings = read_ratings(args.input_path)
        log.info("read %d ratings from %s", ratings.height, args.input_path)
        rankings = rank_movies(ratings, args.min_ratings)
        write_csv_atomic(rankings, args.output_path)
    except (RankError, OSError) as exc:
        log.error("%s", exc)
        return 1
    log.info("wrote %d ranked movies to %s in %.2fs", rankings.height, args.output_path,
             time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
