"""fetch-ratings against the real API, directly and behind a fault-injecting proxy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.faulty_proxy import FaultyProxy

FETCH = str(Path(sys.executable).with_name("fetch-ratings"))


def run_fetch(api_url, out: Path, *extra, user="airflow", password="test-password", env=None, day="2019-01-02"):
    next_day = f"2019-01-{int(day[-2:]) + 1:02d}"
    args = [FETCH, "--start-date", day, "--end-date", next_day, "--output-path", str(out),
            "--host", api_url, "--retry-backoff", "0.01", *extra]
    base_env = {k: v for k, v in os.environ.items() if k not in ("API_USER", "API_PASSWORD")}
    if user is not None:
        base_env["API_USER"] = user
    if password is not None:
        base_env["API_PASSWORD"] = password
    return subprocess.run(args, capture_output=True, text=True, env={**base_env, **(env or {})}, timeout=120)


def read_output(path: Path) -> list[dict]:
    """Parse fetch's default JSON Lines output, strictly: one object per non-empty line."""
    text = path.read_text()
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def api_day(api, day="2019-01-02", next_day="2019-01-03") -> list[dict]:
    import requests

    body = requests.get(f"{api.url}/ratings", params={"start_date": day, "end_date": next_day, "limit": 50_000},
                        auth=api.auth, timeout=10).json()
    return body["result"]


@pytest.mark.parametrize("batch_size", ["7", "10000"])
def test_writes_exactly_the_days_ratings(ratings_api, tmp_path, batch_size):
    out = tmp_path / "ratings" / "2019-01-02.json"
    result = run_fetch(ratings_api.url, out, "--batch-size", batch_size)
    assert result.returncode == 0, result.stderr
    assert read_output(out) == api_day(ratings_api)
    assert sorted(p.name for p in out.parent.iterdir()) == ["2019-01-02.json"]
    assert "fetched" in result.stderr


@pytest.mark.parametrize("fmt", ["jsonl", "array"])
def test_works_with_an_api_that_only_answers_json_pages(ratings_api, tmp_path, fmt):
    out = tmp_path / "r.json"
    with FaultyProxy(ratings_api.url, json_only=True) as proxy:
        result = run_fetch(proxy.url, out, "--format", fmt, "--batch-size", "150")
    assert result.returncode == 0, result.stderr
    assert set(proxy.content_types) == {"application/json"}
    records = read_output(out) if fmt == "jsonl" else json.loads(out.read_text())
    assert records == api_day(ratings_api)


def test_asks_for_json_lines_pages(ratings_api, tmp_path):
    with FaultyProxy(ratings_api.url) as proxy:
        assert run_fetch(proxy.url, tmp_path / "r.json", "--batch-size", "150").returncode == 0
    assert set(proxy.content_types) == {"application/x-ndjson"}


def test_array_format_is_the_books_json_array(ratings_api, tmp_path):
    out = tmp_path / "r.json"
    result = run_fetch(ratings_api.url, out, "--format", "array", "--batch-size", "300")
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text()) == api_day(ratings_api)


@pytest.mark.parametrize("fmt, empty", [("jsonl", ""), ("array", "[]")])
def test_an_empty_day_writes_an_empty_file_or_array(ratings_api, tmp_path, fmt, empty):
    out = tmp_path / "empty.json"
    result = run_fetch(ratings_api.url, out, "--format", fmt, day="2019-01-20")
    assert result.returncode == 0, result.stderr
    assert out.read_text() == empty


def test_all_pages_go_over_one_keep_alive_connection(ratings_api, tmp_path):
    with FaultyProxy(ratings_api.url) as proxy:
        result = run_fetch(proxy.url, tmp_path / "r.json", "--batch-size", "50")
    assert result.returncode == 0, result.stderr
    assert proxy.requests > 10
    assert proxy.connections == 1


def test_recovers_from_500s_and_dropped_connections(ratings_api, tmp_path):
    out = tmp_path / "r.json"
    with FaultyProxy(ratings_api.url, plan=["500", "drop", "ok", "500", "500", "drop"]) as proxy:
        result = run_fetch(proxy.url, out, "--batch-size", "200")
    assert result.returncode == 0, result.stderr
    assert read_output(out) == api_day(ratings_api)
    assert result.stderr.count("retry") == 5
    assert proxy.statuses[:6] == ["500", "drop", "ok", "500", "500", "drop"]


