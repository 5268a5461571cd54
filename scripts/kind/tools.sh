# shellcheck shell=bash
# The tools the kind path needs, sourced by scripts/kind/up.sh: each present and recent
# enough, and kind the release that built the pinned node image.

# The node image, by digest: kind supports a node image only with the release that built it
# (its release notes list them). KIND_NODE_IMAGE replaces it, and then any kind release goes.
KIND_RELEASE=v0.33.0
# shellcheck disable=SC2034  # read by up.sh
KIND_NODE_IMAGE_PINNED="kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0"
# Oldest versions known to work: docker with BuildKit secrets, helm 3 with --set-json and
# `upgrade --install --wait` on current charts, kubectl within the skew of the node.
DOCKER_MIN=23.0.0
HELM_MIN=3.12.0
KUBECTL_MIN=1.33.0

# version_at_least ACTUAL MIN: ACTUAL (e.g. v3.19.0, 27.1.1) is MIN or newer.
version_at_least() {
  local actual=${1#v} min=${2#v}
  [ "$(printf '%s\n%s\n' "$min" "$actual" | sort -V | head -n 1)" = "$min" ]
}

tool_version() {  # NAME: its version, or nothing when it cannot say
  case "$1" in
    docker) docker version --format '{{.Client.Version}}' 2>/dev/null ;;
    kind) kind version 2>/dev/null | awk '{print $2}' ;;
    helm) helm version --template '{{.Version}}' 2>/dev/null ;;
    kubectl) kubectl version --client -o json 2>/dev/null \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])' 2>/dev/null ;;
  esac
}

# need_version TOOL MIN [HINT]: TOOL reports MIN or newer, else stop saying so.
need_version() {
  local version
  version=$(tool_version "$1")
  if [ -z "$version" ] || ! version_at_least "$version" "$2"; then
    die "$1 ${version:-of unknown version} is too old: $2 or newer is needed${3:-}"
  fi
}

# check_kind_tools: every tool there, each recent enough; stops at the first problem with
# what to install.
check_kind_tools() {
  local tool missing=() version
  for tool in docker kind helm kubectl git curl python3; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [ "${#missing[@]}" -eq 0 ] || die "missing: ${missing[*]}. Install them first (helm: scripts/install-helm.sh DIR; kind $KIND_RELEASE: https://kind.sigs.k8s.io/docs/user/quick-start/#installation)."
  need_version docker "$DOCKER_MIN"
  docker info >/dev/null 2>&1 || die "docker is installed but its daemon is not reachable (is it running?)"
  need_version helm "$HELM_MIN" " (scripts/install-helm.sh DIR installs the pinned one)"
  need_version kubectl "$KUBECTL_MIN" " for the node's Kubernetes"
  version=$(tool_version kind)
  if [ -z "${KIND_NODE_IMAGE:-}" ] && [ "$version" != "$KIND_RELEASE" ]; then
    die "kind ${version:-of unknown version} found; the pinned node image is built for kind $KIND_RELEASE: install kind $KIND_RELEASE, or set KIND_NODE_IMAGE to an image your kind release's notes list"
  fi
  echo "docker, kind ${version}, helm, kubectl, git, curl, python3: found"
}
