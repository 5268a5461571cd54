# shellcheck shell=bash
# The node's configuration files (from templates/) and its host network: the pod bridge,
# sysctls and FORWARD rules.

write_configs() {
  step "Writing component configuration"
  mkdir -p "$STATE/cni/net.d" "$STATE/containerd/certs.d" "$STATE/dns" "$RUN"
  local t="$HERE/templates" reg
  render_template "$t/cni.conflist" "$STATE/cni/net.d/10-platform-local.conflist"
  for reg in _default docker.io registry-1.docker.io registry.k8s.io k8s.gcr.io gcr.io quay.io ghcr.io \
    public.ecr.aws mcr.microsoft.com registry.gitlab.com platform.local; do
    mkdir -p "$STATE/containerd/certs.d/$reg"
    render_template "$t/registry-hosts.toml" "$STATE/containerd/certs.d/$reg/hosts.toml"
  done
  render_template "$t/containerd.toml" "$STATE/containerd/config.toml"
  printf 'nameserver %s\n' "$GATEWAY" >"$STATE/resolv.conf"
  render_template "$t/kubelet-config.yaml" "$STATE/kubelet-config.yaml"
  render_template "$t/kube-proxy-config.yaml" "$STATE/kube-proxy-config.yaml"
  render_template "$t/dnsmasq.conf" "$STATE/dnsmasq.conf"
  : >"$STATE/dns/hosts"
  chmod 755 "$STATE" "$STATE/dns"
  chmod 644 "$STATE/dns/hosts"
}

setup_network() {
  step "Host network: bridge $BRIDGE ($GATEWAY/24), sysctls, FORWARD rules"
  if [ -d /proc/sys/net/bridge ] || { command -v modprobe >/dev/null && modprobe br_netfilter 2>/dev/null; }; then
    echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
  else
    warn "br_netfilter unavailable: Service traffic between pods may misbehave"
  fi
  echo 1 >/proc/sys/net/ipv4/ip_forward
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
  fi
  ip addr replace "$GATEWAY/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # dockerd sets FORWARD's policy to DROP: accept pod traffic explicitly. Pods talk to each
  # other and to the host (INPUT, not FORWARD); anything routed beyond the bridge is refused,
  # so no pod traffic leaves the machine.
  iptables -N "$FWD_CHAIN" 2>/dev/null || iptables -F "$FWD_CHAIN"
  iptables -A "$FWD_CHAIN" -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  iptables -A "$FWD_CHAIN" -i "$BRIDGE" -j REJECT --reject-with icmp-net-unreachable
  iptables -A "$FWD_CHAIN" -o "$BRIDGE" -j ACCEPT
  iptables -C FORWARD -j "$FWD_CHAIN" 2>/dev/null || iptables -I FORWARD 1 -j "$FWD_CHAIN"
}

# Drop the jumps into KUBE-* and our FORWARD chain from the built-in chains, then the chains.
remove_iptables_chains() {
  local ipt table chain rule
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    for table in filter nat mangle; do
      # Drop jumps into KUBE-* chains from the built-in chains, then the chains themselves.
      for chain in $("$ipt" -t "$table" -S 2>/dev/null | awk '/^-P /{print $2}'); do
        "$ipt" -t "$table" -S "$chain" 2>/dev/null | grep -E -- '-j (KUBE-|'"$FWD_CHAIN"')' |
          while read -r rule; do
            # The rule is printed shell-quoted (comments hold spaces): let the shell split it.
            eval "$ipt -t $table ${rule/-A /-D }" 2>/dev/null || true
          done || true
      done
      for chain in $("$ipt" -t "$table" -S 2>/dev/null | awk '/^-N (KUBE-|'"$FWD_CHAIN"')/{print $2}'); do
        "$ipt" -t "$table" -F "$chain" 2>/dev/null || true
      done
      for chain in $("$ipt" -t "$table" -S 2>/dev/null | awk '/^-N (KUBE-|'"$FWD_CHAIN"')/{print $2}'); do
        "$ipt" -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
}