def test_gives_up_after_bounded_retries_and_keeps_the_old_file(ratings_api, tmp_path):
    out = tmp_path / "r.json"
    out.write_text("previous")
    with FaultyProxy(ratings_api.url, plan=["ok"], then="500") as proxy:
        result = run_fetch(proxy.url, out, "--batch-size", "100", "--max-retries", "3")
    assert result.returncode == 1
    assert "still failing after 3 retries (HTTP 500)" in result.stderr
    assert proxy.requests == 1 + 4  # one good page, then the first try and 3 retries of the second
    assert out.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_unreachable_host_fails_clearly(tmp_path):
    from tests.support.net import free_port

    result = run_fetch(f"http://127.0.0.1:{free_port()}", tmp_path / "r.json", "--max-retries", "2")
    assert result.returncode == 1
    assert "ConnectionError" in result.stderr and "check that the API is up" in result.stderr
    assert not (tmp_path / "r.json").exists()


def test_wrong_password_fails_at_once_without_leaking_it(ratings_api, tmp_path):
    with FaultyProxy(ratings_api.url) as proxy:
        result = run_fetch(proxy.url, tmp_path / "r.json", password="s3cret-wrong-value")
    assert result.returncode == 1
    assert proxy.requests == 1
    assert "HTTP 401" in result.stderr and "API_USER/API_PASSWORD" in result.stderr
    assert "s3cret-wrong-value" not in result.stderr + result.stdout


def test_credentials_from_flags_are_not_logged(ratings_api, tmp_path):
    result = run_fetch(ratings_api.url, tmp_path / "r.json", "--user", "airflow", "--password", "test-password",
                       user=None, password=None)
    assert result.returncode == 0, result.stderr
    assert "test-password" not in result.stderr + result.stdout


def test_missing_credentials_are_named(tmp_path):
    result = run_fetch("http://127.0.0.1:9", tmp_path / "r.json", user=None, password=None)
    assert result.returncode == 2
    assert "API_USER/API_PASSWORD" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--start-date", "2019-02-30"], "is not a date"),
    (["--batch-size", "0"], "is not a positive integer"),
    (["--start-date", "2019-01-05"], "must be after --start-date"),
])
def test_bad_arguments_exit_2_with_the_reason(tmp_path, args, message):
    result = run_fetch("http://127.0.0.1:9", tmp_path / "r.json", *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_short_answer_is_an_error_not_a_file(tmp_path):
    """A server that announces more records than it sends must not produce a file."""
    from movielens_fetch.cli import FetchError, Page, fetch_ratings

    class ShortClient:
        def get_page(self, params):
            return Page(total=3, count=1, lines=b'{"userId": 1}\n')

    out = tmp_path / "r.json"
    with pytest.raises(FetchError, match="received 1 ratings but the API announced 3"):
        from datetime import date
        fetch_ratings(ShortClient(), date(2019, 1, 1), date(2019, 1, 2), out, 10)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option, value, allowed", [
    ("--max-retries", "-1", "whole number >= 0"),
    ("--max-retries", "two", "whole number >= 0"),
    ("--timeout", "0", "finite number of seconds > 0"),
    ("--timeout", "nan", "finite number of seconds > 0"),
    ("--timeout", "inf", "finite number of seconds > 0"),
    ("--timeout", "-5", "finite number of seconds > 0"),
    ("--timeout", "1e10", "at most 3600"),
    ("--retry-backoff", "-1", "finite number of seconds >= 0"),
    ("--retry-backoff", "nan", "finite number of seconds >= 0"),
    ("--retry-backoff", "1e10", "at most 3600"),
])
def test_bad_numbers_exit_2_naming_the_option(tmp_path, option, value, allowed):
    from tests.support.net import free_port

    result = run_fetch(f"http://127.0.0.1:{free_port()}", tmp_path / "r.json", option, value)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"argument {option}: must be a " in result.stderr and allowed in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_max_retries_0_tries_once(ratings_api, tmp_path):
    with FaultyProxy(ratings_api.url, then="500") as proxy:
        result = run_fetch(proxy.url, tmp_path / "r.json", "--max-retries", "0", "--timeout", "0.5")
    assert result.returncode == 1
    assert "still failing after 0 retries (HTTP 500)" in result.stderr
    assert proxy.requests == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("host", ["ftp://movielens", "http://", "", "http://[::1", "http://movielens:http"])
def test_a_host_that_is_not_an_http_url_exits_2(tmp_path, host):
    result = run_fetch(host, tmp_path / "r.json")
    assert result.returncode == 2, result.stderr
    assert "argument --host:" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_output_path_that_is_a_directory_exits_2_before_fetching(ratings_api, tmp_path):
    with FaultyProxy(ratings_api.url) as proxy:
        result = run_fetch(proxy.url, tmp_path, "--batch-size", "100")
    assert result.returncode == 2, result.stderr
    assert "--output-path" in result.stderr and "is a directory" in result.stderr
    assert proxy.requests == 0
    assert list(tmp_path.iterdir()) == []
