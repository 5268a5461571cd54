"""Write values.schema.json the one way both generators do: the same JSON layout, only
when it changes, through a temporary file and a rename (never half-written); or, under
--check, only say that it would change."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path


def write_or_check(path: Path, current: str, schema: dict, *, check: bool, stale: str, written: str) -> int:
    """0 when the file holds `schema` (or now does); 1, printing `stale`, when --check finds it differs."""
    wanted = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    if wanted == current:
        return 0
    if check:
        print(f"{path}: {stale}: run `make docs`", file=sys.stderr)
        return 1
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as out:
        out.write(wanted)
    os.replace(out.name, path)
    print(f"{path}: {written}")
    return 0
