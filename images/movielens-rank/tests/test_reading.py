"""read_ratings in-process with tiny batches, so that records straddle every boundary.

Polars reads the file in segments and the stdlib takes over from the first segment
polars refuses; whatever the batch size, the ratings read and the error reported
must be the ones the whole file gives.
"""

from __future__ import annotations

import json
import random
import re

import pytest

from movielens_rank import cli

SIZES = {"default": (cli.BATCH_BYTES, cli.MAX_RECORD_BYTES), "tiny": (64, 256), "small": (1000, 4096)}


@pytest.fixture(params=list(SIZES))
def sizes(request, monkeypatch):
    batch, max_record = SIZES[request.param]
    monkeypatch.setattr(cli, "BATCH_BYTES", batch)
    monkeypatch.setattr(cli, "MAX_RECORD_BYTES", max_record)
    monkeypatch.setattr(cli, "SLOW_BATCH_RECORDS", 7)
    return request.param


def records(count=60, seed=1):
    rnd = random.Random(seed)
    return [{"userId": rnd.choice([rnd.randint(1, 50), 2**53 + rnd.randint(0, 3), 2**63 - 1]),
             "movieId": rnd.randint(1, 9), "rating": rnd.choice([0, 0.5, 3, 4.5, 5.0]),
             "timestamp": rnd.randint(-2**63, 2**63 - 1)} for _ in range(count)]


def with_extras(recs):
    """The same ratings, from the 30th on with fields rank-movies ignores, some holding
    separators: polars refuses a segment in the middle and the stdlib reads on."""
    extras = [{"title": "a},{b"}, {"tags": ["x", {"y": "}, {"}]}, {"note": "é \u2603 \\\"},{\""}, {}]
    return recs[:30] + [{**r, **extras[i % len(extras)]} for i, r in enumerate(recs[30:])]


ENCODINGS = {
    "array compact": lambda recs: json.dumps(recs, separators=(",", ":")),
    "array dumps": lambda recs: json.dumps(recs) + "\n",
    "array pretty": lambda recs: json.dumps(recs, indent=2),
    "array a record a line": lambda recs: "[\n" + ",\n".join(json.dumps(r) for r in recs) + "\n]\n",
    "array spaced": lambda recs: " \n [ " + " ,\t".join(json.dumps(r) for r in recs) + " ] \r\n",
    "jsonl": lambda recs: "".join(json.dumps(r) + "\n" for r in recs),
    "jsonl crlf, blank lines, no final newline": lambda recs: "\r\n\n".join(json.dumps(r) for r in recs),
}


def read(tmp_path, text: str):
    src = tmp_path / "ratings.json"
    src.write_bytes(text.encode())
    return cli.read_ratings(src)


def ranked_columns(recs):
    return {"userId": [r["userId"] for r in recs], "movieId": [r["movieId"] for r in recs],
            "rating": [float(r["rating"]) for r in recs]}


@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("extras", [False, True], ids=["plain", "extra fields"])
def test_every_layout_reads_the_same_ratings(tmp_path, sizes, encoding, extras):
    recs = records()
    frame = read(tmp_path, ENCODINGS[encoding](with_extras(recs) if extras else recs))
    assert frame.to_dict(as_series=False) == ranked_columns(recs)


@pytest.mark.parametrize("text", ["[]", " [ ]\n", "\n \n", "[\n]"])
def test_empty_days(tmp_path, sizes, text):
    assert read(tmp_path, text).height == 0


def json_position(text: str) -> str:
    """Where the stdlib's json puts the first syntax error of the whole file."""
    with pytest.raises(json.JSONDecodeError) as exc:
        json.loads(text)
    return f"line {exc.value.lineno} column {exc.value.colno}"


