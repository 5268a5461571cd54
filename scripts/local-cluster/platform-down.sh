#!/usr/bin/env bash
# `make down` for platform-up.sh: save the release's credentials beside its data, stop the
# port-forward, stop the node (the in-cluster DAG repository goes with it; make up pushes
# again). Kept: DATA_ROOT (/var/lib/platform-local:
# the pipeline's files, MySQL's rankings, Airflow's metadata, the Secrets that open them)
# and the build cache. Environment: platform-settings.sh.
set -euo pipefail
# shellcheck source=platform-settings.sh
. "$(dirname "${BASH_SOURCE[0]}")/platform-settings.sh"

if "$NODE" status >/dev/null 2>&1; then
  KUBECONFIG="$("$NODE" kubeconfig)" PATH="$("$NODE" bin-dir):$PATH" \
    "$ROOT/scripts/local-cluster/kept-secrets.py" save "$NAMESPACE" "$DATA_ROOT/secrets/$NAMESPACE.json" || true
fi
stop_pidfile "$STATE_DIR/port-forward.pid" port-forward
"$NODE" down
if [ -d "$DATA_ROOT" ]; then
  cat <<MSG

Kept in $DATA_ROOT ($(du -sh "$DATA_ROOT" 2>/dev/null | cut -f1)): the ratings and rankings files (data/),
MySQL's rankings (mysql/), Airflow's metadata (postgres/), task logs (logs/) and the Secrets
that open them (secrets/). The next \`make up\` continues with them. To start empty instead:
  rm -rf $DATA_ROOT
MSG
fi
