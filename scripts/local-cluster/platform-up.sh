#!/usr/bin/env bash
# `make up` on a machine without kind: the single-node Kubernetes of cluster.sh, every
# image built from Debian's archive and PyPI and imported, this repository served to
# git-sync, Airflow's metadata on a PostgreSQL stand-in, the chart installed with
# values/local-node.yaml and the example DAG run once. Data and the Secrets that open it
# are kept in DATA_ROOT across `make down` / `make up`.
# Environment: RELEASE (movielens-platform), NAMESPACE (airflow), LOCAL_PORT (8080),
# DATA_ROOT (/var/lib/platform-local: the hostPath volumes), GIT_PORT (9418).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RELEASE="${RELEASE:-movielens-platform}"
NAMESPACE="${NAMESPACE:-airflow}"
DATA_ROOT="${DATA_ROOT:-/var/lib/platform-local}"
GIT_PORT="${GIT_PORT:-9418}"
STATE_DIR="$ROOT/.local-node"
NODE="$ROOT/scripts/local-cluster/cluster.sh"
GATEWAY=10.244.0.1  # the node's bridge: the one host address pods reach
started=$SECONDS
step() { printf '\n==> [%4ds] %s\n' $((SECONDS - started)) "$*"; }
die() { printf 'platform-up: ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "the local node needs root (it runs a kubelet and changes iptables)"
command -v apt-get >/dev/null || die "the local node is built from Debian packages: apt-get is required"
mkdir -p "$STATE_DIR"

step "local Kubernetes node (the first start builds Kubernetes: ~5 min)"
"$NODE" up
kubeconfig="$("$NODE" kubeconfig)"
export PATH="${LOCAL_CLUSTER_CACHE:-/var/cache/platform-local-cluster}/v1.20.2/bin:$ROOT/.venv/bin:$STATE_DIR/bin:$PATH"
command -v helm >/dev/null || "$ROOT/scripts/install-helm.sh" "$STATE_DIR/bin"

step "images (Debian base, Python base, images/*, stand-ins for mysql, PostgreSQL and git-sync)"
DOCKER="$("$ROOT/scripts/offline-images/docker-engine.sh")"
DOCKER="$DOCKER" "$ROOT/scripts/offline-images/build.sh" "$STATE_DIR/images"
"$NODE" import-image "$STATE_DIR"/images/*.tar

step "serving this repository to git-sync on $GATEWAY:$GIT_PORT (committed changes only)"
if [ -f "$STATE_DIR/git-daemon.pid" ] && kill -0 "$(cat "$STATE_DIR/git-daemon.pid")" 2>/dev/null; then
  echo "git daemon already running (pid $(cat "$STATE_DIR/git-daemon.pid"))"
else
  git daemon --base-path="$(dirname "$ROOT")" --export-all --reuseaddr --listen="$GATEWAY" \
    --port="$GIT_PORT" --detach --pid-file="$STATE_DIR/git-daemon.pid" "$ROOT"
fi
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
helm upgrade --install "$RELEASE" "$ROOT/chart" --kubeconfig "$kubeconfig" \
  --namespace "$NAMESPACE" --create-namespace --values "$ROOT/values/local-node.yaml" \
  --set-string "dags.gitSync.repo=git://$GATEWAY:$GIT_PORT/$(basename "$ROOT")" \
  --set-string "dags.gitSync.ref=$ref" \
  --set-string "pipeline.data.hostPath=$DATA_ROOT/data" \
  --set-string "airflow.logs.persistence.hostPath=$DATA_ROOT/logs" \
  --set-string "mysql.persistence.hostPath=$DATA_ROOT/mysql" \
  --wait --timeout 20m
"$ROOT/scripts/local-cluster/kept-secrets.py" save "$NAMESPACE" "$DATA_ROOT/secrets/$NAMESPACE.json"

RELEASE="$RELEASE" NAMESPACE="$NAMESPACE" LOCAL_PORT="${LOCAL_PORT:-8080}" STATE_DIR="$STATE_DIR" \
  DATA_DIR="$DATA_ROOT/data" "$ROOT/scripts/run-example-dag.sh" --kubeconfig "$kubeconfig"
