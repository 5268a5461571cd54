#!/usr/bin/env bash
# `make up`: a kind cluster with the whole platform, and one run of the DAG.
#
# Steps: check tools -> create the cluster (data hostPath mount) -> build and load every
# image under images/ -> the in-cluster DAG repository, and this repository's current branch
# pushed to it through the Kubernetes API (no host address involved) -> helm upgrade
# --install --wait -> trigger movielens_ranking through the REST API v2 and wait for it.
#
# Environment overrides: KIND_CLUSTER_NAME (movielens), RELEASE (movielens-platform),
# NAMESPACE (airflow), DATA_DIR (<repo>/.kind-data), IMAGE_TAG (0.1.0),
# CA_BUNDLE (a CA file handed to image builds behind an intercepting proxy),
# GIT_REPO / GIT_REF (follow a fork instead of the in-cluster repository), LOCAL_PORT (8080),
# KIND_NODE_IMAGE (default: the one scripts/kind/tools.sh pins for its kind release).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER="${KIND_CLUSTER_NAME:-movielens}"
RELEASE="${RELEASE:-movielens-platform}"
NAMESPACE="${NAMESPACE:-airflow}"
DATA_DIR="${DATA_DIR:-$ROOT/.kind-data}"
IMAGE_TAG="${IMAGE_TAG:-0.1.0}"
LOCAL_PORT="${LOCAL_PORT:-8080}"
CONTEXT="kind-$CLUSTER"
STATE_DIR="$ROOT/.kind-state"

# shellcheck source=../lib.sh
. "$ROOT/scripts/lib.sh"
# shellcheck source=images.sh
. "$ROOT/scripts/kind/images.sh"
# shellcheck source=tools.sh
. "$ROOT/scripts/kind/tools.sh"

step "Checking the tools"
check_kind_tools
KIND_NODE_IMAGE=${KIND_NODE_IMAGE:-$KIND_NODE_IMAGE_PINNED}

step "Creating the kind cluster '$CLUSTER' (data directory $DATA_DIR)"
mkdir -p "$DATA_DIR" "$STATE_DIR"
# task pods run as uid 10001 and write to this directory through the hostPath volume
chmod 0777 "$DATA_DIR"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  # an older or hand-made cluster lacks the data mount or the UI's port: say so, not fail later
  node="$CLUSTER-control-plane"
  docker inspect -f '{{range .Mounts}}{{.Source}} {{end}}' "$node" | tr ' ' '\n' | grep -qx "$DATA_DIR" \
    || die "cluster '$CLUSTER' exists without $DATA_DIR mounted: make down (or kind delete cluster --name $CLUSTER), then make up"
  docker inspect -f '{{json .HostConfig.PortBindings}}' "$node" | grep -q '"30080/tcp"' \
    || die "cluster '$CLUSTER' exists without the UI's port 30080 published: make down, then make up"
  echo "cluster '$CLUSTER' already exists, with $DATA_DIR mounted and the UI on localhost:$LOCAL_PORT"
else
  render_template "$ROOT/scripts/kind/cluster.yaml" "$STATE_DIR/cluster.yaml"
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
  kind_load_image "$CLUSTER" "$name:$IMAGE_TAG"
done
echo "--> $DAGS_GIT_SERVER_IMAGE"
DOCKER_BUILDKIT=1 docker build ${build_args[@]+"${build_args[@]}"} -t "$DAGS_GIT_SERVER_IMAGE" "$ROOT/images/dags-git-server"

repo_args=()
if [ -n "${GIT_REPO:-}" ]; then
  step "Airflow's git DAG bundle follows $GIT_REPO at ${GIT_REF:-main}"
  repo_args=(--set-string "dags.gitBundle.repo=$GIT_REPO" --set-string "dags.gitBundle.ref=${GIT_REF:-main}")
else
  step "The DAG repository in the cluster, and this repository's current branch pushed to it"
  kind_load_image "$CLUSTER" "$DAGS_GIT_SERVER_IMAGE"
  # the scripts act on kubectl's current context, which make sync will find again
  kubectl config use-context "$CONTEXT" >/dev/null
  "$ROOT/scripts/dags-repo/deploy.sh" "$NAMESPACE"
  "$ROOT/scripts/dags-repo/push.sh" "$NAMESPACE" "$ROOT"
fi

step "Installing the chart (helm upgrade --install --wait)"
tag_values=$(image_values "$IMAGE_TAG")
mapfile -t tag_args <<<"$tag_values"
install_release "$RELEASE" "$NAMESPACE" --kube-context "$CONTEXT" --values "$ROOT/values/kind.yaml" \
  "${tag_args[@]}" ${repo_args[@]+"${repo_args[@]}"}

# the UI's NodePort, published on localhost:LOCAL_PORT by the cluster's extraPortMappings
RELEASE="$RELEASE" NAMESPACE="$NAMESPACE" API_URL="http://localhost:$LOCAL_PORT" STATE_DIR="$STATE_DIR" \
  DATA_DIR="$DATA_DIR" "$ROOT/scripts/run-example-dag.sh" --context "$CONTEXT"
