"""WSGI application: GET /ratings (HTTP Basic auth) and GET /healthz.

GET /ratings answers the book's JSON page by default. A client that sends
`Accept: application/x-ndjson` gets the same page as JSON Lines (one rating per
line) with the page fields in headers X-Total-Count, X-Offset and X-Limit, so it
can stream the ratings to disk without decoding and re-encoding them.

Parameters: see _parse_query and the README. Bad input of any kind is a JSON 400 naming
the parameter and what it takes; an unexpected failure is a JSON 500, logged with its
traceback, never gunicorn's HTML error page.

Settings come from the environment:
  API_USER, API_PASSWORD   credentials clients must present (required)
  RATINGS_DIR              the store built by movielens-api-prepare (default: the image's,
                           /opt/movielens-api/data/ratings)
  API_MAX_LIMIT            largest page a client may ask for (default 50000)
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
import re
import sys
from datetime import date
from urllib.parse import parse_qsl

import orjson

from .prepare import to_timestamp
from .store import RatingsStore

DEFAULT_LIMIT = 100
DEFAULT_MAX_LIMIT = 50_000
# Offsets past the total are legal (an empty page); beyond int64 they are capped so the
# echoed offset stays a number every JSON decoder and the X-Offset header can carry.
MAX_OFFSET = 2**63 - 1
PARAMETERS = ("start_date", "end_date", "offset", "limit")

# Explicit [0-9], not \d or int(): int() also takes signs, spaces, "_" and any Unicode digit.
DIGITS = re.compile(r"[0-9]+")
NEGATIVE = re.compile(r"-0*[1-9][0-9]*")
ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")

NDJSON = "application/x-ndjson"

log = logging.getLogger("movielens_api")


def json_lines(records: list[dict]) -> bytes:
    """One compact JSON object per line; the records hold numbers only, so "},{" is
    exactly the boundary between two of them."""
    if not records:
        return b""
    return orjson.dumps(records)[1:-1].replace(b"},{", b"}\n{") + b"\n"


class BadRequest(Exception):
    pass


def _json(start_response, status: str, body: dict, extra_headers=(), exc_info=None):
    payload = orjson.dumps(body)
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    start_response(status, headers + list(extra_headers), exc_info)
    return [payload]


def _shown(value: str, width: int = 40) -> str:
    """The value as the client sent it, cut short: errors must not echo kilobytes back."""
    return repr(value) if len(value) <= width else repr(value[:width]) + f"... ({len(value)} characters)"


def _date(name: str, value: str) -> date:
    allowed = "use YYYY-MM-DD with ASCII digits, from 0001-01-01 to 9999-12-31"
    if value == "":
        raise BadRequest(f"{name} is empty; {allowed}, or leave {name} out")
    match = ISO_DAY.fullmatch(value)
    if not match:
        raise BadRequest(f"{name}={_shown(value)} is not a date; {allowed}")
    try:
        return date(*map(int, match.groups()))
    except ValueError as exc:
        raise BadRequest(f"{name}={_shown(value)} is not a real day ({exc}); {allowed}") from None


def _natural(name: str, value: str, minimum: int, maximum: int, cap: bool = False) -> int:
    """A count in plain ASCII digits. Above `maximum` it is an error, or with `cap` clipped to it."""
    if value == "":
        raise BadRequest(f"{name} is empty; give a whole number from {minimum} up, or leave {name} out")
    if NEGATIVE.fullmatch(value):
        raise BadRequest(f"{name} must be at least {minimum}, got {_shown(value)}")
    if not DIGITS.fullmatch(value):
        raise BadRequest(f"{name}={_shown(value)} is not an integer written in plain digits 0-9; "
                         "leave out signs, spaces, separators, decimal points and exponents")
    digits = value.lstrip("0") or "0"
    # Longer than MAX_OFFSET's 19 digits is over every bound; int() need not read it all.
    number = maximum + 1 if len(digits) > len(str(MAX_OFFSET)) else int(digits)
    if number < minimum:
        raise BadRequest(f"{name} must be at least {minimum}, got {_shown(value)}")
    if number > maximum:
        if cap:
            return maximum
        raise BadRequest(f"{name} must be at most {maximum}, got {_shown(value)}")
    return number


def _parse_query(query: str) -> dict[str, str]:
    """The parameters of a query string. A repeated one takes its last value (as before).
    An unknown or empty one is refused, not ignored: a typo like `ofset=500` would otherwise
    quietly serve page one again, and a client would store it twice."""
    params = {}
    # keep_blank_values: "offset=" and a bare "offset" must reach validation, not vanish.
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in PARAMETERS:
            raise BadRequest(f"unknown parameter {_shown(name)}; /ratings takes start_date, end_date, "
                             "offset and limit")
        params[name] = value
    return params


def _max_limit_setting(value: str | int) -> int:
    what = f"the largest page a client may ask for (default {DEFAULT_MAX_LIMIT})"
    if isinstance(value, str):
        if not DIGITS.fullmatch(value.strip()):
            raise ValueError(f"API_MAX_LIMIT={_shown(value)} is not a whole number; set it to {what}")
        value = int(value.strip())
    # _natural's shortcut for long numbers holds only for bounds up to MAX_OFFSET.
    if not 1 <= value <= MAX_OFFSET:
        raise ValueError(f"API_MAX_LIMIT must be at least 1 and at most {MAX_OFFSET}, got {value}; set it to {what}")
    return value


class RatingsApp:
    def __init__(self, store: RatingsStore, user: str, password: str, max_limit: int = DEFAULT_MAX_LIMIT):
        if not user or not password:
            raise ValueError("API_USER and API_PASSWORD must both be set and non-empty")
        self.store = store
        self._credentials = f"{user}:{password}".encode()
        self.max_limit = _max_limit_setting(max_limit)
        # A cap below the default must lower the default too, or the cap would not hold.
        self.default_limit = min(DEFAULT_LIMIT, self.max_limit)

    @classmethod
    def from_env(cls) -> RatingsApp:
        store = RatingsStore.load(os.environ.get("RATINGS_DIR", "/opt/movielens-api/data/ratings"))
        max_limit = _max_limit_setting(os.environ.get("API_MAX_LIMIT", str(DEFAULT_MAX_LIMIT)))
        return cls(store, os.environ.get("API_USER", ""), os.environ.get("API_PASSWORD", ""), max_limit)

    def _authorized(self, environ) -> bool:
        header = environ.get("HTTP_AUTHORIZATION", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, self._credentials)

    def __call__(self, environ, start_response):
        try:
            return self._respond(environ, start_response)
        except Exception:
            # Without this gunicorn answers an HTML page that JSON clients cannot read. The
            # details go to the log only: they may name files and internals.
            query = environ.get("QUERY_STRING", "")
            log.exception("%s %s%s failed", environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", ""),
                          f"?{query}" if query else "")
            return _json(start_response, "500 Internal Server Error",
                         {"error": "internal error while answering this request; the server log has the details"},
                         exc_info=sys.exc_info())

    def _respond(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path not in ("/healthz", "/ratings"):
            return _json(start_response, "404 Not Found",
                         {"error": f"no such resource: {_shown(path)}; the API serves /ratings and /healthz"})
        if method not in ("GET", "HEAD"):
            return _json(start_response, "405 Method Not Allowed",
                         {"error": f"{_shown(method)} not allowed on {path}; use GET or HEAD"},
                         [("Allow", "GET, HEAD")])
        if path == "/healthz":
            return _json(start_response, "200 OK", {"status": "ok", "ratings": len(self.store)})
        if not self._authorized(environ):
            return _json(start_response, "401 Unauthorized",
                         {"error": "missing or wrong credentials (HTTP Basic auth)"},
                         [("WWW-Authenticate", 'Basic realm="movielens"')])
        try:
            page = self.ratings(environ.get("QUERY_STRING", ""))
        except BadRequest as exc:
            return _json(start_response, "400 Bad Request", {"error": str(exc)})
        if NDJSON in environ.get("HTTP_ACCEPT", ""):
            body = json_lines(page["result"])
            start_response("200 OK", [
                ("Content-Type", NDJSON), ("Content-Length", str(len(body))),
                ("X-Total-Count", str(page["total"])), ("X-Offset", str(page["offset"])),
                ("X-Limit", str(page["limit"])),
            ])
            return [body]
        return _json(start_response, "200 OK", page)

    def ratings(self, query: str) -> dict:
        params = _parse_query(query)
        start = _date("start_date", params["start_date"]) if "start_date" in params else None
        end = _date("end_date", params["end_date"]) if "end_date" in params else None
        if start and end and end < start:
            raise BadRequest(f"end_date {end} is before start_date {start}; end_date is exclusive and "
                             "must be on or after start_date")
        offset = _natural("offset", params["offset"], 0, MAX_OFFSET, cap=True) if "offset" in params else 0
        limit = (_natural("limit", params["limit"], 1, self.max_limit) if "limit" in params
                 else self.default_limit)
        lo, hi = self.store.bounds(start and to_timestamp(start), end and to_timestamp(end))
        first = min(lo + offset, hi)
        return {
            "result": self.store.records(first, min(first + limit, hi)),
            "offset": offset,
            "limit": limit,
            "total": hi - lo,
        }


def _log_to_stderr() -> None:
    """gunicorn configures only its own loggers; give ours a handler in the same format, and
    stop propagation so nothing logs a failure twice."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
                                               "%Y-%m-%d %H:%M:%S %z"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def create_app() -> RatingsApp:
    _log_to_stderr()
    return RatingsApp.from_env()
