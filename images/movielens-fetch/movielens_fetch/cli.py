"""fetch-ratings: write the ratings of [start-date, end-date) to a JSON file.

It asks the API for JSON Lines pages (Accept: application/x-ndjson) and writes them
as they come; an API that only speaks the book's JSON pages works too.

Credentials come from --user/--password or the API_USER/API_PASSWORD environment
variables; they are never logged. Each rating is a {"userId", "movieId", "rating",
"timestamp"} object. --format jsonl (the default) writes one object per line (JSON
Lines: streams, and rank-movies reads it several times faster); --format array writes
the book's single JSON array. Either way the file is written to a temp file beside the
target and renamed into place only once every record has arrived. SIGTERM removes the
temp file; each run first removes those that killed runs for the same target left.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import requests

log = logging.getLogger("fetch-ratings")

RETRYABLE_STATUS = range(500, 600)


class FetchError(Exception):
    """A failure the user must act on; the message says what and how."""


class CutShort(Exception):
    """A JSON Lines body that stopped mid-line: a connection closed early where no Content-Length tells."""


# Transport failures, worth another try. requests reads the body inside get(), so a
# response cut off mid-body raises here too (ChunkedEncodingError, despite its name,
# also covers a body shorter than its Content-Length).
RETRYABLE_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError, CutShort)
CUT_OFF = (requests.exceptions.ChunkedEncodingError, CutShort)


class Terminated(BaseException):
    """SIGTERM or SIGINT arrived; a BaseException, so it unwinds past every `except Exception`."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signal = signal.Signals(signum)


def terminate(signum: int, frame) -> None:
    # Ignore repeats: a second SIGTERM must not interrupt the cleanup of the first.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


NDJSON = "application/x-ndjson"


@dataclass(frozen=True)
class Page:
    total: int
    count: int
    lines: bytes  # the page's ratings as JSON Lines, each line ending in a newline


