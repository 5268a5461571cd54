"""pytest configuration for the chart tests (no cluster needed).

The helpers live in chart_helpers.py (imported by the test modules); this file makes
that module importable and fails the whole run early when helm is missing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chart_helpers import helm  # noqa: E402

HELM_VERSION = "v3.19.0"


@pytest.fixture(scope="session", autouse=True)
def helm_binary() -> str:
    """The helm binary on PATH, at the pinned version."""
    path = helm()
    version = subprocess.run(
        [path, "version", "--template", "{{.Version}}"], capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == HELM_VERSION, f"helm {version.stdout.strip()} found, {HELM_VERSION} expected"
    return path
