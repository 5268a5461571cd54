#!/usr/bin/env bash
# make e2e: the end-to-end suite (tests/e2e).
# With KUBECONFIG set it runs on that cluster (kind: `make up` has loaded the images).
# Without, it brings up the offline node of scripts/local-cluster, builds every image
# from Debian's archive and PyPI (scripts/offline-images), imports them into the node,
# runs the suite and takes the node down again (E2E_KEEP_CLUSTER=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
work=${E2E_WORK:-$PWD/.e2e}
mkdir -p "$work"
export E2E_FIGURES=${E2E_FIGURES:-$work/figures.json}
setup_figures=()
started=$SECONDS
step() { printf '\n==> [%4ds] %s\n' $((SECONDS - started)) "$*"; }
timed() {  # NAME COMMAND...: run, record seconds as NAME
  local t0=$SECONDS
  "${@:2}"
  setup_figures+=("\"$1\": $((SECONDS - t0))")
}

node=scripts/local-cluster/cluster.sh
own_node=false
if [ -z "${KUBECONFIG:-}" ]; then
  own_node=true
  cache=${LOCAL_CLUSTER_CACHE:-/var/cache/platform-local-cluster}
  step "docker engine"
  DOCKER=$(scripts/offline-images/docker-engine.sh)
  export DOCKER
  # Building Kubernetes is CPU-bound, building the images mostly waits on downloads: they
  # overlap well on two cores.
  step "building the images in the background (log: $work/image-build.log)"
  (
    t0=$SECONDS
    scripts/offline-images/build.sh "$work/images"
    echo $((SECONDS - t0)) > "$work/image-build.seconds"
  ) > "$work/image-build.log" 2>&1 &
  build_pid=$!
  if [ -x "$cache/v1.20.2/bin/kube-apiserver" ]; then
    step "local node up (cached binaries)"
    timed node_up_cached_s "$node" up
  else
    step "local node up (cold: builds Kubernetes, ~6 min)"
    timed node_up_cold_s "$node" up
  fi
  export KUBECONFIG
  KUBECONFIG=$("$node" kubeconfig)
  export PATH="$cache/v1.20.2/bin:$PATH"  # its kubectl 1.20 matches the node
  export E2E_GIT_HOST=${E2E_GIT_HOST:-10.244.0.1}
  step "waiting for the image build"
  wait "$build_pid" || { tail -30 "$work/image-build.log" >&2; echo "e2e: the image build failed" >&2; exit 1; }
  setup_figures+=("\"image_build_s\": $(cat "$work/image-build.seconds")")
  step "importing the images into the node"
  timed image_import_s "$node" import-image "$work"/images/*.tar
fi
command -v kubectl >/dev/null || { echo "e2e: kubectl is needed on PATH" >&2; exit 1; }
command -v helm >/dev/null || { echo "e2e: helm is needed on PATH (make test installs it into .venv/bin)" >&2; exit 1; }

E2E_SETUP_FIGURES="{$(IFS=,; echo "${setup_figures[*]}")}"
export E2E_SETUP_FIGURES
step "pytest tests/e2e (KUBECONFIG=$KUBECONFIG)"
set +e
pytest tests/e2e -o addopts="--import-mode=importlib -ra" -p no:cacheprovider -v
rc=$?
set -e
if [ "$own_node" = true ] && [ -z "${E2E_KEEP_CLUSTER:-}" ]; then
  step "local node down"
  "$node" down --keep-images
fi
exit $rc
