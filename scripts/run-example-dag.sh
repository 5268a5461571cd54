#!/usr/bin/env bash
# After `helm upgrade --install`: trigger movielens_ranking for one 2019 day through the REST
# API v2, wait for the run and print how to reach the UI and log in. The api-server and its
# login are found by the chart's labels and the Deployment's annotation
# movielens-platform/admin-login, so nameOverride or a long release name change nothing.
# Shared by scripts/kind/up.sh and scripts/local-cluster/platform-up.sh.
#
# Usage: run-example-dag.sh KUBECTL_ARGS...   (e.g. --context kind-movielens, or --kubeconfig FILE)
# Environment: RELEASE, NAMESPACE, API_URL (the UI's NodePort on this machine; empty: a
# port-forward on LOCAL_PORT, 8080), STATE_DIR (where pid and log files go), DATA_DIR (shown
# at the end), LOGICAL_DATE (2019-01-02T00:00:00Z).
set -euo pipefail

RELEASE="${RELEASE:?RELEASE is required}"
NAMESPACE="${NAMESPACE:?NAMESPACE is required}"
API_URL="${API_URL:-}"
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
k() { kubectl "${KUBE_ARGS[@]}" -n "$NAMESPACE" "$@"; }

selector="app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/component=api-server"
# "username secret key service port" of the release's api-server
read -r username admin_secret admin_key service service_port < <(
  k get deployment,service -l "$selector" -o json | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
deployments = [i for i in items if i["kind"] == "Deployment"]
services = [i for i in items if i["kind"] == "Service"]
if not deployments or not services:
    sys.exit("no api-server of this release: check RELEASE and NAMESPACE (helm list -A)")
login = json.loads(deployments[0]["metadata"]["annotations"]["movielens-platform/admin-login"])
print(login["username"], login["secret"], login["key"], services[0]["metadata"]["name"],
      services[0]["spec"]["ports"][0]["port"])') || die "could not find the release's api-server"
password="$(k get secret "$admin_secret" -o "jsonpath={.data.$admin_key}" | base64 -d)"

if [ -n "$API_URL" ]; then
  api="$API_URL"
  step "The api-server at $api (NodePort)"
else
  step "Port-forwarding the api-server to localhost:$LOCAL_PORT"
  # The forward of an earlier `make up` leads to a pod that is gone, and holds the port.
  stop_pidfile "$STATE_DIR/port-forward.pid" "the earlier port-forward"
  k port-forward "svc/$service" "$LOCAL_PORT:$service_port" > "$STATE_DIR/port-forward.log" 2>&1 &
  forward=$!
  echo "$forward" > "$STATE_DIR/port-forward.pid"
  api="http://localhost:$LOCAL_PORT"
fi
for _ in $(seq 1 30); do
  # A forward that ended (the port taken by another program) must not leave us asking
  # whatever else listens there.
  if [ -z "$API_URL" ]; then
    kill -0 "$forward" 2>/dev/null || die "kubectl port-forward ended: $(tail -3 "$STATE_DIR/port-forward.log") (is port $LOCAL_PORT taken? LOCAL_PORT=... picks another)"
  fi
  curl -sf "$api/api/v2/monitor/health" >/dev/null && break
  sleep 2
done
curl -sf "$api/api/v2/monitor/health" >/dev/null || die "the api-server is not reachable at $api"

step "Triggering $DAG_ID through the REST API v2"
token="$(curl -sf -X POST "$api/auth/token" -H 'Content-Type: application/json' \
  -d "$(python3 -c 'import json,sys; print(json.dumps({"username": sys.argv[1], "password": sys.argv[2]}))' "$username" "$password")" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
auth=(-H "Authorization: Bearer $token" -H 'Content-Type: application/json')
for _ in $(seq 1 60); do
  curl -sf "${auth[@]}" "$api/api/v2/dags/$DAG_ID" >/dev/null && break
  echo "waiting for the dag-processor to fetch the DAG repository and register $DAG_ID ..."
  sleep 5
done
curl -sf "${auth[@]}" -X PATCH "$api/api/v2/dags/$DAG_ID" -d '{"is_paused": false}' >/dev/null \
  || die "DAG $DAG_ID not found (check the dag-processor's log for the DAG repository fetch)"
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
if [ -n "$API_URL" ]; then
  reach="$api  (NodePort: no port-forward to keep alive)"
else
  reach="$api  (port-forward pid $(cat "$STATE_DIR/port-forward.pid"); restart it with
             kubectl ${KUBE_ARGS[*]} -n $NAMESPACE port-forward svc/$service $LOCAL_PORT:$service_port)"
fi
cat <<INFO
Airflow UI:  $reach
Login:       $username / the password from
             kubectl ${KUBE_ARGS[*]} -n $NAMESPACE get secret $admin_secret -o jsonpath='{.data.$admin_key}' | base64 -d
Task output: $DATA_DIR (ratings/, rankings/)
New DAGs:    git commit, then make sync
Remove it:   make down
INFO
