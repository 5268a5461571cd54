#!/usr/bin/env bash
# Security scan of the rendered chart with checkov, for the default values and each file in
# values/, with the skip list chart/checkov.yaml (every skip has its reason there). Prints
# passed/failed counts per render; exits 1 on any failed check. checkov lives in its own
# virtual environment (.venv-checkov): it pins packages that clash with Airflow's.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. scripts/lib.sh
CHECKOV_VERSION=3.3.30
venv=${CHECKOV_VENV:-.venv-checkov}
command -v helm >/dev/null || die "helm is needed on PATH (scripts/install-helm.sh)"
if [ "$("$venv/bin/checkov" --version 2>/dev/null)" != "$CHECKOV_VERSION" ]; then
  step "installing checkov $CHECKOV_VERSION into $venv (about a minute)"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade "pip==25.3" 2> >(grep -v 'is ignored' >&2)
  "$venv/bin/python" -m pip install --quiet "checkov==$CHECKOV_VERSION" 2> >(grep -v 'is ignored' >&2)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
for values in "" values/*.yaml; do
  name=${values:-default values}
  helm template platform chart --namespace airflow ${values:+-f "$values"} > "$work/rendered.yaml"
  "$venv/bin/checkov" --config-file chart/checkov.yaml -f "$work/rendered.yaml" --quiet --compact -o json \
    > "$work/result.json" 2>"$work/stderr" || true
  summary=$("$venv/bin/python" - "$work/result.json" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
result = result[0] if isinstance(result, list) else result
summary = result.get("summary") or {}
print(f"passed {summary.get('passed', 0)}, failed {summary.get('failed', 0)}, "
      f"parsing errors {summary.get('parsing_errors', 0)}")
for check in (result.get("results") or {}).get("failed_checks", []):
    print(f"  FAILED {check['check_id']} {check['resource']}: {check['check_name']}")
PY
) || { cat "$work/stderr" >&2; die "checkov did not produce a result for $name"; }
  echo "checkov, $name: $summary"
  case "$summary" in
    "passed 0,"*) die "checkov checked nothing for $name" ;;
    *"failed 0,"*"parsing errors 0") ;;
    *) failed=1 ;;
  esac
done
echo "checkov: $(grep -c '^  - CKV' chart/checkov.yaml) checks skipped, each with its reason in chart/checkov.yaml"
[ "$failed" = 0 ] || die "checkov found problems (fix them, or skip in chart/checkov.yaml with a reason)"
