"""Helpers for the chart tests: render chart/ with `helm template` and check the result.

Every render is validated, object by object (and the worker pod template inside its
ConfigMap), against the Kubernetes 1.30 schema and the newest schema that
kubernetes-validate bundles, in strict mode (unknown fields fail).
"""

from __future__ import annotations

import base64
import functools
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "chart"
VALUES_DIR = ROOT / "values"
RELEASE = "rel"
NAMESPACE = "airflow"
FULLNAME = f"{RELEASE}-movielens-platform"

VALIDATE_VERSIONS = ("1.30.0", "1.37.0")
# Oldest schema kubernetes-validate ships: used for renders aimed at Kubernetes 1.20.
OLDEST_VALIDATE_VERSION = "1.25.0"


def helm() -> str:
    path = shutil.which("helm")
    if path is None:
        pytest.fail("helm is not on PATH (install it with scripts/install-helm.sh DEST_DIR)")
    return path


def _helm_template_cmd(
    values: dict | None,
    files: Iterable[str],
    sets: Iterable[str],
    kube_version: str | None,
    namespace: str,
    show_only: Iterable[str],
    tmpdir: str,
    chart: Path = CHART,
) -> list[str]:
    cmd = [helm(), "template", RELEASE, str(chart), "--namespace", namespace]
    for f in files:
        cmd += ["--values", str(VALUES_DIR / f) if not Path(f).is_absolute() else f]
    if values:
        path = Path(tmpdir) / "values.yaml"
        # JSON is YAML with every string quoted: no YAML 1.1 surprises ("y" -> true)
        path.write_text(json.dumps(values))
        cmd += ["--values", str(path)]
    for s in sets:
        cmd += ["--set", s]
    if kube_version:
        cmd += ["--kube-version", kube_version]
    for s in show_only:
        cmd += ["--show-only", s]
    return cmd


def run_helm_template(
    values: dict | None = None,
    files: Iterable[str] = (),
    sets: Iterable[str] = (),
    kube_version: str | None = None,
    namespace: str = NAMESPACE,
    show_only: Iterable[str] = (),
    chart: Path = CHART,
) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as tmpdir:
        cmd = _helm_template_cmd(values, files, sets, kube_version, namespace, show_only, tmpdir, chart)
        return subprocess.run(cmd, capture_output=True, text=True, check=False)


def embedded_objects(doc: dict) -> list[dict]:
    """Objects carried inside a ConfigMap (the worker pod template)."""
    if doc.get("kind") == "ConfigMap" and "pod_template.yaml" in (doc.get("data") or {}):
        return [yaml.safe_load(doc["data"]["pod_template.yaml"])]
    return []


# objects already found valid, per schema version (many renders share objects)
_VALID: set[tuple[str, str]] = set()


# Beta APIs a render for Kubernetes 1.20 uses, gone from the oldest bundled schema (1.25):
# their objects are checked as the GA version, whose fields they share.
BETA_TO_GA = {("policy/v1beta1", "PodDisruptionBudget"): "policy/v1", ("batch/v1beta1", "CronJob"): "batch/v1"}


def validate(
    docs: list[dict], versions: Iterable[str] = VALIDATE_VERSIONS, as_ga: bool = False
) -> None:
    errors = []
    for doc in docs:
        for obj in [doc, *embedded_objects(doc)]:
            if as_ga and (ga := BETA_TO_GA.get((obj.get("apiVersion"), obj.get("kind")))):
                obj = {**obj, "apiVersion": ga}
            for version in versions:
                fingerprint = (version, json.dumps(obj, sort_keys=True))
                if fingerprint in _VALID:
                    continue
                try:
                    kubernetes_validate.validate(obj, version, strict=True)
                except kubernetes_validate.ValidationError as error:
                    errors.append(f"{obj['kind']}/{obj['metadata'].get('name')} @ {version}: {error.message}")
                except kubernetes_validate.SchemaNotFoundError as error:
                    errors.append(f"{obj['kind']}/{obj['metadata'].get('name')} @ {version}: no schema ({error})")
                else:
                    _VALID.add(fingerprint)
    assert not errors, "\n".join(errors)


@functools.lru_cache(maxsize=256)
def _render_cached(key: str) -> tuple:
    args = json.loads(key)
    result = run_helm_template(
        values=args["values"],
        files=args["files"],
        sets=args["sets"],
        kube_version=args["kube_version"],
        namespace=args["namespace"],
    )
    if result.returncode != 0:
        raise AssertionError(f"helm template failed:\n{result.stderr}")
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    if args["kube_version"] and args["kube_version"].startswith("1.2") and int(args["kube_version"].split(".")[1]) < 25:
        validate(docs, versions=(OLDEST_VALIDATE_VERSION,), as_ga=True)
    else:
        validate(docs)
    return tuple(docs)


