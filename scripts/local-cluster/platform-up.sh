#!/usr/bin/env bash
# `make up` on a machine without kind: the single-node Kubernetes of cluster.sh with every
# image built from Debian's archive and PyPI (node-up.sh), this repository served to
# git-sync, Airflow's metadata on a PostgreSQL stand-in, the chart installed with
# values/local-node.yaml and the example DAG run once. Data and the Secrets that open it
# are kept in DATA_ROOT across `make down` / `make up`.
# Environment: platform-settings.sh, LOCAL_PORT (8080), GIT_PORT (9418).
set -euo pipefail
# shellcheck source=platform-settings.sh
. "$(dirname "${BASH_SOURCE[0]}")/platform-settings.sh"
GIT_PORT="${GIT_PORT:-9418}"
GATEWAY=10.244.0.1  # the node's bridge: the one host address pods reach

need_root
command -v apt-get >/dev/null || die "the local node is built from Debian packages: apt-get is required"
mkdir -p "$STATE_DIR"

step "local Kubernetes node and the images (the first start builds Kubernetes: ~5 min)"
"$ROOT/scripts/local-cluster/node-up.sh" "$STATE_DIR/images"
kubeconfig="$("$NODE" kubeconfig)"
PATH="$("$NODE" bin-dir):$ROOT/.venv/bin:$STATE_DIR/bin:$PATH"
command -v helm >/dev/null || "$ROOT/scripts/install-helm.sh" "$STATE_DIR/bin"

step "serving this repository to git-sync on $GATEWAY:$GIT_PORT (committed changes only)"
serve_git_repo "$ROOT" "$GATEWAY" "$GIT_PORT" "$STATE_DIR/git-daemon.pid"
ref="$(git -C "$ROOT" rev-parse --abbrev-ref HEAD)"

step "hostPath folders under $DATA_ROOT (kept across runs)"
for dir in data logs mysql mysql/mysql; do
  mkdir -p "$DATA_ROOT/$dir"
  chmod 0777 "$DATA_ROOT/$dir"  # written by uid 10001 (tasks), 50000 (Airflow), 999 (MySQL)
done
export KUBECONFIG="$kubeconfig"
# The data kept by an earlier `make down` only opens with the passwords it was made with.
"$ROOT/scripts/local-cluster/kept-secrets.py" restore "$NAMESPACE" "$DATA_ROOT/secrets/$NAMESPACE.json"

step "Airflow's metadata database (PostgreSQL stand-in; data in $DATA_ROOT/postgres)"
"$ROOT/scripts/local-cluster/metadata-db.sh" "$NAMESPACE" "$DATA_ROOT/postgres"

step "helm upgrade --install $RELEASE (--wait)"
install_release "$RELEASE" "$NAMESPACE" --kubeconfig "$kubeconfig" --values "$ROOT/values/local-node.yaml" \
  --set-string "dags.gitSync.repo=git://$GATEWAY:$GIT_PORT/$(basename "$ROOT")" \
  --set-string "dags.gitSync.ref=$ref" \
  --set-string "pipeline.data.hostPath=$DATA_ROOT/data" \
  --set-string "airflow.logs.persistence.hostPath=$DATA_ROOT/logs" \
  --set-string "mysql.persistence.hostPath=$DATA_ROOT/mysql"
"$ROOT/scripts/local-cluster/kept-secrets.py" save "$NAMESPACE" "$DATA_ROOT/secrets/$NAMESPACE.json"

RELEASE="$RELEASE" NAMESPACE="$NAMESPACE" LOCAL_PORT="${LOCAL_PORT:-8080}" STATE_DIR="$STATE_DIR" \
  DATA_DIR="$DATA_ROOT/data" "$ROOT/scripts/run-example-dag.sh" --kubeconfig "$kubeconfig"
