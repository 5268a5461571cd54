#!/usr/bin/env bash
# Push REPO_DIR's current branch (its last commit: nothing is committed on your behalf) to
# the in-cluster DAG repository's main, through `kubectl port-forward`, so it works wherever
# kubectl does (kind on Docker Desktop, kind on Linux, the local node). A rebased or amended
# branch replaces what was there. git-sync picks it up within its period.
# Usage: push.sh NAMESPACE REPO_DIR   (kubectl and the cluster from the environment)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../lib.sh
. "$ROOT/scripts/lib.sh"
NAMESPACE=${1:?usage: push.sh NAMESPACE REPO_DIR}
REPO_DIR=${2:?usage: push.sh NAMESPACE REPO_DIR}
command -v kubectl >/dev/null || die "kubectl is needed on PATH"
git -C "$REPO_DIR" rev-parse --verify -q HEAD >/dev/null || die "$REPO_DIR has no commit to push: commit your DAGs first"
kubectl -n "$NAMESPACE" get service dags-git-server >/dev/null 2>&1 \
  || die "no DAG repository in namespace $NAMESPACE: run make up (or scripts/dags-repo/deploy.sh $NAMESPACE)"

if [ -n "$(git -C "$REPO_DIR" status --porcelain -- dags 2>/dev/null)" ]; then
  warn "dags/ has changes that are not committed: they are not pushed (git commit them, then push again)"
fi
branch=$(git -C "$REPO_DIR" rev-parse --abbrev-ref HEAD)
commit=$(git -C "$REPO_DIR" rev-parse --short HEAD)

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
kubectl -n "$NAMESPACE" port-forward service/dags-git-server "$port:9418" --address 127.0.0.1 >"$log" 2>&1 &
forward=$!
trap 'stop_pid "$forward"; rm -f "$log"' EXIT
url="git://127.0.0.1:$port/dags.git"
for _ in $(seq 1 50); do
  kill -0 "$forward" 2>/dev/null || die "kubectl port-forward to dags-git-server ended: $(tail -3 "$log")"
  git ls-remote "$url" >/dev/null 2>&1 && break
  sleep 0.2
done
git -C "$REPO_DIR" push --quiet --force "$url" HEAD:refs/heads/main \
  || die "git push to the DAG repository failed (kubectl -n $NAMESPACE logs deploy/dags-git-server)"
step "pushed $branch ($commit) to the DAG repository's main in $NAMESPACE; Airflow fetches it within dags.gitBundle.refreshInterval (git-sync: its period)"
