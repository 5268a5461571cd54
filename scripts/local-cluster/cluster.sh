#!/usr/bin/env bash
# A single-node Kubernetes (v1.20.2) built from Debian bookworm packages only: the
# offline end-to-end test target. See README.md next to this file.
#
#   cluster.sh up                      install packages, build (cached), start, smoke-test
#   cluster.sh down [--keep-images] [--keep-logs]
#   cluster.sh status
#   cluster.sh restart-runtime         stop and start kubelet and containerd (fault tests)
#   cluster.sh kubeconfig              print the admin kubeconfig path
#   cluster.sh import-image FILE.tar...   docker-archive / OCI tars (also .tar.gz) into k8s.io
#   cluster.sh image-from-rootfs DIR NAME:TAG OUT.tar [ENTRYPOINT...]
#   cluster.sh ctr ARGS...             ctr against the node's containerd, namespace k8s.io
#   cluster.sh kubectl ARGS...         the built kubectl 1.20 with the admin kubeconfig
#   cluster.sh build                   only build/cache the binaries and images
#
# Environment: LOCAL_CLUSTER_CACHE (/var/cache/platform-local-cluster),
# LOCAL_CLUSTER_STATE (/var/lib/platform-local-cluster), LOCAL_CLUSTER_SKIP_APT=1
# (never run apt-get), LOCAL_CLUSTER_SKIP_SMOKE=1 (skip the DNS/API smoke pod).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

KUBE_VERSION="v1.20.2"
DEB_SOURCE_VERSION="1.20.5+really1.20.2-1.1+deb12u1"
CACHE_ROOT="${LOCAL_CLUSTER_CACHE:-/var/cache/platform-local-cluster}"
CACHE="$CACHE_ROOT/$KUBE_VERSION"
BIN="$CACHE/bin"
IMAGES="$CACHE/images"
STATE="${LOCAL_CLUSTER_STATE:-/var/lib/platform-local-cluster}"
RUN="/run/platform-local-cluster"
PKI="$STATE/pki"
LOGS="$STATE/logs"
PIDS="$STATE/pids"
KUBECONFIG_PATH="$STATE/admin.kubeconfig"
CTR_SOCK="$RUN/containerd.sock"

BRIDGE="plbr0"
GATEWAY="10.244.0.1"
POD_CIDR="10.244.0.0/24"
SERVICE_CIDR="10.96.0.0/24"
API_SERVICE_IP="10.96.0.1"
DNS_SERVICE_IP="10.96.0.10"
CLUSTER_DOMAIN="cluster.local"
API_PORT=6443
ETCD_CLIENT_PORT=23790
ETCD_PEER_PORT=23800
REFUSING_REGISTRY="http://127.0.0.1:9"
FWD_CHAIN="PLATFORM-LOCAL-FWD"

PAUSE_IMAGE="platform.local/pause:1.0"
BUSYBOX_IMAGE="platform.local/busybox:1.35"

NODE_NAME="$(hostname | tr '[:upper:]' '[:lower:]')"
# Components in start order; `down` stops them in reverse.
COMPONENTS=(etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy dnsmasq dns-watcher)

APT_PACKAGES=(golang-go containerd runc etcd-server containernetworking-plugins openssl iproute2
  iptables conntrack dnsmasq-base gcc libc6-dev make rsync golang-github-modern-go-reflect2-dev
  dpkg-dev busybox-static ca-certificates)

T0=$SECONDS
step() { printf '[%4ds] %s\n' "$((SECONDS - T0))" "$*"; }
warn() { printf '[%4ds] WARNING: %s\n' "$((SECONDS - T0))" "$*" >&2; }
die() { printf 'cluster.sh: ERROR: %s\n' "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root"; }

kc() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" --request-timeout=10s "$@"; }
ctr_() { ctr --address "$CTR_SOCK" --namespace k8s.io "$@"; }

