#!/usr/bin/env bash
# `make up` on a machine without kind: the single-node Kubernetes of cluster.sh with every
# image built from Debian's archive and PyPI (node-up.sh), this repository pushed to the
# in-cluster DAG repository Airflow's git DAG bundle follows (make sync pushes again), Airflow's metadata on
# a PostgreSQL stand-in, the chart installed with
# values/local-node.yaml and the example DAG run once. Data and the Secrets that open it
# are kept in DATA_ROOT across `make down` / `make up`.
# Environment: platform-settings.sh.
set -euo pipefail
# shellcheck source=platform-settings.sh
. "$(dirname "${BASH_SOURCE[0]}")/platform-settings.sh"

need_root
command -v apt-get >/dev/null || die "the local node is built from Debian packages: apt-get is required"
mkdir -p "$STATE_DIR"

step "local Kubernetes node and the images (the first start builds Kubernetes: ~5 min)"
"$ROOT/scripts/local-cluster/node-up.sh" "$STATE_DIR/images"
kubeconfig="$("$NODE" kubeconfig)"
PATH="$("$NODE" bin-dir):$ROOT/.venv/bin:$STATE_DIR/bin:$PATH"
command -v helm >/dev/null || "$ROOT/scripts/install-helm.sh" "$STATE_DIR/bin"

step "hostPath folders under $DATA_ROOT (kept across runs)"
for dir in data logs mysql mysql/mysql; do
  mkdir -p "$DATA_ROOT/$dir"
  chmod 0777 "$DATA_ROOT/$dir"  # written by uid 10001 (tasks), 50000 (Airflow), 999 (MySQL)
done
export KUBECONFIG="$kubeconfig"

# The data kept by an earlier `make down` only opens with the passwords it was made with;
# restored into a namespace that does not exist yet (an existing one holds current Secrets).
"$ROOT/scripts/local-cluster/kept-secrets.py" restore "$NAMESPACE" "$DATA_ROOT/secrets/$NAMESPACE.json"

step "the DAG repository in the cluster, and this repository's current branch pushed to it"
"$ROOT/scripts/dags-repo/deploy.sh" "$NAMESPACE"
"$ROOT/scripts/dags-repo/push.sh" "$NAMESPACE" "$ROOT"

step "Airflow's metadata database (PostgreSQL stand-in; data in $DATA_ROOT/postgres)"
"$ROOT/scripts/local-cluster/metadata-db.sh" "$NAMESPACE" "$DATA_ROOT/postgres"

step "helm upgrade --install $RELEASE (--wait)"
install_release "$RELEASE" "$NAMESPACE" --kubeconfig "$kubeconfig" --values "$ROOT/values/local-node.yaml" \
  --set-string "pipeline.data.hostPath=$DATA_ROOT/data" \
  --set-string "airflow.logs.persistence.hostPath=$DATA_ROOT/logs" \
  --set-string "mysql.persistence.hostPath=$DATA_ROOT/mysql"
"$ROOT/scripts/local-cluster/kept-secrets.py" save "$NAMESPACE" "$DATA_ROOT/secrets/$NAMESPACE.json"

# the UI's NodePort (values/local-node.yaml), which the node serves on this machine's 127.0.0.1
RELEASE="$RELEASE" NAMESPACE="$NAMESPACE" API_URL="http://127.0.0.1:30080" STATE_DIR="$STATE_DIR" \
  DATA_DIR="$DATA_ROOT/data" "$ROOT/scripts/run-example-dag.sh" --kubeconfig "$kubeconfig"
