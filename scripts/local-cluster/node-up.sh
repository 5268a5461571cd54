#!/usr/bin/env bash
# The local node with every image the platform runs, for `make up` and `make e2e`: the
# docker engine, the image build (scripts/offline-images/build.sh), the node (cluster.sh
# up), the import of the images into it. Building Kubernetes is CPU-bound and the image
# build mostly waits on downloads, so the build runs in the background meanwhile.
# Prints each step with its time; with FIGURES=FILE also writes the times there (JSON:
# node_up_cold_s or node_up_cached_s, image_build_s, image_import_s).
# Usage: node-up.sh IMAGES_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=../lib.sh
. "$root/scripts/lib.sh"
images=${1:?usage: node-up.sh IMAGES_DIR}
node="$here/cluster.sh"
need_root
mkdir -p "$images"

step "docker engine"
DOCKER=$("$root/scripts/offline-images/docker-engine.sh")
export DOCKER

step "building the images in the background (log: $images/build.log)"
(
  t0=$SECONDS
  "$root/scripts/offline-images/build.sh" "$images"
  echo $((SECONDS - t0)) >"$images/build.seconds"
) >"$images/build.log" 2>&1 &
build_pid=$!

t0=$SECONDS
if [ -x "$("$node" bin-dir)/kube-apiserver" ]; then
  step "local node up (cached binaries)"
  node_figure=node_up_cached_s
else
  step "local node up (cold: builds Kubernetes, ~5 min)"
  node_figure=node_up_cold_s
fi
"$node" up
node_seconds=$((SECONDS - t0))

step "waiting for the image build"
wait "$build_pid" || { tail -30 "$images/build.log" >&2; die "the image build failed (log: $images/build.log)"; }
build_seconds=$(cat "$images/build.seconds")
step "images built in ${build_seconds}s"

step "importing the images into the node"
t0=$SECONDS
"$node" import-image "$images"/*.tar
import_seconds=$((SECONDS - t0))

step "node up in ${node_seconds}s, images built in ${build_seconds}s (overlapped), imported in ${import_seconds}s"
if [ -n "${FIGURES:-}" ]; then
  printf '{"%s": %d, "image_build_s": %d, "image_import_s": %d}\n' \
    "$node_figure" "$node_seconds" "$build_seconds" "$import_seconds" >"$FIGURES"
fi