def render(
    values: dict | None = None,
    files: Iterable[str] = (),
    sets: Iterable[str] = (),
    kube_version: str | None = None,
    namespace: str = NAMESPACE,
) -> list[dict]:
    """Render the chart and return its objects, schema-validated (see module doc)."""
    key = json.dumps(
        {
            "values": values,
            "files": list(files),
            "sets": list(sets),
            "kube_version": kube_version,
            "namespace": namespace,
        },
        sort_keys=True,
    )
    # deep copies, so a test cannot change a cached render
    return json.loads(json.dumps(list(_render_cached(key))))


def render_error(**kwargs: Any) -> str:
    """Render expecting failure; returns helm's error output."""
    result = run_helm_template(**kwargs)
    assert result.returncode != 0, "helm template unexpectedly succeeded"
    return result.stderr


# ------------------------------------------------------------------ accessors


def find(docs: list[dict], kind: str, name: str | None = None) -> dict:
    matches = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(matches) == 1, f"expected one {kind} {name}, found {[d['metadata']['name'] for d in matches]}"
    return matches[0]


def find_all(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def names(docs: list[dict], kind: str) -> set[str]:
    return {d["metadata"]["name"] for d in find_all(docs, kind)}


def component(docs: list[dict], name: str) -> dict:
    """The Deployment (or StatefulSet) of a component, e.g. "scheduler"."""
    full = f"{FULLNAME}-{name}"
    matches = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet") and d["metadata"]["name"] == full]
    assert len(matches) == 1, f"no workload {full}"
    return matches[0]


def pod_spec(obj: dict) -> dict:
    if obj["kind"] == "Pod":
        return obj["spec"]
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def container(obj: dict, name: str, init: bool = False) -> dict:
    spec = pod_spec(obj)
    items = spec.get("initContainers" if init else "containers") or []
    matches = [c for c in items if c["name"] == name]
    assert len(matches) == 1, f"container {name} not in {[c['name'] for c in items]}"
    return matches[0]


def all_containers(obj: dict) -> list[dict]:
    spec = pod_spec(obj)
    return list(spec.get("initContainers") or []) + list(spec["containers"])


def env_of(c: dict) -> dict[str, dict]:
    """name -> EnvVar (the whole entry)."""
    return {e["name"]: e for e in c.get("env") or []}


def env_values(c: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in c.get("env") or [] if "value" in e}


def worker_pod(docs: list[dict]) -> dict:
    cm = find(docs, "ConfigMap", f"{FULLNAME}-pod-template")
    return yaml.safe_load(cm["data"]["pod_template.yaml"])


def airflow_cfg(docs: list[dict]) -> dict[str, dict[str, str]]:
    """Parse the airflow.cfg of the config ConfigMap into {section: {key: value}}."""
    import configparser

    cm = find(docs, "ConfigMap", f"{FULLNAME}-config")
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(cm["data"]["airflow.cfg"])
    return {s: dict(parser.items(s)) for s in parser.sections()}


def secrets_jobs(docs: list[dict]) -> list[dict]:
    """The Secret generator's plain Job (not its first-install hook): one, or none without a plan."""
    return [d for d in docs if d["kind"] == "Job" and d["metadata"]["name"].startswith(f"{FULLNAME}-secrets-")
            and not is_hook(d)]


def generated_secrets(docs: list[dict]) -> dict[str, dict]:
    """The Secrets the chart's Job makes in the cluster (its plan), by name."""
    jobs = secrets_jobs(docs)
    if not jobs:
        return {}
    (job,) = jobs
    env = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    return {s["name"]: s for s in json.loads(env["GENERATE_SECRETS"])}


def is_hook(doc: dict) -> bool:
    return "helm.sh/hook" in (doc["metadata"].get("annotations") or {})


def secret_data(docs: list[dict], name: str) -> dict[str, str]:
    secret = find(docs, "Secret", name)
    return {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}


def pod_bearing(docs: list[dict]) -> list[dict]:
    """Every object that makes pods, plus the worker pod template."""
    out = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Job", "CronJob", "Pod")]
    for d in docs:
        out += embedded_objects(d)
    return out


AIRFLOW_COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")
