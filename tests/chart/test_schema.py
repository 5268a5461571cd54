"""values.schema.json rejects bad values with readable messages."""

from __future__ import annotations

import json

import pytest
from chart_helpers import CHART, render_error


@pytest.mark.parametrize(
    "values, message",
    [
        ({"airflow": {"scheduler": {"replicas": "two"}}}, "at '/airflow/scheduler/replicas': got string, want integer"),
        ({"airflow": {"schedular": {}}}, "at '/airflow': additional properties 'schedular' not allowed"),
        ({"bogus": 1}, "additional properties 'bogus' not allowed"),
        ({"mysql": {"enabled": "yes"}}, "at '/mysql/enabled': got string, want boolean"),
        ({"airflow": {"image": {"tag": "latest"}}}, "at '/airflow/image/tag'"),
        ({"airflow": {"image": {"pullPolicy": "Sometimes"}}}, "at '/airflow/image/pullPolicy'"),
        (
            {"pipeline": {"images": {"fetch": {"repository": "x", "tag": "1", "pullPolicy": "Always"}}}},
            "at '/pipeline/images/fetch': additional properties 'pullPolicy' not allowed",
        ),
        # a null removes the default: every container must keep its memory request
        (
            {"airflow": {"workers": {"resources": {"requests": {"memory": None}}}}},
            "at '/airflow/workers/resources/requests': missing property 'memory'",
        ),
        ({"mysql": {"resources": {"limits": {"memory": "lots"}}}}, "at '/mysql/resources/limits/memory'"),
        ({"networkPolicies": {"kubeApiCidrs": ["not-a-cidr"]}}, "at '/networkPolicies/kubeApiCidrs/0'"),
        ({"dags": {"gitSync": {"period": "soon"}}}, "at '/dags/gitSync/period'"),
        ({"airflow": {"admin": {"role": "root"}}}, "at '/airflow/admin/role'"),
        ({"airflow": {"config": {"core": {"nested": {"a": 1}}}}}, "at '/airflow/config/core/nested'"),
        ({"pipeline": {"database": {"privileges": ["ALL PRIVILEGES"]}}}, "at '/pipeline/database/privileges/0'"),
        ({"airflow": {"apiServer": {"ingress": {"pathType": "Glob"}}}}, "at '/airflow/apiServer/ingress/pathType'"),
    ],
)
def test_schema_rejections(values, message):
    err = render_error(values=values)
    assert "values don't meet the specifications of the schema" in err
    assert message in err


def test_set_flag_type_errors_are_reported():
    err = render_error(sets=["airflow.apiServer.service.port=http"])
    assert "at '/airflow/apiServer/service/port': got string, want integer" in err


def _walk(schema: dict, defs: dict, path: str, seen: list[str]) -> None:
    if "$ref" in schema:
        schema = defs[schema["$ref"].split("/")[-1]]
    for sub in schema.get("oneOf", []):
        _walk(sub, defs, path, seen)
    if schema.get("type") == "object" and "properties" in schema:
        seen.append(path)
        assert schema.get("additionalProperties") is False, f"{path} allows unknown keys"
        for key, sub in schema["properties"].items():
            _walk(sub, defs, f"{path}.{key}", seen)


def test_every_object_in_the_schema_is_closed():
    schema = json.loads((CHART / "values.schema.json").read_text())
    seen: list[str] = []
    _walk(schema, schema["definitions"], "", seen)
    assert len(seen) > 40


def test_schema_covers_every_default_value():
    import yaml

    schema = json.loads((CHART / "values.schema.json").read_text())
    defs = schema["definitions"]
    values = yaml.safe_load((CHART / "values.yaml").read_text())

    def check(value, sch, path):
        if "$ref" in sch:
            sch = defs[sch["$ref"].split("/")[-1]]
        if isinstance(value, dict) and "properties" in sch:
            for key, sub in value.items():
                assert key in sch["properties"], f"{path}.{key} is not in the schema"
                check(sub, sch["properties"][key], f"{path}.{key}")

    check(values, schema, "")