pid_of() { # prints the recorded PID of a component if that process is alive
  local f="$PIDS/$1.pid" pid
  [ -f "$f" ] || return 1
  pid="$(cat "$f")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# Start a component in its own session, log to $LOGS/NAME.log, record its PID.
start() {
  local name=$1
  shift
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local timeout=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      die "timed out after ${timeout}s waiting for $what (logs: $LOGS)"
    fi
    sleep 0.5
  done
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# ---------------------------------------------------------------------------- packages
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

APT_UPDATED=0
apt_update() {
  [ "$APT_UPDATED" = 1 ] && return
  # Third-party sources in sources.list.d may be unreachable: tolerate their failure.
  apt-get update -q -o DPkg::Lock::Timeout=600 >"$CACHE_ROOT/apt-update.log" 2>&1 ||
    warn "apt-get update reported errors (see $CACHE_ROOT/apt-update.log); continuing"
  APT_UPDATED=1
}

ensure_deb_src() {
  local f=/etc/apt/sources.list.d/platform-local-cluster-src.sources
  if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src .*bookworm' /etc/apt/sources.list; then
    step "Adding a deb-src entry for bookworm ($f)"
    cat >"$f" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    APT_UPDATED=0
  fi
  apt_update
}

# ---------------------------------------------------------------------------- build
build_binaries() {
  if [ -f "$BIN/.complete" ]; then
    step "Kubernetes $KUBE_VERSION binaries cached in $BIN"
    return
  fi
  local src="$CACHE/src" gopath="$CACHE/gopath" tree
  mkdir -p "$src" "$BIN"
  tree="$(find "$src" -mindepth 2 -maxdepth 2 -type d -name cmd -printf '%h\n' 2>/dev/null | head -n1)"
  if [ -z "$tree" ] || [ ! -d "$tree/cmd/kube-apiserver" ]; then
    ensure_deb_src
    step "Downloading the kubernetes source package $DEB_SOURCE_VERSION"
    (cd "$src" && apt-get source -q "kubernetes=$DEB_SOURCE_VERSION" >"$CACHE/apt-source.log" 2>&1) ||
      { tail -20 "$CACHE/apt-source.log"; die "apt-get source failed"; }
    tree="$(find "$src" -mindepth 2 -maxdepth 2 -type d -name cmd -printf '%h\n' | head -n1)"
    [ -d "$tree/cmd/kube-apiserver" ] || die "unexpected source layout under $src"
  fi
  # Vendored reflect2 1.0.1 breaks on Go >= 1.18: use Debian's 1.0.2.
  rm -rf "$tree/vendor/github.com/modern-go/reflect2"
  cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 "$tree/vendor/github.com/modern-go/reflect2"
  mkdir -p "$gopath/src/k8s.io"
  ln -sfn "$tree" "$gopath/src/k8s.io/kubernetes"

  local -x GOPATH="$gopath" GO111MODULE=off CGO_ENABLED=0 GOCACHE="$CACHE/gocache" GOFLAGS="" GOTOOLCHAIN=local
  if [ ! -f "$tree/.generated_files_done" ]; then
    step "make generated_files (~1 min)"
    (cd "$gopath/src/k8s.io/kubernetes" && make generated_files >"$CACHE/generated_files.log" 2>&1) ||
      { tail -30 "$CACHE/generated_files.log"; die "make generated_files failed"; }
    touch "$tree/.generated_files_done"
  fi
  local ldflags="-s -w" pkg
  for pkg in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=20"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  step "Building kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl (~4 min on 2 cores)"
  (cd "$gopath/src/k8s.io/kubernetes" &&
    go build -trimpath -tags selinux,notest -ldflags "$ldflags" -o "$BIN/" \
      ./cmd/kube-apiserver ./cmd/kube-controller-manager ./cmd/kube-scheduler \
      ./cmd/kubelet ./cmd/kube-proxy ./cmd/kubectl >"$CACHE/build.log" 2>&1) ||
    { tail -30 "$CACHE/build.log"; die "go build failed (log: $CACHE/build.log)"; }
  "$BIN/kube-apiserver" --version | grep -q "$KUBE_VERSION" || die "version stamping failed"
  touch "$BIN/.complete"
  step "Built; removing the source tree and Go build cache (binaries stay in $BIN)"
  rm -rf "$src" "$gopath" "$CACHE/gocache"
}

# image_from_rootfs ROOTFS NAME:TAG OUT.tar [ENTRYPOINT...]: a one-layer docker-archive tar.
image_from_rootfs() {
  local rootfs=$1 ref=$2 out=$3 tmp diff cfg entry="null" a
  shift 3
  if [ "$#" -gt 0 ]; then
    entry="["
    for a in "$@"; do entry+="\"$a\","; done
    entry="${entry%,}]"
  fi
  tmp="$(mktemp -d)"
  tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -cf "$tmp/layer.tar" .
  diff="$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)"
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":%s,"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"platform local-cluster image_from_rootfs"}]}' \
    "$entry" "$diff" >"$tmp/config.json"
  cfg="$(sha256sum "$tmp/config.json" | cut -d' ' -f1)"
  mv "$tmp/config.json" "$tmp/$cfg.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$cfg" "$ref" >"$tmp/manifest.json"
  tar -C "$tmp" -cf "$out.tmp" manifest.json "$cfg.json" layer.tar
  mv "$out.tmp" "$out"
  rm -rf "$tmp"
}

