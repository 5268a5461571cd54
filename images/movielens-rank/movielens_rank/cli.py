"""rank-movies: rank one day's movies by average rating (the book's ranking).

Input: {"userId", "movieId", "rating", "timestamp"} objects, either as the book's
single JSON array or as JSON Lines (one object per line, fetch-ratings' default);
the first character tells which. An empty file is a day without ratings. userId,
movieId and timestamp must be JSON integers that fit 64 bits (42, not 42.0, 4.2e1
or "42"); rating a number in 0..5. Output: CSV with header
rank,movieId,avg_rating,num_ratings where avg_rating is the mean rating,
num_ratings the number of distinct users, only movies with
num_ratings > --min-ratings kept, sorted by avg_rating descending; ties go to
more ratings first, then the lower movieId, so the order is deterministic.

Exit status: 0 ranking written, 1 unreadable or malformed input (the message names
the file, the first bad record and what is wrong) or unwritable output, 2 bad
arguments.
"""

from __future__ import annotations

import argparse
import codecs
import json
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import polars as pl

log = logging.getLogger("rank-movies")

# Ids are read as Int64, never through a float: a float64 cannot tell 2^53 from
# 2^53 + 1. Polars' JSON Lines reader is strict for an Int64 column (it refuses 3.0,
# 1e2, "3", true and anything outside 64 bits), exactly like _record_problem.
SCHEMA = {"userId": pl.Int64, "movieId": pl.Int64, "rating": pl.Float64, "timestamp": pl.Int64}
INTEGER_FIELDS = [name for name, kind in SCHEMA.items() if kind == pl.Int64]
RANKED = {"userId": pl.Int64, "movieId": pl.Int64, "rating": pl.Float64}  # timestamp is only checked
OUTPUT_COLUMNS = ["rank", "movieId", "avg_rating", "num_ratings"]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# Polars parses this much JSON at a time, so the input never sits in memory whole;
# only the three ranked columns (24 bytes a rating) add up.
BATCH_BYTES = 8 << 20
# A rating is ~70 bytes. Anything this long is refused rather than buffered whole.
MAX_RECORD_BYTES = 1 << 20
SLOW_BATCH_RECORDS = 100_000
JSON_WHITESPACE = b" \t\n\r"
WHITESPACE = re.compile(r"[ \t\n\r]*")
# How fetch-ratings (orjson), json.dumps and one-record-a-line arrays separate
# records. Each becomes a line break of the same length, so offsets still match.
SEPARATORS = {b"},{": b"}\n{", b"}, {": b"}\n {", b"},\n{": b"}\n\n{"}

BAD_ROW = pl.any_horizontal(pl.all().is_null()) | ~pl.col("rating").is_between(0, 5)


class RankError(Exception):
    pass


def read_ratings(path: Path) -> pl.DataFrame:
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise RankError(f"cannot read {path}: {exc.strerror}; did fetch-ratings run for this date?") from exc
    with fh:
        first, start = _first_byte(fh)
        if first == b"":
            return pl.DataFrame(schema=RANKED)
        if first not in (b"{", b"["):
            raise RankError(_not_ratings(path, fh))
        json_lines = first == b"{"
        segments = _jsonl_segments(fh, start) if json_lines else _array_segments(fh, start + 1)
        frames, rows = [], 0
        for offset, ndjson in segments:
            frame = _parse_fast(ndjson)
            if frame is None:
                # Polars refused this segment but cannot say where. From here on the
                # stdlib reads record by record: it names the first bad record, or,
                # for valid JSON that is not one record a line (a pretty-printed
                # array), reads the rest itself.
                frames.extend(_read_slowly(path, fh, json_lines, offset, rows))
                break
            frames.append(frame)
            rows += frame.height
    return pl.concat(frames) if frames else pl.DataFrame(schema=RANKED)


def _first_byte(fh: BinaryIO) -> tuple[bytes, int]:
    """The first non-whitespace byte and its offset; b"" for a blank file."""
    offset = 0
    while chunk := fh.read(4096):
        stripped = chunk.lstrip(JSON_WHITESPACE)
        if stripped:
            return stripped[:1], offset + len(chunk) - len(stripped)
        offset += len(chunk)
    return b"", offset


def _jsonl_segments(fh: BinaryIO, offset: int) -> Iterator[tuple[int, bytes | None]]:
    """Whole lines, about BATCH_BYTES at a time, each with the file offset it starts at.

    None instead of the lines means polars cannot take the file from that offset on.
    """
    fh.seek(offset)
    pending = b""
    while block := fh.read(BATCH_BYTES):
        buf = pending + block
        cut = buf.rfind(b"\n") + 1
        if not cut:
            if len(buf) > MAX_RECORD_BYTES:
                yield offset, None
                return
            pending = buf
            continue
        yield offset, buf[:cut]
        offset += cut
        pending = buf[cut:]
    if pending:
        yield offset, pending


