# shellcheck shell=bash
# Taking the node down so that a second start is clean: containers, components by exact
# pid, mounts, the bridge, iptables chains, kubepods cgroups, state.

kubepods_cgroups() { find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d -name kubepods 2>/dev/null; }

do_down() { # do_down KEEP_IMAGES KEEP_LOGS
  local keep_images=$1 keep_logs=$2 pid c i
  if pid="$(pid_of kubelet)"; then
    step "Stopping kubelet"
    stop_pid "$pid"
  fi
  if pid_of containerd >/dev/null && [ -S "$CTR_SOCK" ]; then
    step "Removing pod containers"
    for c in $(timeout 10 ctr --address "$CTR_SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
      timeout 10 ctr --address "$CTR_SOCK" -n k8s.io tasks kill -a -s SIGKILL "$c" >/dev/null 2>&1 || true
    done
    for c in $(timeout 10 ctr --address "$CTR_SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
      timeout 10 ctr --address "$CTR_SOCK" -n k8s.io tasks delete -f "$c" >/dev/null 2>&1 || true
    done
    for c in $(timeout 10 ctr --address "$CTR_SOCK" -n k8s.io containers ls -q 2>/dev/null); do
      timeout 10 ctr --address "$CTR_SOCK" -n k8s.io containers delete "$c" >/dev/null 2>&1 || true
    done
  fi
  step "Stopping the components"
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    c="${COMPONENTS[$i]}"
    if pid="$(pid_of "$c")"; then stop_pid "$pid" & fi
  done
  wait
  # Leftovers by exact PID: processes in the kubepods cgroups and shims of this containerd.
  local cg procs
  for cg in $(kubepods_cgroups); do
    procs="$(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)"
    for pid in $procs; do kill -KILL "$pid" 2>/dev/null || true; done
  done
  local d
  for d in /proc/[0-9]*; do
    [[ "$(cat "$d/comm" 2>/dev/null)" == containerd-shim* ]] || continue
    if tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -qF -- "-address $CTR_SOCK "; then
      kill -KILL "${d#/proc/}" 2>/dev/null || true
    fi
  done
  sleep 0.3
  step "Unmounting kubelet, containerd and pod network-namespace mounts"
  awk -v s="$STATE/" -v r="$RUN/" '
      index($5, s) == 1 || index($5, r) == 1 || $5 ~ /^\/run\/netns\/cni-/ || $5 ~ /^\/var\/run\/netns\/cni-/ {print $5}' \
    /proc/self/mountinfo | awk '{print length, $0}' | sort -rn | cut -d' ' -f2- | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  rm -f /run/netns/cni-* 2>/dev/null || true
  step "Removing the bridge, iptables chains and kubepods cgroups"
  ip link del "$BRIDGE" 2>/dev/null || true
  remove_iptables_chains
  for cg in $(kubepods_cgroups); do
    find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  rm -rf "$RUN"
  if [ -d "$STATE" ]; then
    local keep=()
    [ "$keep_images" = 1 ] && keep+=(! -name containerd)
    [ "$keep_logs" = 1 ] && keep+=(! -name logs)
    find "$STATE" -mindepth 1 -maxdepth 1 "${keep[@]}" -exec rm -rf {} +
    if [ "$keep_images" = 1 ] && [ -d "$STATE/containerd" ]; then
      find "$STATE/containerd" -mindepth 1 -maxdepth 1 ! -name root -exec rm -rf {} +
      rm -rf "$STATE/containerd/root/io.containerd.grpc.v1.cri" "$STATE/containerd/root/io.containerd.runtime.v2.task"
    fi
    rmdir "$STATE" 2>/dev/null || true
  fi
}