build_images() {
  mkdir -p "$IMAGES"
  local tmp
  if [ ! -f "$IMAGES/pause.tar" ]; then
    step "Building the pause image $PAUSE_IMAGE"
    tmp="$(mktemp -d)"
    gcc -static -Os -o "$tmp/pause" "$HERE/pause.c"
    strip "$tmp/pause"
    mkdir "$tmp/rootfs" && mv "$tmp/pause" "$tmp/rootfs/pause"
    image_from_rootfs "$tmp/rootfs" "$PAUSE_IMAGE" "$IMAGES/pause.tar" /pause
    rm -rf "$tmp"
  fi
  if [ ! -f "$IMAGES/busybox.tar" ]; then
    step "Building the busybox image $BUSYBOX_IMAGE (from busybox-static)"
    tmp="$(mktemp -d)"
    mkdir -p "$tmp/rootfs/bin" "$tmp/rootfs/etc" "$tmp/rootfs/tmp" "$tmp/rootfs/root"
    chmod 1777 "$tmp/rootfs/tmp"
    cp /bin/busybox "$tmp/rootfs/bin/busybox"
    local app
    for app in $(/bin/busybox --list); do
      [ "$app" = busybox ] || ln -s busybox "$tmp/rootfs/bin/$app"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$tmp/rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$tmp/rootfs/etc/group"
    image_from_rootfs "$tmp/rootfs" "$BUSYBOX_IMAGE" "$IMAGES/busybox.tar" /bin/sh
    rm -rf "$tmp"
  fi
}

# ---------------------------------------------------------------------------- PKI
mkcert() { # mkcert NAME SUBJECT SERIAL [SANS]
  local name=$1 subj=$2 serial=$3 sans=${4:-} ext
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  ext="basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth"
  [ -n "$sans" ] && ext+="\nsubjectAltName=$sans"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial "$serial" \
    -days 3650 -sha256 -out "$PKI/$name.crt" -extfile <(printf '%b\n' "$ext") 2>/dev/null
  rm -f "$PKI/$name.csr"
}

make_pki() {
  step "Generating certificates"
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 3650 \
    -subj "/CN=platform-local-ca" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  local api_sans="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN"
  api_sans+=",DNS:localhost,DNS:$NODE_NAME,IP:127.0.0.1,IP:$API_SERVICE_IP,IP:$GATEWAY"
  mkcert apiserver "/CN=kube-apiserver" 2 "$api_sans" &
  mkcert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" 3 &
  mkcert admin "/O=system:masters/CN=platform-local-admin" 4 &
  mkcert controller-manager "/CN=system:kube-controller-manager" 5 &
  mkcert scheduler "/CN=system:kube-scheduler" 6 &
  mkcert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" 7 "DNS:$NODE_NAME,DNS:localhost,IP:$GATEWAY,IP:127.0.0.1" &
  mkcert kube-proxy "/CN=system:kube-proxy" 8 &
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null &
  wait
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  local n
  for n in admin controller-manager scheduler kubelet kube-proxy; do
    write_kubeconfig "$STATE/$n.kubeconfig" "$n"
  done
}

write_kubeconfig() { # write_kubeconfig FILE CERTNAME
  local file=$1 name=$2
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: platform-local
  cluster:
    server: https://$GATEWAY:$API_PORT
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$name.crt")
    client-key-data: $(base64 -w0 "$PKI/$name.key")
contexts:
- name: platform-local
  context:
    cluster: platform-local
    user: $name
current-context: platform-local
EOF
  chmod 600 "$file"
}

# ---------------------------------------------------------------------------- configs
write_configs() {
  step "Writing component configuration"
  mkdir -p "$STATE/cni/net.d" "$STATE/containerd/certs.d" "$STATE/dns" "$RUN"
  cat >"$STATE/cni/net.d/10-platform-local.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "platform-local",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$GATEWAY"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$STATE/cni/ipam"
      }
    }
  ]
}
EOF
  # Every registry resolves to an address that refuses at once: nothing is pulled.
  local reg
  for reg in _default docker.io registry-1.docker.io registry.k8s.io k8s.gcr.io gcr.io quay.io ghcr.io \
    public.ecr.aws mcr.microsoft.com registry.gitlab.com platform.local; do
    mkdir -p "$STATE/containerd/certs.d/$reg"
    printf 'server = "%s"\n\n[host."%s"]\n  capabilities = ["pull", "resolve"]\n' \
      "$REFUSING_REGISTRY" "$REFUSING_REGISTRY" >"$STATE/containerd/certs.d/$reg/hosts.toml"
  done
  cat >"$STATE/containerd/config.toml" <<EOF
