# shellcheck shell=bash
# Debian packages the node is built from, and the kubernetes source package.

APT_UPDATED=0
apt_update() {
  [ "$APT_UPDATED" = 1 ] && return
  # Third-party sources in sources.list.d may be unreachable: tolerate their failure.
  apt-get update -q -o DPkg::Lock::Timeout=600 >"$CACHE_ROOT/apt-update.log" 2>&1 ||
    warn "apt-get update reported errors (see $CACHE_ROOT/apt-update.log); continuing"
  APT_UPDATED=1
}

ensure_packages() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    step "Debian packages already installed"
    return
  fi
  [ "${LOCAL_CLUSTER_SKIP_APT:-0}" = 1 ] && die "missing packages and LOCAL_CLUSTER_SKIP_APT=1: ${missing[*]}"
  step "Installing Debian packages: ${missing[*]}"
  apt_update
  # No init system here, but keep package scripts from starting system-wide
  # containerd/etcd services in case one exists.
  local policy_created=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    policy_created=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=600 "${missing[@]}" >"$CACHE_ROOT/apt-install.log" 2>&1 ||
    { [ "$policy_created" = 1 ] && rm -f /usr/sbin/policy-rc.d; tail -20 "$CACHE_ROOT/apt-install.log"; die "apt-get install failed"; }
  [ "$policy_created" = 1 ] && rm -f /usr/sbin/policy-rc.d
  step "Packages installed"
}

ensure_deb_src() {
  local f=/etc/apt/sources.list.d/platform-local-cluster-src.sources
  if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src .*bookworm' /etc/apt/sources.list; then
    step "Adding a deb-src entry for bookworm ($f)"
    cp "$HERE/templates/deb-src.sources" "$f"
    APT_UPDATED=0
  fi
  apt_update
}
