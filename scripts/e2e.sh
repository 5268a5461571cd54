#!/usr/bin/env bash
# make e2e: the end-to-end suite (tests/e2e).
# With KUBECONFIG set it runs on that cluster (kind: `make up` has loaded the images).
# Without, it uses the cluster `make up` left: the local node, or the kind cluster (with
# values/kind.yaml); the suite's release lives in its own namespace and NodePort beside the
# `make up` release, and the cluster stays up. With neither, it brings up the offline node
# of scripts/local-cluster with every image built from Debian's archive and PyPI
# (node-up.sh), runs the suite and takes the node down again (E2E_KEEP_CLUSTER=1 keeps it).
# Arguments, if any, replace tests/e2e as what pytest runs:
#   scripts/e2e.sh tests/e2e/test_18_fault_uninstall_reinstall.py
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. scripts/lib.sh
export PATH="$PWD/.venv/bin:$PATH"
work=${E2E_WORK:-$PWD/.e2e}
mkdir -p "$work"
export E2E_FIGURES=${E2E_FIGURES:-$work/figures.json}
node=scripts/local-cluster/cluster.sh

own_node=false
E2E_SETUP_FIGURES="{}"
node_up=false
[ -z "${KUBECONFIG:-}" ] && "$node" status >/dev/null 2>&1 && node_up=true
if [ -z "${KUBECONFIG:-}" ] && [ "$node_up" = false ] \
  && kind_config=$(scripts/kind/e2e-kubeconfig.sh "$work") && [ -n "$kind_config" ]; then
  step "using the kind cluster of make up (${KIND_CLUSTER_NAME:-movielens}) with values/kind.yaml"
  KUBECONFIG=$kind_config
  export E2E_VALUES=${E2E_VALUES:-$PWD/values/kind.yaml}
fi
if [ -z "${KUBECONFIG:-}" ]; then
  if [ "$node_up" = true ]; then
    warn "using the local node that is already up: the suite's release requests about 1 CPU beside any \
release there (on 2 cores, make down first)"
  else
    own_node=true
  fi
  FIGURES="$work/setup-figures.json" scripts/local-cluster/node-up.sh "$PWD/.local-node/images"
  E2E_SETUP_FIGURES=$(cat "$work/setup-figures.json")
  KUBECONFIG=$("$node" kubeconfig)
  PATH="$("$node" bin-dir):$PATH"  # its kubectl matches the node
fi
export KUBECONFIG E2E_SETUP_FIGURES
# The UI test drives Debian's Chromium (tests/e2e/test_09_ui_browser.py).
if ! { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    step "installing Debian's chromium and chromium-driver for the UI test"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
  else
    warn "no /usr/bin/chromium and /usr/bin/chromedriver: the UI test will fail (apt-get install chromium chromium-driver)"
  fi
fi
command -v kubectl >/dev/null || die "kubectl is needed on PATH"
command -v helm >/dev/null || die "helm is needed on PATH (make setup installs it into .venv/bin)"

[ "$#" -gt 0 ] || set -- tests/e2e
step "pytest $* (KUBECONFIG=$KUBECONFIG)"
set +e
pytest "$@" -o addopts="--import-mode=importlib -ra" -p no:cacheprovider -v
rc=$?
set -e
if [ "$own_node" = true ] && [ -z "${E2E_KEEP_CLUSTER:-}" ]; then
  step "local node down"
  "$node" down --keep-images
fi
exit $rc
