"""The ratings API as a real gunicorn process: auth, pagination, validation."""

from __future__ import annotations

import base64
import http.client
import json
import time
from datetime import UTC, datetime

import numpy as np
import pytest
import requests


def day_ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def expected_records(store, start: str, end: str) -> list[tuple]:
    """The day's ratings computed straight from the columns, in the API's documented order."""
    ts = np.asarray(store.timestamp)
    mask = (ts >= day_ts(start)) & (ts < day_ts(end))
    rows = zip(np.asarray(store.userId)[mask].tolist(), np.asarray(store.movieId)[mask].tolist(),
               np.asarray(store.rating)[mask].tolist(), ts[mask].tolist(), strict=True)
    return sorted(rows, key=lambda r: (r[3], r[0], r[1]))


def as_tuples(records: list[dict]) -> list[tuple]:
    return [(r["userId"], r["movieId"], r["rating"], r["timestamp"]) for r in records]


def get(api, auth="default", **params):
    return requests.get(f"{api.url}/ratings", params=params, auth=api.auth if auth == "default" else auth,
                        timeout=10)


def test_healthz_needs_no_credentials(ratings_api):
    resp = requests.get(f"{ratings_api.url}/healthz", timeout=5)
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "ratings": 5000}


def test_served_by_gunicorn_not_a_development_server(ratings_api):
    # gunicorn renames its master process; a development server would not.
    cmdline = open(f"/proc/{ratings_api.process.pid}/cmdline", "rb").read()
    assert cmdline.startswith(b"gunicorn: master")


def test_starts_without_a_writable_home_and_logs_no_error(tmp_path, monkeypatch):
    """The pod's root filesystem is read-only: nothing may need $HOME (HOME=/dev/null is not
    a directory, so not even root can create anything below it)."""
    from movielens_api.prepare import synthetic
    from tests.support.ratings_api import start_api, stop_api

    synthetic(100, datetime(2019, 1, 1).date(), datetime(2019, 1, 2).date(), seed=1).save(tmp_path / "store")
    monkeypatch.setenv("HOME", "/dev/null")
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    _, proc = start_api(tmp_path / "store", log_path=tmp_path / "api.log")
    time.sleep(2)  # the master sets up its control server after the workers boot
    stop_api(proc)
    log = (tmp_path / "api.log").read_text()
    assert "ERROR" not in log and "Traceback" not in log, log


@pytest.mark.parametrize("auth", [None, ("airflow", "wrong"), ("nobody", "test-password")])
def test_ratings_require_the_right_credentials(ratings_api, auth):
    resp = get(ratings_api, auth=auth, start_date="2019-01-01", end_date="2019-01-02")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Basic")
    assert "credentials" in resp.json()["error"]


def test_garbled_authorization_header_is_401(ratings_api):
    resp = requests.get(f"{ratings_api.url}/ratings", headers={"Authorization": "Basic %%%"}, timeout=5)
    assert resp.status_code == 401


@pytest.mark.parametrize("limit", [1, 7, 100, 10_000])
def test_pages_concatenate_to_exactly_the_days_ratings(ratings_api, limit):
    want = expected_records(ratings_api.store, "2019-01-03", "2019-01-04")
    assert 500 < len(want) < 1000
    got, offset = [], 0
    while True:
        body = get(ratings_api, start_date="2019-01-03", end_date="2019-01-04", offset=offset, limit=limit).json()
        assert body["total"] == len(want)
        assert body["offset"] == offset and body["limit"] == limit
        assert len(body["result"]) <= limit
        got.extend(as_tuples(body["result"]))
        offset += limit
        if offset >= body["total"]:
            break
    assert got == want


