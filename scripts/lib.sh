# shellcheck shell=bash
# Functions shared by the scripts: progress with timings, errors that stop, processes
# recorded in pid files, configuration files from templates, installing the release, finding
# the cluster `make up` made.

# The image of the in-cluster DAG repository (images/dags-git-server): its builders, the
# loaders and scripts/dags-repo/deploy.sh read it here.
DAGS_GIT_SERVER_IMAGE=${DAGS_GIT_SERVER_IMAGE:-dags-git-server:0.1.0}

# One clock for a script and the scripts it runs: the first one sets PLATFORM_T0.
[ -n "${PLATFORM_T0:-}" ] || printf -v PLATFORM_T0 '%(%s)T' -1
export PLATFORM_T0
step() {
  local now
  printf -v now '%(%s)T' -1
  printf '==> [%4ds] %s\n' $((now - PLATFORM_T0)) "$*"
}
warn() { printf '%s: WARNING: %s\n' "${0##*/}" "$*" >&2; }
die() { printf '%s: ERROR: %s\n' "${0##*/}" "$*" >&2; exit 1; }
need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root"; }

# stop_pid PID: TERM, then KILL after 5 s; returns once the process is gone.
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || return 0
    [ "$i" = 20 ] && kill -KILL "$pid" 2>/dev/null
    sleep 0.25
  done
}

# stop_pidfile FILE [WHAT]: stop the process recorded in FILE, if any, and remove FILE.
stop_pidfile() {
  local file=$1 what=${2:-$(basename "$1" .pid)}
  [ -f "$file" ] || return 0
  step "stopping $what (pid $(cat "$file"))"
  stop_pid "$(cat "$file")"
  rm -f "$file"
}

# pidfile_alive FILE: the process recorded in FILE runs.
pidfile_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# render_template TEMPLATE OUT: the template with each @NAME@ replaced by the variable
# NAME (an unset one stops the script); written to a temporary file, then renamed.
render_template() {
  local content name
  content=$(<"$1")
  for name in $(grep -o '@[A-Z_][A-Z0-9_]*@' "$1" | sort -u | tr -d @); do
    [ -n "${!name+set}" ] || die "$1: nothing sets $name, which @$name@ needs"
    content=${content//@$name@/${!name}}
  done
  printf '%s\n' "$content" >"$2.tmp"
  mv "$2.tmp" "$2"
}

# install_release RELEASE NAMESPACE HELM_ARGS...: the chart (upgraded when installed), waiting
# until every component is ready. HELM_ARGS carry the cluster (--kubeconfig or --kube-context)
# and the values.
install_release() {
  local release=$1 namespace=$2
  shift 2
  helm upgrade --install "$release" "$(dirname "${BASH_SOURCE[0]}")/../chart" \
    --namespace "$namespace" --create-namespace --wait --timeout 20m "$@"
}

# use_platform_cluster: the cluster `make up` made, for the scripts that act on it later
# (make sync, make timeline): the one in KUBECONFIG, else the local node when it is up (its
# kubeconfig exported and its kubectl put on PATH), else kubectl's current context (kind's,
# after `make up` with kind).
use_platform_cluster() {
  local node
  node="$(dirname "${BASH_SOURCE[0]}")/local-cluster/cluster.sh"
  if [ -z "${KUBECONFIG:-}" ] && "$node" status >/dev/null 2>&1; then
    KUBECONFIG="$("$node" kubeconfig)"
    PATH="$("$node" bin-dir):$PATH"
    export KUBECONFIG PATH
  fi
  command -v kubectl >/dev/null || die "kubectl is needed on PATH"
}
