"""Create the chart's generated Secrets inside the cluster, each only if it is absent.

The chart's Job runs this (and, on a first install, its pre-install hook), so generated passwords and keys
never appear in rendered manifests, Helm's release history or a GitOps tool's diff, and two
renders of the chart are identical. A Secret that exists is kept as it is (a key it lacks is
added); copies in other namespaces are made from the first. Values are never printed.

GENERATE_SECRETS is the chart's plan, a JSON list of Secrets, in order:

  {"name": ..., "namespaces": [first, copies...], "labels": {...}, "annotations": {...},
   "data": {key: {"random": LENGTH} | {"fernet": true} | {"value": TEXT}
                 | {"format": "...{SECRET/KEY}..."}}}

"format" fills in keys of Secrets earlier in the list (as they are, kept or new).
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import string
import sys

ALPHANUMERIC = string.ascii_letters + string.digits
REFERENCE = re.compile(r"\{([^{}/]+)/([^{}]+)\}")


def new_value(rule: dict, known: dict[str, dict[str, str]]) -> str:
    if "value" in rule:
        return rule["value"]
    if "random" in rule:
        return "".join(secrets.choice(ALPHANUMERIC) for _ in range(int(rule["random"])))
    if rule.get("fernet"):
        return base64.urlsafe_b64encode(os.urandom(32)).decode()  # what cryptography.fernet.Fernet takes
    if "format" in rule:
        return REFERENCE.sub(lambda m: known[m[1]][m[2]], rule["format"])
    raise ValueError(f"unknown rule {sorted(rule)}")


def plan(spec: list[dict], existing: dict[tuple[str, str], dict[str, str]]) -> list[tuple[str, str, str, dict]]:
    """The writes that make every Secret of the spec exist with every key: (verb, namespace,
    name, data), verb "create" or "add-keys". `existing` holds the decoded data of the
    Secrets that exist, by (namespace, name)."""
    known: dict[str, dict[str, str]] = {}
    writes = []
    for item in spec:
        name, (first, *copies) = item["name"], item["namespaces"]
        data = dict(existing.get((first, name), {}))
        missing = {k: new_value(rule, known) for k, rule in item["data"].items() if k not in data}
        if (first, name) not in existing:
            writes.append(("create", first, name, missing))
        elif missing:
            writes.append(("add-keys", first, name, missing))
        data.update(missing)
        known[name] = data
        for namespace in copies:
            copy = existing.get((namespace, name))
            if copy is None:
                writes.append(("create", namespace, name, data))
            elif lacking := {k: v for k, v in data.items() if k not in copy}:
                writes.append(("add-keys", namespace, name, lacking))
    return writes


def encoded(data: dict[str, str]) -> dict[str, str]:
    return {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}


class Conflict(Exception):
    """Another run of this program made a Secret between our read and our create."""


def read_existing(api, spec: list[dict]) -> dict[tuple[str, str], dict[str, str]]:
    from kubernetes.client.exceptions import ApiException

    existing = {}
    for item in spec:
        for namespace in item["namespaces"]:
            try:
                found = api.read_namespaced_secret(item["name"], namespace)
            except ApiException as error:
                if error.status != 404:
                    raise
                continue
            existing[(namespace, item["name"])] = {
                k: base64.b64decode(v).decode() for k, v in (found.data or {}).items()}
    return existing


def write(api, spec: list[dict], writes) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    by_name = {item["name"]: item for item in spec}
    for verb, namespace, name, data in writes:
        item = by_name[name]
        if verb == "create":
            body = client.V1Secret(
                metadata=client.V1ObjectMeta(name=name, namespace=namespace, labels=item.get("labels"),
                                             annotations=item.get("annotations")),
                type="Opaque", data=encoded(data))
            try:
                api.create_namespaced_secret(namespace, body)
            except ApiException as error:
                if error.status == 409:
                    raise Conflict(f"{namespace}/{name}") from None
                raise
            print(f"created Secret {namespace}/{name} (keys: {', '.join(sorted(data))})", flush=True)
        else:
            api.patch_namespaced_secret(name, namespace, {"data": encoded(data)})
            print(f"added keys to Secret {namespace}/{name}: {', '.join(sorted(data))}", flush=True)


def main() -> int:
    from kubernetes import client, config

    spec = json.loads(os.environ["GENERATE_SECRETS"])
    config.load_incluster_config()
    api = client.CoreV1Api()
    # The install hook and the Job can run at once (a `helm template | kubectl apply`
    # applies both): both write in the plan's order, so the one that loses a create has
    # written nothing the winner's Secrets disagree with; it reads again and completes.
    for _attempt in range(5):
        existing = read_existing(api, spec)
        writes = plan(spec, existing)
        try:
            write(api, spec, writes)
            break
        except Conflict as conflict:
            print(f"Secret {conflict} was made by another run meanwhile: reading again", flush=True)
    else:
        print("error: the Secrets kept changing under this run (5 tries); run the Job again", file=sys.stderr)
        return 1
    for item in spec:
        for namespace in item["namespaces"]:
            if (namespace, item["name"]) in existing and not any(
                    w[1] == namespace and w[2] == item["name"] for w in writes):
                print(f"kept Secret {namespace}/{item['name']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
