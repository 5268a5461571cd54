"""Loopback helpers shared by the test servers."""

from __future__ import annotations

# One definition for the tests and the scripts that port-forward (scripts/platform_api.py).
from scripts.platform_api import free_port

__all__ = ["free_port"]