@pytest.mark.parametrize("layout", ["array compact", "array pretty", "array a record a line"])
@pytest.mark.parametrize("break_it, message", [
    (lambda t: t.rstrip()[:-1], "the file ends inside the array"),
    (lambda t: t.rstrip()[:-1] + ",]", "record 60 is not valid JSON"),
    (lambda t: t + "x", "Extra data after the array"),
    (lambda t: t[::-1].replace("}", "}}", 1)[::-1], "Expecting ',' delimiter or ']' after record 59"),
])
def test_broken_json_is_located_like_the_stdlib_does(tmp_path, sizes, layout, break_it, message):
    text = break_it(ENCODINGS[layout](records()))
    with pytest.raises(cli.RankError) as exc:
        read(tmp_path, text)
    assert message in str(exc.value)
    assert f"at {json_position(text)}:" in str(exc.value)


@pytest.mark.parametrize("layout", ["array compact", "array pretty", "array a record a line"])
@pytest.mark.parametrize("index", [0, 1, 37, 59])
def test_a_record_broken_inside_names_its_index_and_position(tmp_path, sizes, layout, index):
    recs = records()
    text = ENCODINGS[layout](recs)
    # Drop the comma after the record's movieId: the stdlib and rank-movies must agree.
    start = 0
    for _ in range(index + 1):
        start = text.index('"movieId"', start) + 1
    comma = text.index(",", start)
    broken = text[:comma] + text[comma + 1:]
    with pytest.raises(cli.RankError) as exc:
        read(tmp_path, broken)
    assert f"record {index} is not valid JSON at {json_position(broken)}: Expecting ',' delimiter" in str(exc.value)


@pytest.mark.parametrize("encoding", ["array compact", "array dumps", "array pretty", "array a record a line",
                                      "jsonl"])
@pytest.mark.parametrize("index", [0, 1, 31, 58])
@pytest.mark.parametrize("field, value, problem", [
    ("userId", 1e20, "userId is not an integer"),
    ("movieId", 2**64, "movieId is outside the 64-bit integer range"),
    ("timestamp", 3.0, "timestamp is not an integer"),
    ("rating", -0.5, "rating -0.5 is outside 0..5"),
    ("rating", None, "missing rating"),
])
def test_the_first_bad_record_is_named_wherever_it_is(tmp_path, sizes, encoding, index, field, value, problem):
    recs = records()
    recs[index] = {**recs[index], field: value}
    recs[-1] = {**recs[-1], "rating": 9}  # a later bad record must not be the one reported
    with pytest.raises(cli.RankError) as exc:
        read(tmp_path, ENCODINGS[encoding](recs))
    where = f"line {index + 1}" if encoding == "jsonl" else f"record {index}"
    assert re.search(rf": {where} \{{.*\}}: {re.escape(problem)}", str(exc.value)), str(exc.value)


def test_a_bad_line_after_crlf_and_blank_lines_is_numbered_by_the_file(tmp_path, sizes):
    lines = [json.dumps(r) for r in records()]
    lines[40] = lines[40][:-1]
    text = "\r\n\n".join(lines) + "\n"  # record i sits on line 2 * i + 1
    with pytest.raises(cli.RankError, match=r": line 81 is not valid JSON: "):
        read(tmp_path, text)


def test_non_utf8_text_is_refused(tmp_path, sizes):
    src = tmp_path / "ratings.json"
    src.write_bytes(b"[" + json.dumps(records()[0]).encode()[:-1] + b', "t": "\xff"}]')
    with pytest.raises(cli.RankError, match="not UTF-8 text"):
        cli.read_ratings(src)


def test_an_overlong_record_is_refused_not_buffered(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "BATCH_BYTES", 64)
    monkeypatch.setattr(cli, "MAX_RECORD_BYTES", 256)
    line = json.dumps({**records()[0], "padding": "x" * 1000})
    with pytest.raises(cli.RankError, match="line 2 is longer than 256 bytes"):
        read(tmp_path, json.dumps(records()[1]) + "\n" + line + "\n")
