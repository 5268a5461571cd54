"""An HTTP/1.1 proxy on 127.0.0.1 that injects faults before forwarding to a real server.

`plan` lists what happens to successive requests: "500" answers 500, "drop" closes
the connection without answering, "ok" forwards; once the plan runs out, requests
are forwarded (or, with `then="500"`, keep failing). It counts requests and the TCP
connections clients opened, to check retries and keep-alive. With `json_only`, it
drops the Accept header, so the upstream answers the book's JSON pages.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class FaultyProxy:
    def __init__(self, upstream: str, plan: list[str] | None = None, then: str = "ok", json_only: bool = False):
        self.upstream = urlsplit(upstream)
        self.plan = list(plan or [])
        self.then = then
        self.requests = 0
        self.connections = 0
        self.statuses: list[int | str] = []
        self.content_types: list[str | None] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with proxy._lock:
                    proxy.connections += 1

            def log_message(self, *args):
                pass

            def do_GET(self):
                with proxy._lock:
                    proxy.requests += 1
                    action = proxy.plan.pop(0) if proxy.plan else proxy.then
                    proxy.statuses.append(action)
                if action == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if action == "500":
                    body = b'{"error": "injected failure"}'
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=30)
                try:
                    dropped = {"host", "accept"} if json_only else {"host"}
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in dropped}
                    proxy.content_types.append(None)
                    upstream.request("GET", self.path, headers=headers)
                    resp = upstream.getresponse()
                    body = resp.read()
                finally:
                    upstream.close()
                proxy.content_types[-1] = resp.getheader("Content-Type")
                self.send_response(resp.status)
                for key, value in resp.getheaders():
                    if key.lower() not in ("connection", "keep-alive", "transfer-encoding", "server", "date"):
                        self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
