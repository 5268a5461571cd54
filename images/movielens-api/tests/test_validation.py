"""Query validation of GET /ratings against the real gunicorn server: bad input is a JSON 400, never a 500."""

from __future__ import annotations

import base64
import http.client
import json
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote, urlsplit

import numpy as np
import pytest

from movielens_api.app import RatingsApp
from movielens_api.prepare import synthetic
from movielens_api.store import RatingsStore
from tests.support.ratings_api import PASSWORD, USER, start_api, stop_api

FAULTY_CONF = Path(__file__).with_name("gunicorn_fault_conf.py")
MAX_OFFSET = 2**63 - 1  # the largest offset the API echoes: larger ones are capped to it


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self):
        assert self.headers["Content-Type"] == "application/json", (self.status, self.body[:300])
        return json.loads(self.body)


def raw_get(api_url: str, user: str, password: str, query: str, accept: str | None = None,
            method: str = "GET") -> Answer:
    """Send `query` byte for byte: requests would re-encode some of the odd values under test."""
    parts = urlsplit(api_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    if accept:
        headers["Accept"] = accept
    try:
        conn.request(method, f"/ratings?{query}", headers=headers)
        resp = conn.getresponse()
        return Answer(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def query(api, text: str, accept: str | None = None, method: str = "GET") -> Answer:
    return raw_get(api.url, api.user, api.password, text, accept, method)


def encode(**params) -> str:
    return "&".join(f"{name}={quote(value, safe='')}" for name, value in params.items())


# --- offset and limit --------------------------------------------------------------------------

@pytest.mark.parametrize("offset, echoed", [
    (5000, 5000),
    (2**63 - 1, 2**63 - 1),
    (2**63, MAX_OFFSET),
    (2**64, MAX_OFFSET),  # was a 500: orjson cannot encode it
    (10**30, MAX_OFFSET),
    (int("9" * 400), MAX_OFFSET),
])
def test_an_offset_past_the_end_is_an_empty_page_however_large(ratings_api, offset, echoed):
    resp = query(ratings_api, f"offset={offset}")
    assert resp.status == 200, resp.body[:300]
    assert resp.json() == {"result": [], "offset": echoed, "limit": 100, "total": 5000}
    lines = query(ratings_api, f"offset={offset}", accept="application/x-ndjson")
    assert lines.status == 200 and lines.body == b""
    assert (lines.headers["X-Offset"], lines.headers["X-Total-Count"]) == (str(echoed), "5000")


def test_leading_zeros_are_plain_decimal(ratings_api):
    body = query(ratings_api, f"offset={'0' * 40}7&limit=0003").json()
    assert (body["offset"], body["limit"], len(body["result"])) == (7, 3, 3)


@pytest.mark.parametrize("name", ["offset", "limit"])
@pytest.mark.parametrize("value", [
    "1e3", "-0", "+5", " 5", "5 ", "0x10", "5_000", "1.0", "1,000", "５", "٣", "²", "5\n", "5\x00", "\ufeff5",
    "Infinity", "NaN", "½",
])
def test_integers_are_plain_ascii_digits_only(ratings_api, name, value):
    resp = query(ratings_api, encode(**{name: value}))
    assert resp.status == 400, (value, resp.body[:300])
    error = resp.json()["error"]
    assert f"{name}=" in error and "plain digits 0-9" in error


@pytest.mark.parametrize("name", ["offset", "limit", "start_date", "end_date"])
@pytest.mark.parametrize("text", ["{}=", "{}"])
def test_an_empty_value_is_refused_not_ignored(ratings_api, name, text):
    resp = query(ratings_api, text.format(name))
    assert resp.status == 400
    assert resp.json()["error"].startswith(f"{name} is empty") and f"leave {name} out" in resp.json()["error"]


@pytest.mark.parametrize("value", [str(2**64), str(10**30), "9" * 3000])
def test_a_huge_limit_is_400_and_the_message_stays_short(ratings_api, value):
    resp = query(ratings_api, f"limit={value}")
    assert resp.status == 400
    error = resp.json()["error"]
    assert error.startswith("limit must be at most 50000") and len(error) < 200


def test_a_negative_number_says_what_the_minimum_is(ratings_api):
    assert query(ratings_api, "offset=-18446744073709551616").json()["error"].startswith("offset must be at least 0")
    assert query(ratings_api, "limit=-1").json()["error"].startswith("limit must be at least 1")


# --- dates --------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, says", [
    ("99999-01-01", "is not a date"),
    ("0000-01-01", "year 0 is out of range"),
    ("2019-02-30", "day is out of range"),
    ("２０１９-01-01", "is not a date"),
    ("٢٠١٩-٠١-٠١", "is not a date"),
    ("20190101", "is not a date"),       # ISO basic format: date.fromisoformat took it
    ("2019-W01-1", "is not a date"),     # ISO week date: date.fromisoformat took it
    ("2019-1-1", "is not a date"),
    (" 2019-01-01", "is not a date"),
    ("2019-01-01T00:00", "is not a date"),
    ("-2019-01-01", "is not a date"),
])
@pytest.mark.parametrize("name", ["start_date", "end_date"])
def test_dates_are_iso_yyyy_mm_dd_with_ascii_digits_and_a_real_day(ratings_api, name, value, says):
    resp = query(ratings_api, encode(**{name: value}))
    assert resp.status == 400, (value, resp.body[:300])
    error = resp.json()["error"]
    assert error.startswith(f"{name}=") and says in error
    assert "YYYY-MM-DD" in error and "0001-01-01 to 9999-12-31" in error


