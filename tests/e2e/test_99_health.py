"""Last: the health invariants since the last fault recovered, and no secret value in any
component log, task log or non-Secret object the release rendered."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from tests.e2e.cluster import RELEASE, Health
from tests.e2e.conftest import HOSTPATH_ROOT


def test_healthy_at_the_end(health):
    health.assert_healthy("at the end of the suite")


def secret_values(release) -> dict[str, str]:
    """Every value of the namespace's Secrets that is a credential (not a user name)."""
    values = {}
    for secret in release.json("get", "secrets")["items"]:
        if secret.get("type") != "Opaque":
            continue
        for key, encoded in (secret.get("data") or {}).items():
            value = base64.b64decode(encoded).decode(errors="replace")
            if "user" not in key and len(value) >= 12:
                values[f"{secret['metadata']['name']}/{key}"] = value
    return values


def test_no_secret_value_in_logs_or_manifests(release, health):
    secrets = secret_values(release)
    assert len(secrets) >= 6, secrets.keys()
    places: dict[str, str] = {}
    manifest = release.helm("get", "manifest", RELEASE).stdout
    places["helm get manifest (non-Secret objects)"] = "\n---".join(
        doc for doc in manifest.split("\n---") if "\nkind: Secret\n" not in doc)
    places["ConfigMaps"] = release.kubectl("get", "configmaps", "-o", "yaml")
    for pod in release.json("get", "pods")["items"]:
        name = pod["metadata"]["name"]
        places[f"pod spec {name}"] = str(pod["spec"])
        for status in Health.statuses(pod):
            places[f"log {name}/{status['name']}"] = release.kubectl("logs", name, "-c", status["name"],
                                                                     check=False, timeout=60)
    if HOSTPATH_ROOT:  # task logs, KubernetesPodOperator output included
        for path in Path(HOSTPATH_ROOT, "logs").rglob("*"):
            if path.is_file() and os.access(path, os.R_OK):
                places[f"task log {path.name}"] = path.read_text(errors="replace")
    leaks = [f"{secret} in {where}" for where, text in places.items()
             for secret, value in secrets.items() if value in text]
    assert not leaks, "secret values found:\n  " + "\n  ".join(leaks)