def test_start_is_inclusive_and_end_exclusive(ratings_api):
    ts = np.asarray(ratings_api.store.timestamp)
    edge = int(ts[len(ts) // 2])
    day = datetime.fromtimestamp(edge, UTC).date().isoformat()
    body = get(ratings_api, start_date=day, end_date=day, limit=10_000).json()
    assert body == {"result": [], "offset": 0, "limit": 10_000, "total": 0}
    week = get(ratings_api, start_date="2019-01-01", end_date="2019-01-08", limit=1).json()
    assert week["total"] == 5000
    before = get(ratings_api, start_date="2018-12-01", end_date="2019-01-01").json()
    assert before["total"] == 0


def test_default_limit_is_100_and_offset_past_the_end_is_empty(ratings_api):
    body = get(ratings_api, start_date="2019-01-01", end_date="2019-01-08").json()
    assert body["limit"] == 100 and len(body["result"]) == 100
    past = get(ratings_api, start_date="2019-01-01", end_date="2019-01-02", offset=10**6).json()
    assert past["result"] == [] and past["total"] > 0


def test_records_have_the_books_fields_and_types(ratings_api):
    record = get(ratings_api, start_date="2019-01-01", end_date="2019-01-02", limit=1).json()["result"][0]
    assert set(record) == {"userId", "movieId", "rating", "timestamp"}
    assert isinstance(record["userId"], int) and isinstance(record["movieId"], int)
    assert isinstance(record["timestamp"], int) and record["rating"] in [x / 2 for x in range(1, 11)]


@pytest.mark.parametrize("params, mentions", [
    ({"start_date": "2019-13-01"}, "start_date"),
    ({"end_date": "yesterday"}, "end_date"),
    ({"start_date": "2019-01-05", "end_date": "2019-01-04"}, "before start_date"),
    ({"offset": "-1"}, "offset must be at least 0"),
    ({"offset": "ten"}, "offset='ten' is not an integer"),
    ({"limit": "0"}, "limit must be at least 1"),
    ({"limit": "50001"}, "limit must be at most 50000"),
])
def test_bad_parameters_get_400_with_a_json_error(ratings_api, params, mentions):
    resp = get(ratings_api, **params)
    assert resp.status_code == 400
    assert resp.headers["Content-Type"] == "application/json"
    assert mentions in resp.json()["error"]


def test_cap_admits_at_least_10000(ratings_api):
    assert get(ratings_api, start_date="2019-01-01", limit=10_000).status_code == 200


def test_unknown_path_and_method(ratings_api):
    assert requests.get(f"{ratings_api.url}/movies", auth=ratings_api.auth, timeout=5).status_code == 404
    resp = requests.post(f"{ratings_api.url}/ratings", auth=ratings_api.auth, timeout=5)
    assert resp.status_code == 405


def test_one_connection_serves_many_pages(ratings_api):
    host, port = ratings_api.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    token = base64.b64encode(f"{ratings_api.user}:{ratings_api.password}".encode()).decode()
    sockets = set()
    try:
        for offset in range(0, 500, 100):
            conn.request("GET", f"/ratings?offset={offset}", headers={"Authorization": f"Basic {token}"})
            resp = conn.getresponse()
            assert resp.status == 200 and not resp.will_close
            resp.read()
            sockets.add(id(conn.sock))
    finally:
        conn.close()
    assert len(sockets) == 1


def test_json_lines_pages_hold_the_same_ratings(ratings_api):
    params = {"start_date": "2019-01-02", "end_date": "2019-01-03", "offset": 10, "limit": 250}
    as_json = get(ratings_api, **params).json()
    resp = requests.get(f"{ratings_api.url}/ratings", params=params, auth=ratings_api.auth, timeout=5,
                        headers={"Accept": "application/x-ndjson"})
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/x-ndjson"
    assert resp.headers["X-Total-Count"] == str(as_json["total"])
    assert (resp.headers["X-Offset"], resp.headers["X-Limit"]) == ("10", "250")
    assert resp.text.endswith("\n")
    assert [json.loads(line) for line in resp.text.splitlines()] == as_json["result"]


def test_json_lines_past_the_end_is_an_empty_body(ratings_api):
    resp = requests.get(f"{ratings_api.url}/ratings", params={"offset": 10**6}, auth=ratings_api.auth,
                        headers={"Accept": "application/x-ndjson"}, timeout=5)
    assert resp.status_code == 200 and resp.content == b"" and resp.headers["X-Total-Count"] == "5000"


def test_errors_stay_json_when_json_lines_are_asked_for(ratings_api):
    resp = requests.get(f"{ratings_api.url}/ratings", params={"limit": "0"}, auth=ratings_api.auth,
                        headers={"Accept": "application/x-ndjson"}, timeout=5)
    assert resp.status_code == 400 and "limit" in resp.json()["error"]
