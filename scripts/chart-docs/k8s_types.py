#!/usr/bin/env python3
"""Copy the Kubernetes types that values hold whole (Container, Volume, Toleration, ...)
into chart/values.schema.json's definitions, so `helm install` rejects a malformed
extraContainers entry with the field's path instead of the API server rejecting the
rendered Deployment later.

The types come from the strict JSON schemas kubernetes-validate bundles (pinned in
pyproject.toml), at KUBE_VERSION: the oldest release whose fields a values file may use.
They keep their upstream names (`io.k8s.api.core.v1.Container`) and descriptions.

  k8s_types.py [--check] SCHEMA_JSON

--check changes nothing and exits 1 when the schema's copies are not what this would write.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import kubernetes_validate
from schema_file import write_or_check

KUBE_VERSION = "1.30.0"
ROOTS = [
    "io.k8s.api.core.v1.Affinity",
    "io.k8s.api.core.v1.Container",
    "io.k8s.api.core.v1.EnvFromSource",
    "io.k8s.api.core.v1.EnvVar",
    "io.k8s.api.core.v1.Toleration",
    "io.k8s.api.core.v1.TopologySpreadConstraint",
    "io.k8s.api.core.v1.Volume",
    "io.k8s.api.core.v1.VolumeMount",
]
PREFIX = "io.k8s."
UPSTREAM_REF = re.compile(r"^(?:/api/_definitions\.json)?#/\$defs/(?P<name>.+)$")


def upstream_definitions() -> dict:
    folder = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{KUBE_VERSION}-local-strict"
    return json.loads((folder / "_definitions.json").read_text())["$defs"]


def localise(node, found: set[str]):
    """The node with its references pointing into our definitions."""
    if isinstance(node, list):
        return [localise(item, found) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref" and (m := UPSTREAM_REF.match(value)):
            found.add(m["name"])
            value = f"#/definitions/{m['name']}"
        out[key] = localise(value, found)
    return out


def kubernetes_types() -> dict:
    upstream = upstream_definitions()
    wanted, todo = {}, list(ROOTS)
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        refs: set[str] = set()
        wanted[name] = localise(upstream[name], refs)
        todo.extend(refs)
    return dict(sorted(wanted.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("schema_json", type=Path)
    args = parser.parse_args()

    current = args.schema_json.read_text()
    schema = json.loads(current)
    ours = {k: v for k, v in schema["definitions"].items() if not k.startswith(PREFIX)}
    schema["definitions"] = {**ours, **kubernetes_types()}
    return write_or_check(args.schema_json, current, schema, check=args.check,
                          stale=f"its Kubernetes types differ from kubernetes-validate's {KUBE_VERSION}",
                          written=f"Kubernetes types written ({len(schema['definitions']) - len(ours)} definitions)")

if __name__ == "__main__":
    sys.exit(main())
