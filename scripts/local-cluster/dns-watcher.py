#!/usr/bin/python3
"""Keep dnsmasq's addn-hosts file in step with the cluster's Services and Endpoints.

Standard library only. Lists and watches Services and Endpoints through the API
server, writes `IP name.namespace.svc.<domain>` lines (ClusterIP Services), ready
addresses of headless Services, and `hostname.name.namespace.svc.<domain>` for
addresses that carry a hostname (StatefulSet pods), then sends SIGHUP to dnsmasq.
"""
import argparse
import http.client
import json
import os
import signal
import ssl
import sys
import threading
import time
import urllib.parse


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


class Watcher:
    def __init__(self, args):
        self.args = args
        url = urllib.parse.urlsplit(args.server)
        self.host, self.port = url.hostname, url.port or 443
        self.ctx = ssl.create_default_context(cafile=args.ca)
        self.ctx.load_cert_chain(args.cert, args.key)
        self.objects = {"services": {}, "endpoints": {}}
        self.lock = threading.Lock()
        self.changed = threading.Event()
        self.last = None

    def connect(self, timeout):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)

    def list_and_watch(self, kind):
        path = "/api/v1/" + kind
        while True:
            try:
                conn = self.connect(30)
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                if resp.status != 200:
                    raise RuntimeError(f"list {kind}: HTTP {resp.status}")
                lst = json.loads(body)
                rv = lst["metadata"]["resourceVersion"]
                with self.lock:
                    self.objects[kind] = {self.key(o): o for o in lst.get("items") or []}
                self.changed.set()
                conn = self.connect(360)
                conn.request("GET", f"{path}?watch=1&timeoutSeconds=300&resourceVersion={rv}")
                resp = conn.getresponse()
                if resp.status != 200:
                    raise RuntimeError(f"watch {kind}: HTTP {resp.status}")
                while True:
                    line = resp.readline()
                    if not line:
                        break
                    event = json.loads(line)
                    etype, obj = event.get("type"), event.get("object") or {}
                    if etype == "ERROR":
                        break
                    if etype not in ("ADDED", "MODIFIED", "DELETED"):
                        continue
                    with self.lock:
                        if etype == "DELETED":
                            self.objects[kind].pop(self.key(obj), None)
                        else:
                            self.objects[kind][self.key(obj)] = obj
                    self.changed.set()
                conn.close()
            except Exception as exc:  # noqa: BLE001 - keep watching whatever happens
                log(f"{kind}: {exc}; retrying")
                time.sleep(1)

    @staticmethod
    def key(obj):
        meta = obj.get("metadata") or {}
        return meta.get("namespace", ""), meta.get("name", "")

    def render(self):
        domain = self.args.domain
        lines = []
        with self.lock:
            services = dict(self.objects["services"])
            endpoints = dict(self.objects["endpoints"])
        for (ns, name), svc in sorted(services.items()):
            spec = svc.get("spec") or {}
            if spec.get("type") == "ExternalName":
                continue
            fqdn = f"{name}.{ns}.svc.{domain}"
            ip = spec.get("clusterIP")
            if ip and ip != "None":
                lines.append(f"{ip} {fqdn}")
                continue
            ep = endpoints.get((ns, name)) or {}
            for subset in ep.get("subsets") or []:
                for addr in subset.get("addresses") or []:
                    lines.append("{} {}".format(addr["ip"], fqdn))
                    if addr.get("hostname"):
                        lines.append("{} {}.{}".format(addr["ip"], addr["hostname"], fqdn))
        return "\n".join(lines) + "\n"

    def write(self, text):
        tmp = self.args.hosts_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.args.hosts_file)
        try:
            os.kill(self.args.dnsmasq_pid, signal.SIGHUP)
        except ProcessLookupError:
            log(f"dnsmasq (pid {self.args.dnsmasq_pid}) is gone")
            sys.exit(1)

    def run(self):
        for kind in ("services", "endpoints"):
            threading.Thread(target=self.list_and_watch, args=(kind,), daemon=True).start()
        while True:
            self.changed.wait()
            time.sleep(0.05)  # coalesce bursts of events
            self.changed.clear()
            text = self.render()
            if text != self.last:
                self.write(text)
                self.last = text
                log(f"hosts file updated: {text.count(chr(10))} records")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--server", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--hosts-file", required=True)
    p.add_argument("--dnsmasq-pid", type=int, required=True)
    p.add_argument("--domain", default="cluster.local")
    Watcher(p.parse_args()).run()


if __name__ == "__main__":
    main()
