#!/usr/bin/env bash
# `make down` for platform-up.sh: stop the port-forward and the git daemon, stop the node.
# The hostPath data (DATA_ROOT, /var/lib/platform-local) and the build cache are kept.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE_DIR="$ROOT/.local-node"
for name in port-forward git-daemon; do
  if [ -f "$STATE_DIR/$name.pid" ]; then
    echo "==> stopping $name (pid $(cat "$STATE_DIR/$name.pid"))"
    kill "$(cat "$STATE_DIR/$name.pid")" 2>/dev/null || true
    rm -f "$STATE_DIR/$name.pid"
  fi
done
"$ROOT/scripts/local-cluster/cluster.sh" down
