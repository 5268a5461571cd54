# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this
# Settings of the platform on the local node, shared by platform-up.sh and platform-down.sh.
# Environment: RELEASE (movielens-platform), NAMESPACE (airflow), DATA_ROOT
# (/var/lib/platform-local: the hostPath volumes and the kept Secrets).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../lib.sh
. "$ROOT/scripts/lib.sh"
RELEASE="${RELEASE:-movielens-platform}"
NAMESPACE="${NAMESPACE:-airflow}"
DATA_ROOT="${DATA_ROOT:-/var/lib/platform-local}"
STATE_DIR="$ROOT/.local-node"
NODE="$ROOT/scripts/local-cluster/cluster.sh"
export RELEASE NAMESPACE DATA_ROOT
