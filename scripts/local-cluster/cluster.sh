#!/usr/bin/env bash
# A single-node Kubernetes built from Debian bookworm packages only: the offline
# end-to-end test target (README.md beside this file). The version, addresses and folders
# are in lib/settings.sh; `cluster.sh help` lists the commands.
#
# Environment: LOCAL_CLUSTER_CACHE (/var/cache/platform-local-cluster),
# LOCAL_CLUSTER_STATE (/var/lib/platform-local-cluster), LOCAL_CLUSTER_SKIP_APT=1
# (never run apt-get), LOCAL_CLUSTER_SKIP_SMOKE=1 (skip the DNS/API smoke pod).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
for part in settings packages build pki node-config processes teardown; do
  # shellcheck source=/dev/null
  . "$HERE/lib/$part.sh"
done

# name|arguments|what it does: `help` prints this table, main runs cmd_<name>.
COMMANDS=(
  "up||install packages, build Kubernetes (cached), start the node, smoke-test it"
  "down|[--keep-images] [--keep-logs]|stop everything and clean up; the build cache stays"
  "status||each component's pid and state and the node's readiness (exit 0: all up)"
  "restart-runtime||stop and start kubelet and containerd, as a node's maintenance does"
  "kubeconfig||print the path of the admin kubeconfig"
  "bin-dir||print the folder of the built binaries (kubectl, matching the node)"
  "import-image|FILE.tar...|import docker-archive or OCI tars (also gzipped) into the node"
  "ctr|ARGS...|ctr against the node's containerd, namespace k8s.io"
  "kubectl|ARGS...|the built kubectl with the admin kubeconfig"
  "help||this list"
)

cmd_up() {
  need_root
  if [ -f "$BIN/.complete" ] && all_running && node_ready; then
    step "Local cluster already up and healthy (node $NODE_NAME Ready). KUBECONFIG=$KUBECONFIG_PATH"
    return 0
  fi
  if [ -d "$PIDS" ] || ip link show "$BRIDGE" >/dev/null 2>&1; then
    step "Found a partial or stale cluster: cleaning it up first (images kept)"
    do_down 1 0
  fi
  mkdir -p "$CACHE_ROOT" "$STATE"
  ensure_packages
  build_binaries
  build_images
  # Fresh state every time, except containerd's image store kept by `down --keep-images`.
  find "$STATE" -mindepth 1 -maxdepth 1 ! -name containerd -exec rm -rf {} +
  find "$STATE/containerd" -mindepth 1 -maxdepth 1 ! -name root -exec rm -rf {} + 2>/dev/null || true
  make_pki
  write_configs
  setup_network
  start_components
  wait_for 120 "node $NODE_NAME Ready" node_ready
  step "Node $NODE_NAME Ready"
  wait_for 30 "DNS records" grep -q "kubernetes.default.svc.$CLUSTER_DOMAIN" "$STATE/dns/hosts"
  [ "${LOCAL_CLUSTER_SKIP_SMOKE:-0}" = 1 ] || smoke_test
  step "Cluster up. export KUBECONFIG=$KUBECONFIG_PATH   (kubectl: $BIN/kubectl; logs: $LOGS)"
}

cmd_down() {
  need_root
  local keep_images=0 keep_logs=0 a
  for a in "$@"; do
    case "$a" in
      --keep-images) keep_images=1 ;;
      --keep-logs) keep_logs=1 ;;
      *) die "down: unknown option $a" ;;
    esac
  done
  do_down "$keep_images" "$keep_logs"
  step "Cluster down (binary cache kept in $CACHE$([ "$keep_images" = 1 ] && echo "; images kept"))"
}

# What a node's maintenance or a runtime crash does: kubelet and containerd stop and come
# back with the same state. Running containers live on in their shims meanwhile.
cmd_restart_runtime() {
  need_root
  all_running || die "the cluster is not up: run '$0 up' first"
  local pid
  step "Stopping kubelet and containerd"
  stop_pid "$(pid_of kubelet)"
  if pid="$(pid_of containerd)"; then stop_pid "$pid"; fi
  step "Starting containerd and kubelet again"
  start_containerd
  wait_for 30 "containerd" test -S "$CTR_SOCK"
  start_kubelet
  wait_for 120 "node $NODE_NAME Ready" node_ready
  step "Node $NODE_NAME Ready again"
}

cmd_status() {
  local c pid rc=0
  printf '%-24s %-8s %s\n' COMPONENT PID STATE
  for c in "${COMPONENTS[@]}"; do
    if pid="$(pid_of "$c")"; then
      printf '%-24s %-8s %s\n' "$c" "$pid" running
    else
      printf '%-24s %-8s %s\n' "$c" - stopped
      rc=1
    fi
  done
  if pid_of kube-apiserver >/dev/null && [ -x "$BIN/kubectl" ]; then
    kc get nodes -o wide 2>&1 || rc=1
    node_ready || rc=1
  fi
  echo "kubeconfig: $KUBECONFIG_PATH"
  return "$rc"
}

cmd_kubeconfig() { echo "$KUBECONFIG_PATH"; }
cmd_bin_dir() { echo "$BIN"; }
cmd_import_image() { need_root && import_images "$@"; }
cmd_ctr() { ctr_ "$@"; }
cmd_kubectl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@"; }

cmd_help() {
  local entry name args what
  echo "usage:"
  for entry in "${COMMANDS[@]}"; do
    IFS='|' read -r name args what <<<"$entry"
    printf '  cluster.sh %-40s %s\n' "$name${args:+ $args}" "$what"
  done
}

main() {
  local name=${1:-} entry
  [ "$#" -gt 0 ] && shift
  for entry in "${COMMANDS[@]}"; do
    if [ "${entry%%|*}" = "$name" ]; then
      "cmd_${name//-/_}" "$@"
      return
    fi
  done
  cmd_help >&2
  exit 2
}

main "$@"