def _array_segments(fh: BinaryIO, offset: int) -> Iterator[tuple[int, bytes | None]]:
    """The array after its "[" as JSON Lines, about BATCH_BYTES at a time, each with
    the file offset of its first record. None instead of the lines means polars
    cannot read on from that offset.

    A separator may also sit inside a string; then a piece between two is no JSON
    object and polars refuses the segment. So once polars has read every piece as an
    object, each cut was a real boundary between records.
    """
    fh.seek(offset)
    pending, at_start = b"", True
    while block := fh.read(BATCH_BYTES):
        buf = pending + block
        if at_start:
            # Every segment starts at a record's "{", the first one too.
            stripped = buf.lstrip(JSON_WHITESPACE)
            offset += len(buf) - len(stripped)
            buf, at_start = stripped, not stripped
        cut = max(buf.rfind(separator) for separator in SEPARATORS)
        if cut < 0:
            if len(buf) > MAX_RECORD_BYTES:
                yield offset, None
                return
            pending = buf
            continue
        segment = buf[:cut + 1]
        if not _only_separators_break_lines(segment):
            yield offset, None
            return
        yield offset, _as_json_lines(segment)
        start = buf.index(b"{", cut + 1)
        offset += start
        pending = buf[start:]
    body = pending.rstrip(JSON_WHITESPACE)
    if not body.endswith(b"]"):
        yield offset, None
        return
    body = body[:-1].rstrip(JSON_WHITESPACE)
    if body:
        yield offset, _as_json_lines(body) if _only_separators_break_lines(body) else None


def _only_separators_break_lines(segment: bytes) -> bool:
    # Any other newline would end a line in the middle of a record, or let polars
    # read two records with no comma between them as two lines.
    return segment.count(b"\n") == segment.count(b"},\n{")


def _as_json_lines(segment: bytes) -> bytes:
    for separator, newline in SEPARATORS.items():
        segment = segment.replace(separator, newline)
    return segment


def _parse_fast(ndjson: bytes | None) -> pl.DataFrame | None:
    """Polars' reading of one segment, or None if it holds anything but valid ratings."""
    if ndjson is None:
        return None
    try:
        frame = pl.read_ndjson(ndjson, schema=SCHEMA)
    except (Exception, pl.exceptions.PanicException):  # polars raises several kinds for bad JSON or types
        return None
    if frame.select(BAD_ROW.any()).item():
        return None
    return frame.select(list(RANKED))


def _read_slowly(path: Path, fh: BinaryIO, json_lines: bool, offset: int, index: int) -> Iterator[pl.DataFrame]:
    """The ratings from `offset` on, read by the stdlib a record at a time.

    `index` is the number of records before `offset`. Raises RankError naming the
    first bad record; holds no more than SLOW_BATCH_RECORDS records as Python objects.
    """
    records = _jsonl_records(path, fh, offset) if json_lines else _array_records(path, fh, offset, index)
    where = "line" if json_lines else "record"
    columns: dict[str, list] = {name: [] for name in RANKED}
    for number, record in records:
        problem = _record_problem(record)
        if problem:
            raise RankError(f"{path}: {where} {number} {json.dumps(record)[:200]}: {problem}")
        columns["userId"].append(record["userId"])
        columns["movieId"].append(record["movieId"])
        columns["rating"].append(float(record["rating"]))
        if len(columns["userId"]) >= SLOW_BATCH_RECORDS:
            yield pl.DataFrame(columns, schema=RANKED)
            columns = {name: [] for name in RANKED}
    yield pl.DataFrame(columns, schema=RANKED)


def _record_problem(record) -> str | None:
    if not isinstance(record, dict):
        return "is not an object"
    for field in SCHEMA:
        value = record.get(field)
        if value is None:
            return f"missing {field}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{field} is not a number"
        if field in INTEGER_FIELDS:
            # A JSON number with a fraction or an exponent is a float here, and may
            # already have lost digits: ids must be written as integers.
            if not isinstance(value, int):
                return f"{field} is not an integer; write ids and timestamps as JSON integers (42, not 42.0 or 4.2e1)"
            if not INT64_MIN <= value <= INT64_MAX:
                return f"{field} is outside the 64-bit integer range -2^63..2^63-1"
    if not 0 <= record["rating"] <= 5:
        return f"rating {record['rating']} is outside 0..5"
    return None


def _jsonl_records(path: Path, fh: BinaryIO, offset: int) -> Iterator[tuple[int, object]]:
    """(line number, record) for each non-blank line from `offset` on."""
    line_no = _newlines_before(fh, offset)
    fh.seek(offset)
    while line := fh.readline(MAX_RECORD_BYTES + 1):
        line_no += 1
        if len(line) > MAX_RECORD_BYTES:
            raise RankError(f"{path}: line {line_no} is longer than {MAX_RECORD_BYTES} bytes; "
                            "JSON Lines holds one rating object per line")
        if not line.strip():
            continue
        try:
            yield line_no, json.loads(line)
        except json.JSONDecodeError as exc:
            raise RankError(f"{path}: line {line_no} is not valid JSON: {exc.msg}: {line[:200]!r}") from None
        except UnicodeDecodeError:
            raise RankError(f"{path}: line {line_no} is not UTF-8 text: {line[:200]!r}") from None


