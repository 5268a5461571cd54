#!/usr/bin/env bash
# `make lint`: every linter, each once. ruff (Python), shellcheck (every shell script),
# hadolint (every Dockerfile), helm lint --strict (default values and each values/ file),
# the chart's values docs (scripts/chart-docs/chart-docs.sh --check), checkov over the
# rendered chart (scripts/checkov.sh). Run after scripts/setup-dev.sh (.venv on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. scripts/lib.sh

step "ruff"
ruff check .

step "shellcheck"
mapfile -t scripts < <(git ls-files --cached --others --exclude-standard '*.sh')
shellcheck -x --source-path=SCRIPTDIR "${scripts[@]}"
echo "${#scripts[@]} scripts clean"

step "hadolint"
mapfile -t dockerfiles < <(git ls-files --cached --others --exclude-standard '*Dockerfile')
for dockerfile in "${dockerfiles[@]}"; do
  hadolint "$dockerfile" || die "hadolint: $dockerfile"
done
echo "${#dockerfiles[@]} Dockerfiles clean"

step "helm lint --strict"
for values in "" values/*.yaml; do
  out=$(helm lint --strict chart ${values:+--values "$values"} 2>&1) || { echo "$out"; die "helm lint: ${values:-default values}"; }
  case "$out" in *"[WARNING]"* | *"[ERROR]"*) echo "$out"; die "helm lint: ${values:-default values} is not clean" ;; esac
done
echo "default values and $(find values -name '*.yaml' | wc -l) values files clean"

step "values docs (chart/README.md table, values.schema.json descriptions)"
scripts/chart-docs/chart-docs.sh --check
echo "current"

step "checkov (rendered chart)"
scripts/checkov.sh
