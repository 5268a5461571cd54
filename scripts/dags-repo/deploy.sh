#!/usr/bin/env bash
# The in-cluster DAG repository (images/dags-git-server) in NAMESPACE, ready to take a push:
# created with the namespace when missing, left as it is when it runs (its repository lives
# in the pod). kubectl and the cluster come from the environment (KUBECONFIG or the context).
# Usage: deploy.sh NAMESPACE        Environment: DAGS_GIT_SERVER_IMAGE (see scripts/lib.sh)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../lib.sh
. "$ROOT/scripts/lib.sh"
NAMESPACE=${1:?usage: deploy.sh NAMESPACE}
IMAGE=$DAGS_GIT_SERVER_IMAGE
command -v kubectl >/dev/null || die "kubectl is needed on PATH"

kubectl get namespace "$NAMESPACE" >/dev/null 2>&1 || kubectl create namespace "$NAMESPACE" >/dev/null
manifest=$(mktemp)
trap 'rm -f "$manifest"' EXIT
render_template "$ROOT/images/dags-git-server/dags-git-server.yaml" "$manifest"
kubectl apply -f "$manifest" >/dev/null
kubectl -n "$NAMESPACE" rollout status deployment/dags-git-server --timeout=120s >/dev/null \
  || die "dags-git-server did not get ready: kubectl -n $NAMESPACE describe pod -l app.kubernetes.io/name=dags-git-server (is the image $IMAGE loaded into the cluster?)"
step "DAG repository ready: git://dags-git-server.$NAMESPACE:9418/dags.git"
