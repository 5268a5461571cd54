#!/usr/bin/env bash
# `make down`: delete the kind cluster made by up.sh and stop its helpers.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER="${KIND_CLUSTER_NAME:-movielens}"
STATE_DIR="$ROOT/.kind-state"

step() { printf '\n==> %s\n' "$*"; }

command -v kind >/dev/null 2>&1 || { echo "down.sh: ERROR: kind is not installed" >&2; exit 1; }

for name in port-forward git-daemon; do
  pidfile="$STATE_DIR/$name.pid"
  if [ -f "$pidfile" ]; then
    step "Stopping $name (pid $(cat "$pidfile"))"
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  fi
done

step "Deleting the kind cluster '$CLUSTER'"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  kind delete cluster --name "$CLUSTER"
else
  echo "no cluster named '$CLUSTER'"
fi
echo "The data directory (${DATA_DIR:-$ROOT/.kind-data}) is kept; remove it by hand if you like."
