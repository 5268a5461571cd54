#!/usr/bin/env bash
# `make docs`: chart/README.md's values table (@bitnami/readme-generator-for-helm) and the
# descriptions in chart/values.schema.json, both from the `## @param` lines of
# chart/values.yaml, and the Kubernetes types the schema checks extension values against
# (k8s_types.py). With --check (`make lint`) nothing changes: it fails when either is
# stale, or when a value has no description. CHART_DIR (default chart) names another copy.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../lib.sh
. scripts/lib.sh

check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) die "usage: $0 [--check]" ;;
esac
tools=scripts/chart-docs
chart=${CHART_DIR:-chart}
command -v npm >/dev/null || die "npm is needed for the values table (Debian: apt-get install nodejs npm; make setup does it)"
if ! cmp -s "$tools/package-lock.json" "$tools/node_modules/.installed-lock" 2>/dev/null; then
  step "installing the readme generator (npm ci, pinned by $tools/package-lock.json)"
  npm ci --prefix "$tools" --no-audit --no-fund --loglevel=error >/dev/null
  cp "$tools/package-lock.json" "$tools/node_modules/.installed-lock"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$chart/README.md" "$work/README.md"
if ! node "$tools/node_modules/@bitnami/readme-generator-for-helm/bin/index.js" \
    --values "$chart/values.yaml" --readme "$work/README.md" >"$work/log" 2>&1; then
  grep -E 'ERROR' "$work/log" >&2 || cat "$work/log" >&2
  die "$chart/values.yaml: every value needs a '## @param PATH description' line (or '## @extra' for an object)"
fi
if [ "$check" = true ]; then
  cmp -s "$work/README.md" "$chart/README.md" ||
    die "$chart/README.md's values table differs from $chart/values.yaml: run 'make docs' and commit the result"
  python3 "$tools/k8s_types.py" --check "$chart/values.schema.json"
  python3 "$tools/schema_descriptions.py" --check "$chart/values.yaml" "$chart/values.schema.json"
else
  cp "$work/README.md" "$chart/README.md.tmp" && mv "$chart/README.md.tmp" "$chart/README.md"
  python3 "$tools/k8s_types.py" "$chart/values.schema.json"
  python3 "$tools/schema_descriptions.py" "$chart/values.yaml" "$chart/values.schema.json"
  echo "$chart/README.md: values table written"
fi
