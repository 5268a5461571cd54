#!/usr/bin/env bash
# Airflow's metadata database for the local node and the end-to-end suite: the PostgreSQL
# stand-in (tests/e2e/images/postgres) as a StatefulSet `metadata-db` in NAMESPACE, with
# its data in HOST_DIR (a hostPath volume, kept across runs), and the Secret `metadata-db`
# (keys password, connection) that values/local-node.yaml names in
# airflow.externalDatabase. An existing Secret is kept: its password is the one the kept
# data knows. Idempotent.
# Usage: metadata-db.sh NAMESPACE HOST_DIR     (kubectl and KUBECONFIG from the environment)
# Environment: METADATA_DB_IMAGE (platform-e2e/postgres:15-standin)
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
namespace=${1:?usage: metadata-db.sh NAMESPACE HOST_DIR}
host_dir=${2:?usage: metadata-db.sh NAMESPACE HOST_DIR}
image=${METADATA_DB_IMAGE:-platform-e2e/postgres:15-standin}
command -v kubectl >/dev/null || die "kubectl is needed on PATH"

# The pods' user (999) creates its PGDATA below this folder; hostPath ignores fsGroup.
mkdir -p "$host_dir"
chmod 0777 "$host_dir"
kubectl get namespace "$namespace" >/dev/null 2>&1 || kubectl create namespace "$namespace" >/dev/null
if kubectl -n "$namespace" get secret metadata-db >/dev/null 2>&1; then
  step "Secret metadata-db exists in $namespace: kept (its password opens the kept data)"
else
  step "Secret metadata-db: a new password for Airflow's metadata database"
  password=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
  # Fed on stdin: the password never appears in a command line or a log.
  python3 - "$namespace" "$password" <<'PY' | kubectl apply -f - >/dev/null
import json, sys
namespace, password = sys.argv[1:]
url = f"postgresql://airflow:{password}@metadata-db.{namespace}.svc.cluster.local:5432/airflow"
print(json.dumps({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                  "metadata": {"name": "metadata-db", "namespace": namespace,
                               "labels": {"app.kubernetes.io/name": "metadata-db"}},
                  "stringData": {"password": password, "connection": url}}))
PY
fi
step "PostgreSQL stand-in metadata-db in $namespace (data in $host_dir)"
sed -e "s|@NAMESPACE@|$namespace|g" -e "s|@HOST_PATH@|$host_dir|g" -e "s|@IMAGE@|$image|g" \
  "$ROOT/tests/e2e/images/postgres/metadata-db.yaml" | kubectl apply -f - >/dev/null
kubectl -n "$namespace" rollout status statefulset/metadata-db --timeout=180s >/dev/null \
  || die "metadata-db did not get ready: kubectl -n $namespace describe pod metadata-db-0; kubectl -n $namespace logs metadata-db-0"
step "metadata-db ready"
