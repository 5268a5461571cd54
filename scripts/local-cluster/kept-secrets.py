#!/usr/bin/env python3
"""Keep a release's credentials with its data across `make down` / `make up`.

The local node's cluster state is thrown away by `make down`, but the hostPath data under
DATA_ROOT is kept: MySQL's datadir and Airflow's metadata know the passwords of the
release that created them. `save` writes the Secrets that open that data (the chart's
generated Secrets, annotated helm.sh/resource-policy: keep, and the metadata database's
`metadata-db`) to FILE (mode 0600, written atomically); `restore` puts them back into a
cluster where NAMESPACE does not exist yet, before `helm install`, which adopts them.

Usage: kept-secrets.py save|restore NAMESPACE FILE      (kubectl and KUBECONFIG from the environment)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

KEEP = "helm.sh/resource-policy"
EXTRA = {"metadata-db"}


def kubectl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["kubectl", *args], input=stdin, capture_output=True, text=True, check=False)


def save(namespace: str, path: str) -> int:
    result = kubectl("-n", namespace, "get", "secrets", "-o", "json")
    if result.returncode != 0:
        print(f"kept-secrets: cannot list Secrets in {namespace}: {result.stderr.strip()}", file=sys.stderr)
        return 1
    kept = []
    for secret in json.loads(result.stdout)["items"]:
        meta = secret["metadata"]
        if meta.get("annotations", {}).get(KEEP) == "keep" or meta["name"] in EXTRA:
            meta = {k: v for k, v in meta.items() if k in ("name", "namespace", "labels", "annotations")}
            kept.append({**secret, "metadata": meta})
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".secrets.", suffix=".tmp")
    with os.fdopen(fd, "w") as out:
        json.dump({"apiVersion": "v1", "kind": "List", "items": kept}, out)
    os.replace(tmp, path)
    print(f"kept-secrets: {len(kept)} Secrets of {namespace} saved to {path}")
    return 0


def restore(namespace: str, path: str) -> int:
    if not os.path.exists(path):
        return 0
    if kubectl("get", "namespace", namespace).returncode == 0:
        print(f"kept-secrets: namespace {namespace} exists: its Secrets are current, {path} not restored")
        return 0
    with open(path) as fh:
        items = json.load(fh)["items"]
    created = kubectl("create", "namespace", namespace)
    applied = kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    if created.returncode or applied.returncode:
        print(f"kept-secrets: restoring {path} failed: {created.stderr}{applied.stderr}", file=sys.stderr)
        return 1
    names = ", ".join(sorted(i["metadata"]["name"] for i in items))
    print(f"kept-secrets: restored into {namespace} the Secrets the kept data knows: {names}")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("save", "restore"):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    action, namespace, path = argv
    return (save if action == "save" else restore)(namespace, path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
