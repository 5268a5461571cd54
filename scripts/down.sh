#!/usr/bin/env bash
# `make down`: undo whichever `make up` ran (kind cluster, or the local node).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -d "$here/../.local-node" ] || "$here/local-cluster/cluster.sh" status >/dev/null 2>&1; then
  "$here/local-cluster/platform-down.sh"
fi
if command -v kind >/dev/null 2>&1; then
  "$here/kind/down.sh"
fi
