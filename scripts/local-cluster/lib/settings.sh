# shellcheck shell=bash
# The local node's versions, addresses and folders: every other part reads them from here.
# shellcheck disable=SC2034  # each part uses its own subset

KUBE_VERSION="v1.20.2"
KUBE_MINOR=20
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
GATEWAY="10.244.0.1"  # the bridge's address: the apiserver, DNS and the host as pods see them
POD_CIDR="10.244.0.0/24"
SERVICE_CIDR="10.96.0.0/24"
API_SERVICE_IP="10.96.0.1"
DNS_SERVICE_IP="10.96.0.10"
CLUSTER_DOMAIN="cluster.local"
API_PORT=6443
ETCD_CLIENT_PORT=23790
ETCD_PEER_PORT=23800
REFUSING_REGISTRY="http://127.0.0.1:9"  # every registry points here: nothing is ever pulled
FWD_CHAIN="PLATFORM-LOCAL-FWD"

PAUSE_IMAGE="platform.local/pause:1.0"
BUSYBOX_IMAGE="platform.local/busybox:1.35"

NODE_NAME="$(hostname | tr '[:upper:]' '[:lower:]')"
# Components in start order; `down` stops them in reverse.
COMPONENTS=(etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy dnsmasq dns-watcher)

APT_PACKAGES=(golang-go containerd runc etcd-server containernetworking-plugins openssl iproute2
  iptables conntrack dnsmasq-base gcc libc6-dev make rsync golang-github-modern-go-reflect2-dev
  dpkg-dev busybox-static ca-certificates)