version = 2
root = "$STATE/containerd/root"
state = "$RUN/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "$CTR_SOCK"
[ttrpc]
  address = "$CTR_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$RUN/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$STATE/containerd/certs.d"
EOF
  printf 'nameserver %s\n' "$GATEWAY" >"$STATE/resolv.conf"
  cat >"$STATE/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $GATEWAY
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $PKI/ca.crt
authorization:
  mode: Webhook
tlsCertFile: $PKI/kubelet.crt
tlsPrivateKeyFile: $PKI/kubelet.key
cgroupDriver: cgroupfs
failSwapOn: false
clusterDomain: $CLUSTER_DOMAIN
clusterDNS: [$DNS_SERVICE_IP]
resolvConf: $STATE/resolv.conf
maxPods: 110
serializeImagePulls: false
nodeStatusUpdateFrequency: 4s
makeIPTablesUtilChains: true
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
evictionHard:
  memory.available: 100Mi
  nodefs.available: 2%
  nodefs.inodesFree: 2%
  imagefs.available: 2%
EOF
  cat >"$STATE/kube-proxy-config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $STATE/kube-proxy.kubeconfig
mode: iptables
hostnameOverride: $NODE_NAME
bindAddress: $GATEWAY
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [127.0.0.0/8, $GATEWAY/32]
conntrack:
  maxPerCore: 0
EOF
  cat >"$STATE/dnsmasq.conf" <<EOF
listen-address=$GATEWAY
bind-interfaces
port=53
no-resolv
no-hosts
no-negcache
local=/$CLUSTER_DOMAIN/
domain-needed
addn-hosts=$STATE/dns/hosts
user=nobody
group=nogroup
EOF
  : >"$STATE/dns/hosts"
  chmod 755 "$STATE" "$STATE/dns"
  chmod 644 "$STATE/dns/hosts"
}

# ---------------------------------------------------------------------------- host network
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

# ---------------------------------------------------------------------------- start
start_containerd() { start containerd /usr/bin/containerd --config "$STATE/containerd/config.toml"; }

start_kubelet() {
  start kubelet "$BIN/kubelet" \
    --config="$STATE/kubelet-config.yaml" --kubeconfig="$STATE/kubelet.kubeconfig" \
    --container-runtime=remote --container-runtime-endpoint="unix://$CTR_SOCK" \
    --node-ip="$GATEWAY" --hostname-override="$NODE_NAME" \
    --root-dir="$STATE/kubelet" --cert-dir="$STATE/kubelet/pki" --v=1
}

start_components() {
  mkdir -p "$LOGS" "$PIDS" "$STATE/etcd" "$STATE/kubelet"
  step "Starting etcd (127.0.0.1:$ETCD_CLIENT_PORT) and containerd ($CTR_SOCK)"
  start etcd /usr/bin/etcd --name platform-local --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "platform-local=http://127.0.0.1:$ETCD_PEER_PORT" \
    --snapshot-count 10000
  start_containerd
  wait_for 30 "etcd" port_open 127.0.0.1 "$ETCD_CLIENT_PORT"

  step "Starting kube-apiserver (https://$GATEWAY:$API_PORT)"
  start kube-apiserver "$BIN/kube-apiserver" \
    --advertise-address="$GATEWAY" --bind-address="$GATEWAY" --secure-port="$API_PORT" --insecure-port=0 \
    --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --allow-privileged=true \
    --client-ca-file="$PKI/ca.crt" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" \
    --kubelet-preferred-address-types=InternalIP,Hostname \
    --service-account-key-file="$PKI/sa.pub" \
    --service-account-signing-key-file="$PKI/sa.key" \
    --service-account-issuer="https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --profiling=false --v=1

  wait_for 30 "containerd" test -S "$CTR_SOCK"
  step "Importing the pause and busybox images into containerd"
  import_images "$IMAGES/pause.tar" "$IMAGES/busybox.tar" >/dev/null

  wait_for 90 "kube-apiserver /readyz" kc get --raw /readyz
  step "kube-apiserver ready; starting controller-manager, scheduler, kubelet, kube-proxy"
  start kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig="$STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$STATE/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$STATE/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --port=0 --leader-elect=false \
    --use-service-account-credentials=true \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --profiling=false --v=1
  start kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig="$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig="$STATE/scheduler.kubeconfig" \
    --authorization-kubeconfig="$STATE/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --port=0 --leader-elect=false --profiling=false --v=1
  start_kubelet
  start kube-proxy "$BIN/kube-proxy" --config="$STATE/kube-proxy-config.yaml" --v=1

  step "Starting dnsmasq ($GATEWAY:53) and the Service watcher"
  start dnsmasq /usr/sbin/dnsmasq --keep-in-foreground --log-facility=- --conf-file="$STATE/dnsmasq.conf" \
    --pid-file="$RUN/dnsmasq.pid"
  start dns-watcher /usr/bin/python3 -u "$HERE/dns-watcher.py" \
    --server "https://$GATEWAY:$API_PORT" --ca "$PKI/ca.crt" \
    --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    --hosts-file "$STATE/dns/hosts" --dnsmasq-pid "$(cat "$PIDS/dnsmasq.pid")" \
    --domain "$CLUSTER_DOMAIN"
  kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/name: KubeDNS}