def _array_records(path: Path, fh: BinaryIO, offset: int, index: int) -> Iterator[tuple[int, object]]:
    """(index, record) for each record from `offset` on, just after the array's "["
    (when index is 0) or after the "," that follows record index - 1."""
    text = _JsonText(path, fh, offset)
    may_close = index == 0  # "[]"
    while True:
        char = text.skip_whitespace()
        if not char:
            raise text.error("the file ends inside the array")
        if not (char == "]" and may_close):
            yield index, text.decode_value(index)
            index += 1
            char = text.skip_whitespace()
            if char == ",":
                text.pos += 1
                may_close = False
                continue
        if char == "]":
            break
        raise text.error(f"Expecting ',' delimiter or ']' after record {index - 1}" if char
                         else "the file ends inside the array")
    text.pos += 1
    if text.skip_whitespace():
        raise text.error("Extra data after the array")


class _JsonText:
    """The file from a byte offset on as text for json's decoder, MAX_RECORD_BYTES at
    a time: enough for any record, never the whole file."""

    def __init__(self, path: Path, fh: BinaryIO, offset: int):
        self.path, self.fh, self.offset = path, fh, offset
        fh.seek(offset)
        self.utf8 = codecs.getincrementaldecoder("utf-8")()
        self.json = json.JSONDecoder()
        self.buf, self.pos, self.eof = "", 0, False
        # Newlines in, and characters after the last newline of, the text dropped.
        self.dropped_lines, self.dropped_column = 0, 0

    def read_more(self) -> bool:
        """Drop the text before pos and read on; False at the end of the file."""
        if self.eof:
            return False
        newlines = self.buf.count("\n", 0, self.pos)
        if newlines:
            self.dropped_lines += newlines
            self.dropped_column = self.pos - self.buf.rfind("\n", 0, self.pos) - 1
        else:
            self.dropped_column += self.pos
        chunk = self.fh.read(MAX_RECORD_BYTES)
        try:
            text = self.utf8.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            byte = self.fh.tell() - len(chunk) + exc.start
            raise RankError(f"{self.path}: not UTF-8 text near byte {byte}") from None
        self.buf, self.pos, self.eof = self.buf[self.pos:] + text, 0, not chunk
        return True

    def skip_whitespace(self) -> str:
        """The next character after whitespace, or "" at the end of the file."""
        while True:
            self.pos = WHITESPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.read_more():
                return ""

    def decode_value(self, index: int):
        while True:
            try:
                value, end = self.json.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                # Usually the record goes on in the next chunk; with a whole
                # record's worth of text after its start, it is broken.
                if len(self.buf) - self.pos < MAX_RECORD_BYTES and self.read_more():
                    continue
                self.pos = exc.pos
                raise self.error(exc.msg, index) from None
            # A number at the end of the text may go on in the next chunk.
            if end == len(self.buf) and self.read_more():
                continue
            self.pos = end
            return value

    def error(self, msg: str, index: int | None = None) -> RankError:
        line, column = _line_and_column(self.fh, self.offset)
        newlines = self.buf.count("\n", 0, self.pos)
        if newlines:
            line += self.dropped_lines + newlines
            column = self.pos - self.buf.rfind("\n", 0, self.pos) - 1
        elif self.dropped_lines:
            line += self.dropped_lines
            column = self.dropped_column + self.pos
        else:
            column += self.dropped_column + self.pos
        what = f"record {index} is not" if index is not None else "not"
        return RankError(f"{self.path}: {what} valid JSON at line {line + 1} column {column + 1}: {msg}")


def _newlines_before(fh: BinaryIO, offset: int) -> int:
    fh.seek(0)
    count = 0
    while offset > 0 and (chunk := fh.read(min(BATCH_BYTES, offset))):
        count += chunk.count(b"\n")
        offset -= len(chunk)
    return count


def _line_and_column(fh: BinaryIO, offset: int) -> tuple[int, int]:
    """Newlines before `offset`, and characters between the last of them and `offset`."""
    fh.seek(0)
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
    lines = column = 0
    while offset > 0 and (chunk := fh.read(min(BATCH_BYTES, offset))):
        offset -= len(chunk)
        text = utf8.decode(chunk, final=offset <= 0)
        newlines = text.count("\n")
        if newlines:
            lines += newlines
            column = len(text) - text.rfind("\n") - 1
        else:
            column += len(text)
    return lines, column


def _not_ratings(path: Path, fh: BinaryIO) -> str:
    """Why a file that starts with neither "[" nor "{" holds no ratings."""
    fh.seek(0)
    text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(fh.read(MAX_RECORD_BYTES))
    try:
        value, _ = json.JSONDecoder().raw_decode(text, WHITESPACE.match(text).end())
    except json.JSONDecodeError as exc:
        return f"{path}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
    return (f"{path}: expected a JSON array of ratings, found {type(value).__name__}; "
            "fetch-ratings writes JSON Lines or a JSON array of rating objects")


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
