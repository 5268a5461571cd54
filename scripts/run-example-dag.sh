#!/usr/bin/env bash
# After `helm upgrade --install`: port-forward the api-server, trigger movielens_ranking for
# one 2019 day through the REST API v2, wait for the run and print how to reach the UI.
# Shared by scripts/kind/up.sh and scripts/local-cluster/platform-up.sh.
#
# Usage: run-example-dag.sh KUBECTL_ARGS...   (e.g. --context kind-movielens, or --kubeconfig FILE)
# Environment: RELEASE, NAMESPACE, LOCAL_PORT (8080), STATE_DIR (where pid and log files go),
# DATA_DIR (shown at the end), LOGICAL_DATE (2019-01-02T00:00:00Z).
set -euo pipefail

RELEASE="${RELEASE:?RELEASE is required}"
NAMESPACE="${NAMESPACE:?NAMESPACE is required}"
LOCAL_PORT="${LOCAL_PORT:-8080}"
STATE_DIR="${STATE_DIR:?STATE_DIR is required}"
DATA_DIR="${DATA_DIR:-}"
DAG_ID="movielens_ranking"
KUBE_ARGS=("$@")

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mkdir -p "$STATE_DIR"
# No request may hang the script: a forward to a pod that is gone accepts and never answers.
curl() { command curl --max-time 30 "$@"; }

fullname="$(helm get values "$RELEASE" "${KUBE_ARGS[@]/--context/--kube-context}" -n "$NAMESPACE" --all -o json \
  | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v.get("fullnameOverride") or "")')"
if [ -z "$fullname" ]; then
  case "$RELEASE" in *movielens-platform*) fullname="$RELEASE" ;; *) fullname="$RELEASE-movielens-platform" ;; esac
fi
admin_secret="$fullname-airflow"
password="$(kubectl "${KUBE_ARGS[@]}" -n "$NAMESPACE" get secret "$admin_secret" -o jsonpath='{.data.admin-password}' | base64 -d)"

step "Port-forwarding the api-server to localhost:$LOCAL_PORT"
# The forward of an earlier `make up` leads to a pod that is gone, and holds the port.
stop_pidfile "$STATE_DIR/port-forward.pid" "the earlier port-forward"
kubectl "${KUBE_ARGS[@]}" -n "$NAMESPACE" port-forward "svc/$fullname-api-server" "$LOCAL_PORT:8080" \
  > "$STATE_DIR/port-forward.log" 2>&1 &
forward=$!
echo "$forward" > "$STATE_DIR/port-forward.pid"
api="http://localhost:$LOCAL_PORT"
for _ in $(seq 1 30); do
  # A forward that ended (the port taken by another program) must not leave us asking
  # whatever else listens there.
  kill -0 "$forward" 2>/dev/null || die "kubectl port-forward ended: $(tail -3 "$STATE_DIR/port-forward.log") (is port $LOCAL_PORT taken? LOCAL_PORT=... picks another)"
  curl -sf "$api/api/v2/monitor/health" >/dev/null && break
  sleep 2
done
curl -sf "$api/api/v2/monitor/health" >/dev/null || die "the api-server is not reachable at $api (see $STATE_DIR/port-forward.log)"

step "Triggering $DAG_ID through the REST API v2"
token="$(curl -sf -X POST "$api/auth/token" -H 'Content-Type: application/json' \
  -d "$(python3 -c 'import json,sys; print(json.dumps({"username": "admin", "password": sys.argv[1]}))' "$password")" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
auth=(-H "Authorization: Bearer $token" -H 'Content-Type: application/json')
for _ in $(seq 1 60); do
  curl -sf "${auth[@]}" "$api/api/v2/dags/$DAG_ID" >/dev/null && break
  echo "waiting for git-sync and the dag-processor to register $DAG_ID ..."
  sleep 5
done
curl -sf "${auth[@]}" -X PATCH "$api/api/v2/dags/$DAG_ID" -d '{"is_paused": false}' >/dev/null \
  || die "DAG $DAG_ID not found (check the dag-processor and git-sync logs)"
# A 2019 logical date: the data interval (the day before it) decides which ratings are ranked.
logical_date=${LOGICAL_DATE:-2019-01-02T00:00:00Z}
# After `make down` and `make up` the kept metadata already holds that run: run it again.
run_id="$(curl -sf "${auth[@]}" -G "$api/api/v2/dags/$DAG_ID/dagRuns" \
  --data-urlencode "logical_date_gte=$logical_date" --data-urlencode "logical_date_lte=$logical_date" \
  | python3 -c 'import json,sys; runs = json.load(sys.stdin)["dag_runs"]; print(runs[0]["dag_run_id"] if runs else "")')"
if [ -n "$run_id" ]; then
  curl -sf "${auth[@]}" -X POST "$api/api/v2/dags/$DAG_ID/clearTaskInstances" \
    -d "{\"dag_run_id\": \"$run_id\", \"dry_run\": false, \"only_failed\": false, \"reset_dag_runs\": true}" \
    >/dev/null || die "could not clear the existing run $run_id"
  echo "dag run $run_id (kept from before, run again)"
else
  run_id="$(curl -sf "${auth[@]}" -X POST "$api/api/v2/dags/$DAG_ID/dagRuns" \
    -d "{\"logical_date\": \"$logical_date\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["dag_run_id"])')" || die "could not trigger $DAG_ID"
  echo "dag run $run_id"
fi

step "Waiting for the run to finish"
state=""
for _ in $(seq 1 120); do
  state="$(curl -sf "${auth[@]}" "$api/api/v2/dags/$DAG_ID/dagRuns/$run_id" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')"
  echo "state: $state"
  case "$state" in success|failed) break ;; esac
  sleep 10
done
[ "$state" = "success" ] || die "dag run $run_id ended in state '$state'"

step "Done"
cat <<INFO
Airflow UI:  $api  (port-forward pid $(cat "$STATE_DIR/port-forward.pid"); restart it with
             kubectl ${KUBE_ARGS[*]} -n $NAMESPACE port-forward svc/$fullname-api-server $LOCAL_PORT:8080)
Login:       admin / the password from
             kubectl ${KUBE_ARGS[*]} -n $NAMESPACE get secret $admin_secret -o jsonpath='{.data.admin-password}' | base64 -d
Task output: $DATA_DIR (ratings/, rankings/)
Remove it:   make down
INFO
