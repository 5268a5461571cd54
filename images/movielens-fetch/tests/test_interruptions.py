"""fetch-ratings when answers break off or the process is stopped: retries, no half-written files."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

FETCH = str(Path(sys.executable).with_name("fetch-ratings"))
DAY = ["--start-date", "2019-01-02", "--end-date", "2019-01-03"]


class BreakingServer:
    """A real HTTP/1.1 server on 127.0.0.1 that forwards GETs to `upstream`, answering
    successive requests as `plan` says (then as `then`):

    "ok"        the upstream's answer;
    "cut"       the upstream's headers, so its Content-Length, and the first line and a bit
                of the body, then it closes the connection;
    "unframed"  the same without Content-Length (as behind an HTTP/1.0 proxy), so only
                the body's content can tell it was cut;
    "hang"      nothing, until the test ends.
    """

    def __init__(self, upstream: str, plan: list[str], then: str = "ok"):
        self.upstream = urlsplit(upstream)
        self.plan, self.then = list(plan), then
        self.requests = 0
        self.hanging = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with server._lock:
                    server.requests += 1
                    action = server.plan.pop(0) if server.plan else server.then
                if action == "hang":
                    server.hanging.set()
                    server._release.wait(60)
                    self.close_connection = True
                    return
                status, headers, body = server.forward(self.path, self.headers)
                self.send_response(status)
                for key, value in headers:
                    if key.lower() in ("content-type", "x-total-count", "x-offset", "x-limit"):
                        self.send_header(key, value)
                if action == "unframed":
                    self.send_header("Connection", "close")
                else:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if action == "ok":
                    self.wfile.write(body)
                    return
                self.wfile.write(body[:body.index(b"\n") + 5])  # ends inside the second line
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def forward(self, path: str, headers) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            upstream.request("GET", path, headers={k: headers[k] for k in ("Authorization", "Accept") if k in headers})
            resp = upstream.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            upstream.close()

    def __enter__(self) -> BreakingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


def fetch_args(host: str, out: Path, *extra: str) -> list[str]:
    return [FETCH, *DAY, "--output-path", str(out), "--host", host, "--retry-backoff", "0.01", *extra]


def fetch_env() -> dict[str, str]:
    return {**os.environ, "API_USER": "airflow", "API_PASSWORD": "test-password"}


def run_fetch(host: str, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(fetch_args(host, out, *extra), capture_output=True, text=True, env=fetch_env(),
                          timeout=120)


def api_day(api) -> list[dict]:
    import requests

    return requests.get(f"{api.url}/ratings", params={"start_date": "2019-01-02", "end_date": "2019-01-03",
                                                      "limit": 50_000}, auth=api.auth, timeout=10).json()["result"]


def read_output(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def temp_files(folder: Path, target: str = "r.json") -> list[Path]:
    return sorted(folder.glob(f".{target}.*.tmp"))


def wait_for(condition, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.mark.parametrize("cut", ["cut", "unframed"])
@pytest.mark.parametrize("first", [True, False], ids=["first-page", "later-page"])
def test_retries_a_response_cut_off_mid_body(ratings_api, tmp_path, cut, first):
    out = tmp_path / "r.json"
    plan = [cut] if first else ["ok", "ok", cut]
    with BreakingServer(ratings_api.url, plan) as server:
        result = run_fetch(server.url, out, "--batch-size", "200")
    assert result.returncode == 0, result.stderr
    assert read_output(out) == api_day(ratings_api)
    assert result.stderr.count("retry 1/5") == 1 and "response cut off mid-body" in result.stderr
    assert server.requests == -(-len(api_day(ratings_api)) // 200) + 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_a_body_always_cut_off_fails_after_the_retries(ratings_api, tmp_path):
    out = tmp_path / "r.json"
    out.write_text("previous")
    with BreakingServer(ratings_api.url, [], then="cut") as server:
        result = run_fetch(server.url, out, "--batch-size", "200", "--max-retries", "2")
    assert result.returncode == 1, result.stderr
    assert "still failing after 2 retries (response cut off mid-body" in result.stderr
    assert "Traceback" not in result.stderr
    assert server.requests == 3
    assert out.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


@pytest.mark.parametrize("plan", [["hang"], ["ok", "hang"]], ids=["in-first-page", "in-later-page"])
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_sigterm_removes_the_temp_file_and_exits_at_once(ratings_api, tmp_path, plan, sig, code):
    out = tmp_path / "r.json"
    with BreakingServer(ratings_api.url, plan) as server:
        proc = subprocess.Popen(fetch_args(server.url, out, "--batch-size", "200"), env=fetch_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: server.hanging.is_set() and temp_files(tmp_path), "the fetch to hang mid-download")
            proc.send_signal(sig)
            # Well within --timeout (20 s): it must not wait for the request in flight.
            _, stderr = proc.communicate(timeout=10)
        finally:
            proc.kill()
    assert proc.returncode == code, stderr
    assert f"terminated by {sig.name}" in stderr and "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []


def test_the_next_run_removes_what_a_sigkill_left_and_only_that(ratings_api, tmp_path):
    out = tmp_path / "r.json"
    with BreakingServer(ratings_api.url, ["ok", "hang"]) as server:
        proc = subprocess.Popen(fetch_args(server.url, out, "--batch-size", "200"), env=fetch_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: server.hanging.is_set() and temp_files(tmp_path), "the fetch to hang mid-download")
        finally:
            proc.kill()
            proc.wait()
    stale = temp_files(tmp_path)
    assert len(stale) == 1
    # Other targets' temp files (also of one whose name starts like this one's) and other files stay.
    others = [".r.json.bak.abc123_x.tmp", ".other.json.abc123_x.tmp", "r.json.tmp", ".r.json.tmp", "notes.txt"]
    for name in others:
        (tmp_path / name).write_text("not fetch-ratings' to remove")

    result = run_fetch(ratings_api.url, out)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["r.json", *others])
    assert f"removed {stale[0]}" in result.stderr
    assert read_output(out) == api_day(ratings_api)
    assert all((tmp_path / name).read_text() == "not fetch-ratings' to remove" for name in others)
