#!/usr/bin/env bash
# `make up`: kind when docker and kind are there (scripts/kind/up.sh), otherwise the
# single-node Kubernetes built offline from Debian packages (scripts/local-cluster).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if command -v kind >/dev/null 2>&1; then
  exec "$here/kind/up.sh"
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "kind not found: using the local node built from Debian packages (scripts/local-cluster)"
  exec "$here/local-cluster/platform-up.sh"
fi
echo "make up: needs either docker + kind (https://kind.sigs.k8s.io) and helm, or a Debian" >&2
echo "machine with root for the offline local node (scripts/local-cluster/README.md)." >&2
exit 1