def test_the_widest_dates_are_served(ratings_api):
    body = query(ratings_api, "start_date=0001-01-01&end_date=9999-12-31&limit=1").json()
    assert body["total"] == 5000


def test_equal_dates_are_an_empty_page(ratings_api):
    body = query(ratings_api, "start_date=2019-01-03&end_date=2019-01-03").json()
    assert body == {"result": [], "offset": 0, "limit": 100, "total": 0}


def test_a_repeated_parameter_takes_its_last_value(ratings_api):
    once = query(ratings_api, "start_date=2019-01-03&end_date=2019-01-04&offset=2&limit=5").json()
    twice = query(ratings_api, "start_date=2019-01-05&start_date=2019-01-03&end_date=2019-01-04"
                               "&offset=9&offset=2&limit=50000&limit=5").json()
    assert twice == once and once["total"] > 0


# --- other parameters ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, name", [("ofset=10", "ofset"), ("Limit=5", "Limit"), ("=5", ""),
                                        ("start=2019-01-01", "start")])
def test_an_unknown_parameter_is_refused_not_ignored(ratings_api, text, name):
    resp = query(ratings_api, text)
    assert resp.status == 400
    error = resp.json()["error"]
    assert error.startswith(f"unknown parameter {name!r}") and "start_date, end_date, offset and limit" in error


def test_head_answers_like_get_without_a_body(ratings_api):
    resp = query(ratings_api, "offset=ten", method="HEAD")
    assert resp.status == 400 and resp.headers["Content-Type"] == "application/json" and resp.body == b""


