"""Every value is described once, in values.yaml; the README table and the schema follow
(scripts/chart-docs/chart-docs.sh, run by `make docs` and, with --check, by `make lint`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml
from chart_helpers import CHART, ROOT

CHART_DOCS = ROOT / "scripts" / "chart-docs" / "chart-docs.sh"


def leaves(node, path=""):
    for key, value in node.items():
        child = f"{path}.{key}" if path else key
        if isinstance(value, dict) and value:
            yield from leaves(value, child)
        else:
            yield child


def documented() -> set[str]:
    out = set()
    for line in (CHART / "values.yaml").read_text().splitlines():
        words = line.strip().split()
        if words[:2] in (["##", "@param"], ["##", "@extra"]):
            out.add(words[2])
    return out


def test_every_leaf_has_a_description():
    missing = set(leaves(yaml.safe_load((CHART / "values.yaml").read_text()))) - documented()
    assert not missing, sorted(missing)


def test_every_schema_property_has_a_description():
    schema = json.loads((CHART / "values.schema.json").read_text())
    missing = []

    def walk(node, where):
        for key, child in (node.get("properties") or {}).items():
            if not child.get("description"):
                missing.append(f"{where}.{key}")
            walk(child, f"{where}.{key}")

    walk(schema, "")
    for name, definition in schema["definitions"].items():
        walk(definition, f"definitions.{name}")
    assert not missing, missing


def test_schema_descriptions_are_the_values_descriptions():
    schema = json.loads((CHART / "values.schema.json").read_text())
    airflow_image = schema["properties"]["airflow"]["properties"]["image"]
    assert airflow_image["description"] == "The image of every Airflow container (worker pods included)"
    assert schema["properties"]["mysql"]["properties"]["port"]["description"] == "Port of MySQL and its Service"


@pytest.fixture
def chart_copy(tmp_path):
    copy = tmp_path / "chart"
    shutil.copytree(CHART, copy)
    return copy


def check(chart_dir) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHART_DOCS), "--check"], env={**os.environ, "CHART_DIR": str(chart_dir)},
                          capture_output=True, text=True, cwd=ROOT, check=False)


def test_the_committed_docs_are_current(chart_copy):
    result = check(chart_copy)
    assert result.returncode == 0, result.stderr


def test_a_changed_description_makes_the_table_stale(chart_copy):
    values = chart_copy / "values.yaml"
    values.write_text(values.read_text().replace("Port of MySQL and its Service", "Port MySQL listens on"))
    result = check(chart_copy)
    assert result.returncode == 1
    assert "values table differs" in result.stderr and "make docs" in result.stderr


def test_a_value_without_description_is_refused(chart_copy):
    values = chart_copy / "values.yaml"
    values.write_text(values.read_text().replace("  ## @param mysql.port Port of MySQL and its Service\n", ""))
    result = check(chart_copy)
    assert result.returncode == 1
    assert "mysql.port" in result.stderr


def test_a_stale_written_out_default_is_refused(chart_copy):
    values = chart_copy / "values.yaml"
    values.write_text(values.read_text().replace("kubeApiPorts: [443, 6443]", "kubeApiPorts: [443]"))
    result = subprocess.run(
        ["python3", str(ROOT / "scripts" / "chart-docs" / "schema_descriptions.py"), "--check",
         str(values), str(chart_copy / "values.schema.json")], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "networkPolicies.kubeApiPorts: [default: 443 6443] but the value is [443]" in result.stderr


def test_a_hand_edited_kubernetes_type_is_refused(chart_copy):
    schema_path = chart_copy / "values.schema.json"
    schema = json.loads(schema_path.read_text())
    del schema["definitions"]["io.k8s.api.core.v1.Toleration"]["properties"]["tolerationSeconds"]
    schema_path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
    result = check(chart_copy)
    assert result.returncode == 1
    assert "its Kubernetes types differ from kubernetes-validate's 1.30.0: run `make docs`" in result.stderr


def test_the_kubernetes_types_are_the_ones_values_hold_whole():
    schema = json.loads((CHART / "values.schema.json").read_text())
    scheduler = schema["properties"]["airflow"]["properties"]["scheduler"]["properties"]
    assert scheduler["extraContainers"]["items"] == {"$ref": "#/definitions/io.k8s.api.core.v1.Container"}
    container = schema["definitions"]["io.k8s.api.core.v1.Container"]
    assert container["required"] == ["name"] and container["additionalProperties"] is False
    # every reference resolves, and every definition is used
    refs = set(re.findall(r'"#/definitions/([^"]+)"', json.dumps(schema)))
    assert refs == set(schema["definitions"]), refs ^ set(schema["definitions"])