class RatingsClient:
    def __init__(self, host: str, user: str, password: str, *, timeout: float = 20.0,
                 max_retries: int = 5, backoff: float = 1.0):
        self.base_url = host if "://" in host else f"http://{host}"
        self.base_url = self.base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.session = requests.Session()  # one pooled keep-alive connection for every page
        self.session.auth = (user, password)

    def close(self) -> None:
        self.session.close()

    def get_page(self, params: dict) -> Page:
        url = f"{self.base_url}/ratings"
        for attempt in range(self.max_retries + 1):
            try:
                resp = self.session.get(url, params=params, timeout=self.timeout,
                                        headers={"Accept": f"{NDJSON}, application/json;q=0.5"})
                page = self._decode(resp) if resp.status_code == 200 else None
            except RETRYABLE_ERRORS as exc:
                cut = "response cut off mid-body: " if isinstance(exc, CUT_OFF) else ""
                problem = f"{cut}{type(exc).__name__}: {exc}"
            else:
                if page is not None:
                    return page
                if resp.status_code not in RETRYABLE_STATUS:
                    raise FetchError(self._client_error(resp))
                problem = f"HTTP {resp.status_code}"
            if attempt == self.max_retries:
                raise FetchError(
                    f"{url} still failing after {self.max_retries} retries ({problem}); "
                    "check that the API is up and reachable (--host)"
                )
            delay = self.backoff * 2**attempt
            log.warning("page at offset %s failed (%s); retry %d/%d in %.2fs",
                        params.get("offset"), problem, attempt + 1, self.max_retries, delay)
            time.sleep(delay)
        raise AssertionError("unreachable")

    @staticmethod
    def _decode(resp: requests.Response) -> Page:
        problem = f"{resp.url}: not a ratings page ({{}}); is --host the MovieLens API?"
        if resp.headers.get("Content-Type", "").startswith(NDJSON):
            lines = resp.content
            try:
                total = int(resp.headers["X-Total-Count"])
            except (KeyError, ValueError) as exc:
                raise FetchError(problem.format(f"X-Total-Count: {exc}")) from exc
            if lines and not lines.endswith(b"\n"):
                raise CutShort("JSON Lines body ends mid-line")
            return Page(total, lines.count(b"\n"), lines)
        try:
            body = orjson.loads(resp.content)
            records, total = body["result"], int(body["total"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise FetchError(problem.format(exc)) from exc
        return Page(total, len(records), json_lines(records))

    @staticmethod
    def _client_error(resp: requests.Response) -> str:
        try:
            detail = resp.json().get("error", resp.text)
        except ValueError:
            detail = resp.text[:200]
        hint = ""
        if resp.status_code == 401:
            hint = "; check --user/--password or API_USER/API_PASSWORD"
        elif resp.status_code == 404:
            hint = "; check --host"
        return f"the API refused the request: HTTP {resp.status_code}: {detail}{hint}"


FORMATS = ("jsonl", "array")


def json_lines(records: list) -> bytes:
    """Encode records as JSON Lines, one compact object per line."""
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise FetchError("the API returned ratings that are not JSON objects")
    if not records:
        return b""
    encoded = orjson.dumps(records)[1:-1]
    # Splitting the compact array at "},{" is exact when the boundaries are its only
    # occurrences; otherwise (a value holding "},{") encode record by record.
    if encoded.count(b"},{") == len(records) - 1:
        return encoded.replace(b"},{", b"}\n{") + b"\n"
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def fetch_pages(client: RatingsClient, start: date, end: date, batch_size: int) -> Iterator[Page]:
    """Yield the pages of [start, end) in order, each checked against the first one's total.

    The first page gives the total, so every later offset is known; one worker thread
    requests them in order over the client's single connection, one page ahead, so the
    server prepares page n+1 while this thread writes page n.
    """
    params = {"start_date": start.isoformat(), "end_date": end.isoformat(), "limit": batch_size}
    first = client.get_page({**params, "offset": 0})
    total = first.total
    log.info("%s to %s: %d ratings to fetch", start, end, total)
    yield first
    offsets = range(batch_size, total, batch_size)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fetch")

    def request(index: int):
        return pool.submit(client.get_page, {**params, "offset": offsets[index]}) if index < len(offsets) else None

    try:
        future = request(0)
        for index, offset in enumerate(offsets):
            page = future.result()
            # Ask for the next page only once this one arrived: a failure stops the fetch at once.
            future = request(index + 1)
            if page.total != total:
                raise FetchError(f"the API's total changed from {total} to {page.total} "
                                 "during the fetch; rerun the task")
            expected = min(batch_size, total - offset)
            if page.count != expected:
                raise FetchError(f"the API returned {page.count} ratings at offset {offset}, "
                                 f"expected {expected}; rerun the task")
            yield page
    finally:
        # Don't wait for a page still in flight (up to --timeout and its retries): after a
        # failure or a SIGTERM nobody needs it.
        pool.shutdown(wait=False, cancel_futures=True)


def remove_stale_temp_files(output: Path) -> None:
    """Remove the temp files an earlier run for `output` left behind (SIGKILL, a lost node)."""
    # mkstemp's random part holds no dot: ".a.json.bak.x1y2.tmp" is a.json.bak's, not a.json's.
    pattern = re.compile(re.escape(f".{output.name}.") + r"[^.]+\.tmp")
    for path in output.parent.iterdir():
        if pattern.fullmatch(path.name) and not path.is_dir():
            path.unlink(missing_ok=True)
            log.warning("removed %s, left behind by an interrupted run", path)


def fetch_ratings(client: RatingsClient, start: date, end: date, output: Path, batch_size: int,
                  fmt: str = "jsonl") -> int:
    """Stream every page into a temp file, then rename it to `output`; returns the count."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    array = fmt == "array"
    output.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(output)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    received = total = 0
    try:
        with os.fdopen(fd, "wb") as out:
            if array:
                out.write(b"[")
            for page in fetch_pages(client, start, end, batch_size):
                total = page.total
                if not page.count:
                    continue
                if array:
                    # JSON strings hold no raw newline: each newline ends one object.
                    out.write(b"," if received else b"")
                    out.write(page.lines[:-1].replace(b"\n", b","))
                else:
                    out.write(page.lines)
                received += page.count
                log.info("fetched %d/%d ratings", received, total)
            if array:
                out.write(b"]")
        if received != total:
            raise FetchError(f"received {received} ratings but the API announced {total}; rerun the task")
        os.replace(tmp_name, output)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return received


def parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; use YYYY-MM-DD") from None


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive integer")
    return number


def retry_count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0 (0: no retries), not {value!r}")
    return number


MAX_SECONDS = 3600  # plenty; socket timeouts and sleeps overflow (a traceback) near 1e10 s


def seconds(*, zero_ok: bool):
    """An argparse type: a finite number of seconds above 0 (or from 0, with zero_ok), at most MAX_SECONDS."""
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and (number >= 0 if zero_ok else number > 0) and number <= MAX_SECONDS):
            raise argparse.ArgumentTypeError(f"must be a finite number of seconds {'>=' if zero_ok else '>'} 0 "
                                             f"and at most {MAX_SECONDS}, not {value!r}")
        return number
    return parse


def api_url(value: str) -> str:
    try:
        parts = urlsplit(value if "://" in value else f"http://{value}")
        # Reading .port raises ValueError on a port that is not a number from 0 to 65535.
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:
        ok = False
    if not ok:
        raise argparse.ArgumentTypeError(f"{value!r} is not an http(s) URL with a host; use e.g. http://movielens:8080")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fetch-ratings", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--start-date", type=parse_date, required=True, help="first day, inclusive (YYYY-MM-DD)")
    p.add_argument("--end-date", type=parse_date, required=True, help="last day, exclusive (YYYY-MM-DD)")
    p.add_argument("--output-path", type=Path, required=True, help="JSON file to write")
    p.add_argument("--host", type=api_url, default=os.environ.get("API_HOST", "http://movielens-api"),
                   help="API base URL (default: $API_HOST or http://movielens-api)")
    p.add_argument("--batch-size", type=positive_int, default=10_000, help="ratings per page (default 10000)")
    p.add_argument("--format", choices=FORMATS, default="jsonl",
                   help="jsonl: one rating per line (default); array: the book's JSON array")
    p.add_argument("--user", help="API user (default: $API_USER)")
    p.add_argument("--password", help="API password (default: $API_PASSWORD)")
    # 20 s: an unreachable API then fails within 2.5 min (6 tries x 20 s + 31 s of backoff).
    p.add_argument("--timeout", type=seconds(zero_ok=False), default=20.0,
                   help="seconds to connect, and to wait for each read (default 20)")
    p.add_argument("--max-retries", type=retry_count, default=5, help="retries per page; 0: none (default 5)")
    p.add_argument("--retry-backoff", type=seconds(zero_ok=True), default=1.0,
                   help="first retry delay in seconds, doubled each time (default 1)")
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.end_date <= args.start_date:
        parser.error(f"--end-date {args.end_date} must be after --start-date {args.start_date}")
    if args.output_path.is_dir():
        parser.error(f"--output-path {args.output_path} is a directory; give the JSON file to write")
    user = args.user or os.environ.get("API_USER")
    password = args.password or os.environ.get("API_PASSWORD")
    if not user or not password:
        log.error("no API credentials: pass --user/--password or set API_USER/API_PASSWORD")
        return 2
    client = RatingsClient(args.host, user, password, timeout=args.timeout,
                           max_retries=args.max_retries, backoff=args.retry_backoff)
    started = time.monotonic()
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):  # SIGTERM: Kubernetes deleting the pod
            signal.signal(sig, terminate)
        count = fetch_ratings(client, args.start_date, args.end_date, args.output_path, args.batch_size,
                              args.format)
    except (FetchError, OSError) as exc:
        log.error("%s", exc)
        return 1
    except Terminated as exc:
        log.error("terminated by %s before the fetch finished; removed the temp file, %s not written",
                  exc.signal.name, args.output_path)
        logging.shutdown()
        # Exit now rather than let the interpreter wait for the page worker, which may sit
        # in a request for --timeout seconds; Kubernetes sends SIGKILL after its grace period.
        os._exit(128 + exc.signal)
    finally:
        client.close()
    log.info("wrote %d ratings to %s in %.1fs", count, args.output_path, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
