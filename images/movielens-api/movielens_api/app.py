"""WSGI application: GET /ratings (HTTP Basic auth) and GET /healthz.

GET /ratings answers the book's JSON page by default. A client that sends
`Accept: application/x-ndjson` gets the same page as JSON Lines (one rating per
line) with the page fields in headers X-Total-Count, X-Offset and X-Limit, so it
can stream the ratings to disk without decoding and re-encoding them.

Settings come from the environment:
  API_USER, API_PASSWORD   credentials clients must present (required)
  RATINGS_DIR              the store built by movielens-api-prepare (default /app/data/ratings)
  API_MAX_LIMIT            largest page a client may ask for (default 50000)
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from datetime import date
from urllib.parse import parse_qs

import orjson

from .prepare import to_timestamp
from .store import RatingsStore

DEFAULT_LIMIT = 100
DEFAULT_MAX_LIMIT = 50_000


NDJSON = "application/x-ndjson"


def json_lines(records: list[dict]) -> bytes:
    """One compact JSON object per line; the records hold numbers only, so "},{" is
    exactly the boundary between two of them."""
    if not records:
        return b""
    return orjson.dumps(records)[1:-1].replace(b"},{", b"}\n{") + b"\n"


class BadRequest(Exception):
    pass


def _json(start_response, status: str, body: dict, extra_headers=()):
    payload = orjson.dumps(body)
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    start_response(status, headers + list(extra_headers))
    return [payload]


def _date_param(params: dict, name: str) -> date | None:
    values = params.get(name)
    if not values:
        return None
    try:
        return date.fromisoformat(values[-1])
    except ValueError:
        raise BadRequest(f"{name}={values[-1]!r} is not a date; use YYYY-MM-DD") from None


def _int_param(params: dict, name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    values = params.get(name)
    if not values:
        return default
    try:
        value = int(values[-1])
    except ValueError:
        raise BadRequest(f"{name}={values[-1]!r} is not an integer") from None
    if value < minimum:
        raise BadRequest(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise BadRequest(f"{name} must be at most {maximum}, got {value}")
    return value


class RatingsApp:
    def __init__(self, store: RatingsStore, user: str, password: str, max_limit: int = DEFAULT_MAX_LIMIT):
        if not user or not password:
            raise ValueError("API_USER and API_PASSWORD must both be set and non-empty")
        self.store = store
        self._credentials = f"{user}:{password}".encode()
        self.max_limit = max_limit

    @classmethod
    def from_env(cls) -> RatingsApp:
        store = RatingsStore.load(os.environ.get("RATINGS_DIR", "/app/data/ratings"))
        max_limit = int(os.environ.get("API_MAX_LIMIT", DEFAULT_MAX_LIMIT))
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
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path not in ("/healthz", "/ratings"):
            return _json(start_response, "404 Not Found", {"error": f"no such resource: {path}"})
        if method not in ("GET", "HEAD"):
            return _json(start_response, "405 Method Not Allowed", {"error": f"{method} not allowed"},
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
        params = parse_qs(query, keep_blank_values=False)
        start = _date_param(params, "start_date")
        end = _date_param(params, "end_date")
        if start and end and end < start:
            raise BadRequest(f"end_date {end} is before start_date {start}")
        offset = _int_param(params, "offset", 0, 0)
        limit = _int_param(params, "limit", DEFAULT_LIMIT, 1, self.max_limit)
        lo, hi = self.store.bounds(start and to_timestamp(start), end and to_timestamp(end))
        first = min(lo + offset, hi)
        return {
            "result": self.store.records(first, min(first + limit, hi)),
            "offset": offset,
            "limit": limit,
            "total": hi - lo,
        }


def create_app() -> RatingsApp:
    return RatingsApp.from_env()
