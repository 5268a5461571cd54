#!/usr/bin/env python3
"""Write the descriptions of chart/values.yaml's `## @param` and `## @extra` lines into
chart/values.schema.json, so that each value is described in one place.

Every property on a path from the schema's root gets the description of that value. The
properties inside shared definitions (an image's tag, a resource list's cpu) serve many
values: they keep the generic description written in the schema (or Kubernetes' own, for
the types k8s_types.py copies), and must have one.

  schema_descriptions.py [--check] VALUES_YAML SCHEMA_JSON

--check changes nothing and exits 1 when the schema is not what this would write. A
`[default: ...]` modifier (for lists the table's generator skips) must match the value.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from pathlib import Path

import yaml
from schema_file import write_or_check

DOC_LINE = re.compile(r"^\s*## @(?:param|extra) (?P<path>\S+)(?: \[(?P<modifiers>[^\]]*)\])? (?P<text>.+?)\s*$")


def doc_lines(values_yaml: Path) -> list[re.Match]:
    return [m for line in values_yaml.read_text().splitlines() if (m := DOC_LINE.match(line))]


def stale_defaults(values_yaml: Path) -> list[str]:
    """`[default: ...]` stands in the table for a list the generator skips: it must be the value."""
    values = yaml.safe_load(values_yaml.read_text())
    problems = []
    for m in doc_lines(values_yaml):
        for modifier in (m["modifiers"] or "").split(","):
            if modifier.strip().startswith("default:"):
                stated = modifier.split(":", 1)[1].split()
                value = functools.reduce(lambda node, key: node[key], m["path"].split("."), values)
                if stated != [str(v) for v in value]:
                    problems.append(f"{m['path']}: [default: {' '.join(stated)}] but the value is {value}")
    return problems


def describe(schema: dict, docs: dict[str, str]) -> list[str]:
    """Set descriptions in place; return the problems found."""
    problems: list[str] = []

    def visit(node: dict, path: str) -> None:
        for key, child in (node.get("properties") or {}).items():
            child_path = f"{path}.{key}" if path else key
            if child_path in docs:
                child["description"] = docs[child_path]
            else:
                problems.append(f"{child_path}: no `## @param` or `## @extra` line in values.yaml")
            visit(child, child_path)

    def generic(node: dict, where: str) -> None:
        for key, child in (node.get("properties") or {}).items():
            if not child.get("description"):
                problems.append(f"{where}.properties.{key}: no description in values.schema.json")
            generic(child, f"{where}.properties.{key}")

    visit(schema, "")
    for name, definition in (schema.get("definitions") or {}).items():
        generic(definition, f"definitions.{name}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("values_yaml", type=Path)
    parser.add_argument("schema_json", type=Path)
    args = parser.parse_args()

    current = args.schema_json.read_text()
    schema = json.loads(current)
    problems = stale_defaults(args.values_yaml)
    problems += describe(schema, {m["path"]: m["text"] for m in doc_lines(args.values_yaml)})
    if problems:
        print(f"{args.values_yaml}, {args.schema_json}: {len(problems)} problems:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    return write_or_check(args.schema_json, current, schema, check=args.check,
                          stale=f"descriptions differ from {args.values_yaml}'s", written="descriptions written")

if __name__ == "__main__":
    sys.exit(main())
