"""Page cost of the ratings API as the data set grows (no full scan per request).

Builds a 100,000-rating and a 25,000,000-rating store (seeded synthetic 2019, the size
of MovieLens ml-25m), then times the same kind of requests on both through the WSGI
application: 100-rating pages of one day at several offsets (the same page size on
both, so only the store size differs). Prints the mean page
time of each and their ratio; a per-request scan would make the large store ~250x
slower, binary search keeps it near 1x.

Usage: .venv/bin/python scripts/benchmark_api_pages.py [--large N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from movielens_api.app import RatingsApp
from movielens_api.prepare import synthetic
from movielens_api.store import RatingsStore


def page_times(app: RatingsApp, rounds: int = 30) -> float:
    times = []
    for i in range(rounds):
        day = date(2019, 1 + i % 12, 1 + i % 28).isoformat()
        query = f"start_date={day}&end_date={day[:-2]}{int(day[-2:]) + 1:02d}&offset={(i % 3) * 100}&limit=100"
        started = time.perf_counter()
        app({"PATH_INFO": "/ratings", "REQUEST_METHOD": "GET", "QUERY_STRING": query,
             "HTTP_AUTHORIZATION": "Basic dTpw"}, lambda status, headers: None)
        times.append(time.perf_counter() - started)
    return statistics.mean(times[3:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=25_000_000)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in (args.small, args.large):
            print(f"[{time.strftime('%H:%M:%S')}] building a store of {size:,} ratings", flush=True)
            synthetic(size, date(2019, 1, 1), date(2020, 1, 1), seed=1).save(Path(tmp) / str(size))
            app = RatingsApp(RatingsStore.load(Path(tmp) / str(size)), "u", "p")
            results[size] = page_times(app)
            print(f"{size:>12,} ratings: {results[size] * 1000:7.2f} ms per 100-rating page", flush=True)
    ratio = results[args.large] / results[args.small]
    print(f"page time ratio {args.large:,} / {args.small:,} ratings: {ratio:.2f}x "
          f"(data {args.large / args.small:.0f}x larger)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
