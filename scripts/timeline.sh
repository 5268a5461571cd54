#!/usr/bin/env bash
# make timeline [RUN=RUN_ID]: where a DAG run's seconds went (scripts/run_timeline.py), on
# the cluster `make up` made: the one in KUBECONFIG, else the local node when it is up,
# else kubectl's current context (kind's, after `make up` with kind).
# Environment: RELEASE (movielens-platform), NAMESPACE (airflow), DAG (movielens_ranking).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"
use_platform_cluster

args=(--release "${RELEASE:-movielens-platform}" --namespace "${NAMESPACE:-airflow}" --dag "${DAG:-movielens_ranking}")
exec "$ROOT/.venv/bin/python" "$ROOT/scripts/run_timeline.py" "${args[@]}" "$@"
