#!/usr/bin/env bash
# The kubeconfig of the kind cluster `make up` made, for `make e2e`: written to
# DIR/kind-kubeconfig and its path printed. Prints nothing (and succeeds) when kind is not
# installed or that cluster does not exist, so the caller falls back to the local node.
# Usage: e2e-kubeconfig.sh DIR      Environment: KIND_CLUSTER_NAME (movielens).
set -euo pipefail
dir=${1:?usage: e2e-kubeconfig.sh DIR}
cluster=${KIND_CLUSTER_NAME:-movielens}
command -v kind >/dev/null 2>&1 || exit 0
kind get clusters 2>/dev/null | grep -qx "$cluster" || exit 0
mkdir -p "$dir"
kind get kubeconfig --name "$cluster" >"$dir/kind-kubeconfig.tmp"
mv "$dir/kind-kubeconfig.tmp" "$dir/kind-kubeconfig"
echo "$dir/kind-kubeconfig"
