#!/usr/bin/env bash
# `make down`: delete the kind cluster made by up.sh and stop its helpers.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER="${KIND_CLUSTER_NAME:-movielens}"
STATE_DIR="$ROOT/.kind-state"

# shellcheck source=../lib.sh
. "$ROOT/scripts/lib.sh"

command -v kind >/dev/null 2>&1 || die "kind is not installed"

stop_pidfile "$STATE_DIR/port-forward.pid" port-forward

step "Deleting the kind cluster '$CLUSTER'"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  kind delete cluster --name "$CLUSTER"
else
  echo "no cluster named '$CLUSTER'"
fi
echo "The data directory (${DATA_DIR:-$ROOT/.kind-data}) is kept; remove it by hand if you like."
