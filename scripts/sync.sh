#!/usr/bin/env bash
# make sync: this repository's current branch to the cluster `make up` made, one command
# from a commit to Airflow (the git DAG bundle fetches within seconds; new DAG files are
# listed by the dag-processor within its refresh interval). Commits nothing: commit your change first.
# Environment: NAMESPACE (airflow).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"
use_platform_cluster
exec "$ROOT/scripts/dags-repo/push.sh" "${NAMESPACE:-airflow}" "$ROOT"
