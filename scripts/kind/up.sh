#!/usr/bin/env bash
# `make up`: a kind cluster with the whole platform, and one run of the DAG.
#
# Steps: check tools -> create the cluster (data hostPath mount) -> build and load every
# image under images/ -> serve this repository to git-sync (git daemon) -> helm upgrade
# --install --wait -> trigger movielens_ranking through the REST API v2 and wait for it.
#
# Environment overrides: KIND_CLUSTER_NAME (movielens), RELEASE (movielens-platform),
# NAMESPACE (airflow), DATA_DIR (<repo>/.kind-data), GIT_PORT (9418), IMAGE_TAG (0.1.0),
# CA_BUNDLE (a CA file handed to image builds behind an intercepting proxy),
# GIT_REPO / GIT_REF (use a fork instead of the local git daemon), LOCAL_PORT (8080).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER="${KIND_CLUSTER_NAME:-movielens}"
RELEASE="${RELEASE:-movielens-platform}"
NAMESPACE="${NAMESPACE:-airflow}"
DATA_DIR="${DATA_DIR:-$ROOT/.kind-data}"
GIT_PORT="${GIT_PORT:-9418}"
IMAGE_TAG="${IMAGE_TAG:-0.1.0}"
LOCAL_PORT="${LOCAL_PORT:-8080}"
CONTEXT="kind-$CLUSTER"
STATE_DIR="$ROOT/.kind-state"

# shellcheck source=../lib.sh
. "$ROOT/scripts/lib.sh"

step "Checking the tools"
missing=()
for tool in docker kind helm kubectl git curl python3; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  die "missing: ${missing[*]}. Install them first (helm: scripts/install-helm.sh DIR; kind: https://kind.sigs.k8s.io)."
fi
docker info >/dev/null 2>&1 || die "docker is installed but its daemon is not reachable (is it running?)"
echo "docker, kind, helm, kubectl, git, curl, python3: found"

step "Creating the kind cluster '$CLUSTER' (data directory $DATA_DIR)"
mkdir -p "$DATA_DIR" "$STATE_DIR"
# task pods run as uid 10001 and write to this directory through the hostPath volume
chmod 0777 "$DATA_DIR"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  echo "cluster '$CLUSTER' already exists"
else
  sed "s|@DATA_DIR@|$DATA_DIR|" "$ROOT/scripts/kind/cluster.yaml" > "$STATE_DIR/cluster.yaml"
  kind create cluster --name "$CLUSTER" --config "$STATE_DIR/cluster.yaml" --wait 180s
fi

step "Building and loading the images"
build_args=()
if [ -n "${CA_BUNDLE:-}" ]; then
  build_args+=(--secret "id=ca_bundle,src=$CA_BUNDLE")
fi
shopt -s nullglob
dockerfiles=("$ROOT"/images/movielens-*/Dockerfile)
[ "${#dockerfiles[@]}" -gt 0 ] || die "no images/movielens-*/Dockerfile found"
for dockerfile in "${dockerfiles[@]}"; do
  dir="$(dirname "$dockerfile")"
  name="$(basename "$dir")"
  echo "--> $name:$IMAGE_TAG"
  DOCKER_BUILDKIT=1 docker build ${build_args[@]+"${build_args[@]}"} -t "$name:$IMAGE_TAG" "$dir"
  kind load docker-image "$name:$IMAGE_TAG" --name "$CLUSTER"
done

step "Serving the DAG repository to git-sync"
if [ -n "${GIT_REPO:-}" ]; then
  repo_url="$GIT_REPO"
  ref="${GIT_REF:-main}"
  echo "using $repo_url at $ref"
else
  # git daemon on the kind network's gateway: the node reaches the host there.
  gateway="$(docker network inspect kind --format '{{range .IPAM.Config}}{{.Gateway}} {{end}}' | tr ' ' '\n' | grep -E '^[0-9.]+$' | head -n 1)"
  [ -n "$gateway" ] || die "could not find the IPv4 gateway of the docker network 'kind'"
  ref="${GIT_REF:-$(git -C "$ROOT" rev-parse --abbrev-ref HEAD)}"
  serve_git_repo "$ROOT" "$gateway" "$GIT_PORT" "$STATE_DIR/git-daemon.pid"
  repo_url="git://$gateway:$GIT_PORT/$(basename "$ROOT")"
  echo "git-sync will clone $repo_url at $ref (committed changes only)"
fi

step "Installing the chart (helm upgrade --install --wait)"
install_release "$RELEASE" "$NAMESPACE" --kube-context "$CONTEXT" --values "$ROOT/values/kind.yaml" \
  --set-string "dags.gitSync.repo=$repo_url" --set-string "dags.gitSync.ref=$ref"

RELEASE="$RELEASE" NAMESPACE="$NAMESPACE" LOCAL_PORT="$LOCAL_PORT" STATE_DIR="$STATE_DIR" DATA_DIR="$DATA_DIR" \
  "$ROOT/scripts/run-example-dag.sh" --context "$CONTEXT"
