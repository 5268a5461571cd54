"""Wait until the migration Job has brought the metadata database to this image's Airflow,
or MIGRATION_WAIT_SECONDS pass: the init container of every Airflow component.

What `airflow db check-migrations` checks, without importing Airflow (about 4 s of CPU for
each component, all at once on an install): the database's Alembic heads (alembic_version,
and alembic_version_fab with FAB=true) equal the heads of the migration scripts installed
with this image's Airflow (and FAB provider), read from the scripts' revision lines.
"""

import importlib.util
import os
import re
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

REVISION = re.compile(r"""^revision(?:\s*:[^=]+)?\s*=\s*["']([^"']+)["']""", re.M)
DOWN_REVISION = re.compile(r"""^down_revision(?:\s*:[^=]+)?\s*=\s*(.+)$""", re.M)


def script_heads(versions: Path) -> set[str]:
    """The revisions no other script names as its down_revision."""
    revisions, parents = set(), set()
    for script in versions.glob("*.py"):
        source = script.read_text(encoding="utf-8")
        found = REVISION.search(source)
        if not found:
            continue
        revisions.add(found.group(1))
        down = DOWN_REVISION.search(source)
        if down:
            parents.update(re.findall(r"""["']([^"']+)["']""", down.group(1)))
    if not revisions:
        sys.exit(f"no migration scripts in {versions}: is this an Airflow image?")
    return revisions - parents


def wanted_heads(fab: bool) -> dict[str, set[str]]:
    """Version table -> heads. find_spec locates the package without running its __init__."""
    airflow_dir = Path(importlib.util.find_spec("airflow").submodule_search_locations[0])
    wanted = {"alembic_version": script_heads(airflow_dir / "migrations" / "versions")}
    if fab:
        wanted["alembic_version_fab"] = script_heads(airflow_dir / "providers" / "fab" / "migrations" / "versions")
    return wanted


def database_heads(connection, table: str) -> set[str]:
    """Empty while the table is missing: asked first, so the server logs no error for it."""
    if not inspect(connection).has_table(table):
        return set()
    return {row[0] for row in connection.execute(text(f"SELECT version_num FROM {table}"))}


def main() -> int:
    url = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    if not url:
        sys.exit("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN is not set: the chart sets it from the metadata Secret")
    wanted = wanted_heads(os.environ.get("FAB", "false") == "true")
    wait = int(os.environ.get("MIGRATION_WAIT_SECONDS", "900"))
    engine = create_engine(url)
    deadline = time.monotonic() + wait
    last = "no answer yet"
    while True:
        try:
            with engine.connect() as connection:
                found = {table: database_heads(connection, table) for table in wanted}
            if found == wanted:
                print(f"the metadata database is migrated: {found}", flush=True)
                return 0
            last = f"heads in the database {found}, in this image {wanted}"
        except Exception as error:  # the database not answering yet
            last = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        if time.monotonic() >= deadline:
            break
        time.sleep(1)
    sys.exit(f"the metadata database was not migrated to this image's Airflow within {wait} s ({last}); "
             "see the migration Job's log: kubectl logs job/<release>-migrate-<id>")


if __name__ == "__main__":
    sys.exit(main())
