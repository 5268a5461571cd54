"""`movielens-api`: run the API under gunicorn with the image's settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    config = os.environ.get("GUNICORN_CONF", str(Path(__file__).resolve().parent / "gunicorn.conf.py"))
    args = [sys.executable, "-m", "gunicorn", "--config", config, *sys.argv[1:], "movielens_api.app:create_app()"]
    os.execv(sys.executable, args)
