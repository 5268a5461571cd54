"""rank-movies' peak memory on a large day: the task pod has a memory limit.

Each case runs the real CLI and reads its peak RSS from os.wait4. Linux counts in a
child's peak the memory its parent had when it forked, so the CLI is started by a small
launcher process, not by this test process (which holds whatever earlier tests loaded).
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

RANK = str(Path(sys.executable).with_name("rank-movies"))
RATINGS = 300_000  # ~20 MB of JSON; the unbounded reader peaked at ~400 MB on it
PEAK_RSS_MB = 250  # ~80 MB is the interpreter with polars loaded


def synthetic_ratings(count: int) -> list[bytes]:
    rnd = random.Random(2019)
    return [b'{"userId":%d,"movieId":%d,"rating":%.1f,"timestamp":%d}'
            % (rnd.randint(1, 162_541), rnd.randint(1, 3_000), rnd.randint(1, 10) / 2,
               1_546_300_800 + rnd.randrange(86_400)) for _ in range(count)]


def expected_ranking(records: list[bytes], min_ratings: int = 2) -> list[list[str]]:
    """The ranking computed in plain Python from the same records."""
    sums, counts, users = defaultdict(float), defaultdict(int), defaultdict(set)
    for record in records:
        fields = dict(part.split(b":") for part in record.strip(b"{}").split(b","))
        movie = int(fields[b'"movieId"'])
        sums[movie] += float(fields[b'"rating"'])  # halves: every partial sum is exact
        counts[movie] += 1
        users[movie].add(int(fields[b'"userId"']))
    kept = [(sums[m] / counts[m], len(users[m]), m) for m in sums if len(users[m]) > min_ratings]
    kept.sort(key=lambda row: (-row[0], -row[1], row[2]))
    return [[str(rank), str(m), repr(avg), str(n)] for rank, (avg, n, m) in enumerate(kept, start=1)]


# Runs argv[1:], then prints its exit code and peak RSS (kilobytes) on stdout.
LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def run_measured(src: Path, out: Path) -> tuple[int, str, float]:
    """Run rank-movies; returns its exit code, stderr and peak RSS in MB."""
    result = subprocess.run([sys.executable, "-c", LAUNCHER, RANK, "--input-path", str(src), "--output-path",
                             str(out)], capture_output=True, text=True, timeout=300, check=True)
    code, peak_kb = result.stdout.split()
    return int(code), result.stderr, int(peak_kb) / 1024


@pytest.fixture(scope="module")
def records() -> list[bytes]:
    return synthetic_ratings(RATINGS)


@pytest.mark.parametrize("fmt", ["jsonl", "array"])
@pytest.mark.parametrize("bad_last", [False, True], ids=["good", "bad-last-record"])
def test_a_large_day_stays_within_the_memory_bound(tmp_path, records, fmt, bad_last):
    if bad_last:
        records = records[:-1] + [b'{"userId":1,"movieId":1,"rating":9.0,"timestamp":1546300800}']
    src, out = tmp_path / "2019-01-01.json", tmp_path / "2019-01-01.csv"
    src.write_bytes(b"".join(r + b"\n" for r in records) if fmt == "jsonl" else b"[" + b",".join(records) + b"]")
    code, stderr, peak_mb = run_measured(src, out)
    if bad_last:
        where = f"line {RATINGS}" if fmt == "jsonl" else f"record {RATINGS - 1}"
        assert code == 1 and f"{where} " in stderr and "rating 9.0 is outside 0..5" in stderr, stderr
        assert not out.exists()
    else:
        assert code == 0, stderr
        rows = [line.split(",") for line in out.read_text().splitlines()]
        assert rows[0] == ["rank", "movieId", "avg_rating", "num_ratings"]
        assert rows[1:] == expected_ranking(records)
    assert peak_mb < PEAK_RSS_MB, f"rank-movies peaked at {peak_mb:.0f} MB on {RATINGS} ratings"