def test_wrong_paths_and_methods_say_what_is_served(ratings_api):
    parts = urlsplit(ratings_api.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", "/ratings/" + "x" * 3000)
        resp = conn.getresponse()
        error = json.loads(resp.read())["error"]
        assert resp.status == 404 and "the API serves /ratings and /healthz" in error and len(error) < 200
        conn.request("DELETE", "/ratings")
        resp = conn.getresponse()
        error = json.loads(resp.read())["error"]
        assert resp.status == 405 and error == "'DELETE' not allowed on /ratings; use GET or HEAD"
    finally:
        conn.close()


def test_the_default_limit_respects_a_lower_cap(tmp_path):
    synthetic(500, date(2019, 1, 1), date(2019, 1, 2), seed=1).save(tmp_path / "store")
    url, proc = start_api(tmp_path / "store", max_limit=50, log_path=tmp_path / "api.log")
    try:
        body = raw_get(url, USER, PASSWORD, "").json()
        assert (body["limit"], len(body["result"])) == (50, 50)
        assert raw_get(url, USER, PASSWORD, "limit=51").status == 400
    finally:
        stop_api(proc)


@pytest.mark.parametrize("max_limit", [0, -5, 2**63])
def test_the_cap_must_admit_a_page_and_fit_in_int64(max_limit):
    store = synthetic(10, date(2019, 1, 1), date(2019, 1, 2), seed=1)
    with pytest.raises(ValueError, match=r"API_MAX_LIMIT must be at least 1 and at most 9223372036854775807"):
        RatingsApp(store, "u", "p", max_limit=max_limit)


def test_a_garbled_cap_names_the_setting(tmp_path, monkeypatch):
    synthetic(10, date(2019, 1, 1), date(2019, 1, 2), seed=1).save(tmp_path / "store")
    monkeypatch.setenv("RATINGS_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("API_USER", "u")
    monkeypatch.setenv("API_PASSWORD", "p")
    monkeypatch.setenv("API_MAX_LIMIT", "lots")
    with pytest.raises(ValueError, match=r"API_MAX_LIMIT='lots' is not a whole number"):
        RatingsApp.from_env()


def test_a_store_with_ragged_columns_is_refused_at_load(tmp_path):
    store = synthetic(100, date(2019, 1, 1), date(2019, 1, 2), seed=1)
    store.save(tmp_path / "store")
    np.save(tmp_path / "store" / "userId.npy", np.asarray(store.userId)[:-1])
    with pytest.raises(ValueError, match=r"userId.npy has shape \(99,\), timestamp.npy \(100,\).*rebuild it"):
        RatingsStore.load(tmp_path / "store")
    np.save(tmp_path / "store" / "userId.npy", np.asarray(7, dtype=np.int32))
    with pytest.raises(ValueError, match=r"userId.npy has shape \(\)"):
        RatingsStore.load(tmp_path / "store")


# --- unexpected failures ------------------------------------------------------------------------

def test_an_unexpected_failure_is_a_json_500_logged_once_with_its_traceback(tmp_path, monkeypatch):
    synthetic(200, date(2019, 1, 1), date(2019, 1, 2), seed=1).save(tmp_path / "store")
    monkeypatch.setenv("GUNICORN_CONF", str(FAULTY_CONF))
    log = tmp_path / "api.log"
    url, proc = start_api(tmp_path / "store", log_path=log)
    try:
        for accept in (None, "application/x-ndjson"):
            resp = raw_get(url, USER, PASSWORD, "offset=3", accept=accept)
            assert resp.status == 500
            body = resp.json()
            assert body["error"].startswith("internal error") and "server log" in body["error"]
            assert "injected" not in body["error"]  # internals stay in the log
        assert raw_get(url, USER, PASSWORD, "offset=x").status == 400  # still validated first
    finally:
        stop_api(proc)
    text = log.read_text()
    assert text.count("Traceback (most recent call last)") == 2, text
    assert text.count("RuntimeError: injected fault") == 2, text
    assert "GET /ratings?offset=3 failed" in text


# --- property-style sweep -----------------------------------------------------------------------

ODD_VALUES = [
    "", " ", "0", "1", "-1", "-0", "+0", "+1", "00", "007", "1e3", "1E3", "1.5", "0x10", "0o7", "0b1", "1_0",
    "1,0", "５", "٣", "߃", "²", "Ⅻ", "½", "NaN", "inf", "-inf", "None", "null", "true", "[]", "{}", "%", "%%",
    "%zz", "\x00", "\t5", "5\r\n", "\u200b5", "\ufeff", "é", "😀", "'", '"', "\\", ";", "&", "=", "?", "#",
    str(2**31), str(2**32), str(2**53 + 1), str(2**63 - 1), str(2**63), str(2**64 - 1), str(2**64),
    str(-(2**63)), str(-(2**64)), str(10**30), "9" * 100, "0" * 100, "1" + "0" * 300, "%ff", "%c3", "%2", "%00",
    "50000", "50001", "100", "4999", "5000", "5001",
    "2019-01-01", "2019-01-08", "2019-1-1", "2019-01-32", "2019-02-29", "2020-02-29", "0000-01-01",
    "0001-01-01", "9999-12-31", "10000-01-01", "99999-01-01", "-2019-01-01", "+2019-01-01", "20190101",
    "2019-W01-1", "2019-001", "2019-01-01T00:00:00", "2019-01-01Z", "2019-01-01 ", " 2019-01-01",
    "２０１９-０１-０１", "2019/01/01", "01-01-2019", "yesterday", "today",
]
NAMES = ["start_date", "end_date", "offset", "limit"]
ODD_NAMES = ["", "offset ", "OFFSET", "off%00set", "limit[]", "start_date.", "_", "ofset"]


def odd_queries(count: int, seed: int = 20190101) -> list[str]:
    """Deterministic odd query strings: known names with odd values, odd names, repeats, odd separators."""
    rng = random.Random(seed)
    values = ODD_VALUES + [str(rng.randint(-10**6, 10**6)) for _ in range(30)] + \
        ["".join(rng.choice("0123456789-+. eE_x%٣５") for _ in range(rng.randint(1, 12))) for _ in range(60)]
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(0, 5)):
            name = rng.choice(NAMES if rng.random() < 0.85 else ODD_NAMES)
            value = rng.choice(values)
            style = rng.random()
            if style < 0.7:
                parts.append(f"{quote(name, safe='')}={quote(value, safe='')}")
            elif style < 0.85:
                parts.append(quote(name, safe=""))  # a bare name, no "="
            else:  # leave the characters a query may hold unescaped (+ means space, ; = and % stay)
                parts.append(f"{quote(name, safe='')}={quote(value, safe='+;=,/:@!$()*%')}")
        out.append(rng.choice(["&", "&&"]).join(parts))
    return out


def test_odd_queries_always_get_json_and_never_a_500(ratings_api):
    assert len(set(odd_queries(600))) > 400
    seen = set()
    for i, text in enumerate(odd_queries(600)):
        accept = "application/x-ndjson" if i % 5 == 0 else None
        resp = query(ratings_api, text, accept=accept)
        seen.add(resp.status)
        assert resp.status in (200, 400), (text, resp.status, resp.body[:300])
        if resp.status == 400 or accept is None:
            body = resp.json()
        if resp.status == 400:
            assert set(body) == {"error"} and body["error"], text
        elif accept is None:
            assert set(body) == {"result", "offset", "limit", "total"}
            assert 0 <= body["offset"] <= MAX_OFFSET and 1 <= body["limit"] <= 50_000
            assert len(body["result"]) == max(0, min(body["limit"], body["total"] - body["offset"])), text
        else:
            assert resp.headers["Content-Type"] == "application/x-ndjson"
            assert int(resp.headers["X-Offset"]) <= MAX_OFFSET
    assert seen == {200, 400}