spec:
  clusterIP: $DNS_SERVICE_IP
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
---
apiVersion: v1
kind: Endpoints
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
subsets:
- addresses: [{ip: $GATEWAY}]
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
EOF
}

node_ready() {
  [ "$(kc get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

all_running() {
  local c
  for c in "${COMPONENTS[@]}"; do pid_of "$c" >/dev/null || return 1; done
}

smoke_test() {
  step "Smoke test: a pod resolves kubernetes.default and calls the API through the kubernetes Service"
  wait_for 60 "the default service account" kc -n default get serviceaccount default
  kc -n default delete pod platform-local-smoke --ignore-not-found --wait=false >/dev/null
  kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: platform-local-smoke
  namespace: default
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: smoke
    image: $BUSYBOX_IMAGE
    imagePullPolicy: Never
    command:
    - sh
    - -c
    - |
      set -e
      nslookup kube-dns.kube-system.svc.$CLUSTER_DOMAIN
      TOKEN=\$(cat /var/run/secrets/kubernetes.io/serviceaccount/token)
      # wget resolves through libc, which walks the search list: kubernetes.default works.
      wget -q -O - --no-check-certificate --header "Authorization: Bearer \$TOKEN" https://kubernetes.default/api
      echo
      wget -q -O - --no-check-certificate https://kubernetes.default/version
EOF
  local phase="" deadline=$((SECONDS + 90))
  while [ "$SECONDS" -lt "$deadline" ]; do
    phase="$(kc -n default get pod platform-local-smoke -o 'jsonpath={.status.phase}' 2>/dev/null || true)"
    case "$phase" in Succeeded | Failed) break ;; esac
    sleep 0.5
  done
  if [ "$phase" != Succeeded ]; then
    kc -n default describe pod platform-local-smoke | tail -20 || true
    kc -n default logs platform-local-smoke || true
    die "smoke pod ended as '${phase:-unknown}' (logs: $LOGS)"
  fi
  kc -n default logs platform-local-smoke >"$LOGS/smoke-test.log" 2>&1 || true
  kc -n default delete pod platform-local-smoke --wait=false >/dev/null
  step "Smoke test passed ($(grep -o '"gitVersion": *"[^"]*"' "$LOGS/smoke-test.log" | head -n1))"
}

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

# ---------------------------------------------------------------------------- down
stop_pid() { # stop_pid PID: TERM, wait up to 10 s, then KILL
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || return 0
    [ "$i" = 20 ] && kill -KILL "$pid" 2>/dev/null
    sleep 0.25
  done
}

kubepods_cgroups() { find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d -name kubepods 2>/dev/null; }

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

# ---------------------------------------------------------------------- restart-runtime
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

# ---------------------------------------------------------------------------- misc
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

import_images() {
  [ "$#" -gt 0 ] || die "import-image: give one or more image tar files"
  pid_of containerd >/dev/null || die "containerd is not running: run '$0 up' first"
  local f
  for f in "$@"; do
    [ -f "$f" ] || die "no such file: $f"
    if [ "$(head -c2 "$f" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
      gzip -dc "$f" | ctr_ images import - || die "import of $f failed"
    else
      ctr_ images import "$f" || die "import of $f failed"
    fi
  done
}

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }

main() {
  local cmd=${1:-}
  [ "$#" -gt 0 ] && shift
  case "$cmd" in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status ;;
    restart-runtime) cmd_restart_runtime ;;
    kubeconfig) echo "$KUBECONFIG_PATH" ;;
    import-image | load) need_root && import_images "$@" ;;
    image-from-rootfs)
      [ "$#" -ge 3 ] || die "usage: image-from-rootfs DIR NAME:TAG OUT.tar [ENTRYPOINT...]"
      image_from_rootfs "$@"
      ;;
    ctr) ctr_ "$@" ;;
    kubectl) "$BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@" ;;
    build)
      need_root
      mkdir -p "$CACHE_ROOT"
      ensure_packages
      build_binaries
      build_images
      ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
