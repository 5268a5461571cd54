# shellcheck shell=bash
# The node's processes: each component started in its own session with its log and pid
# file, waits on readiness, and the smoke test of a fresh node.

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
  # The chart's hostPath volumes are bound in advance to their claims; a claim the volume
  # controller sees before its volume waits for the controller's next pass, 15 s by
  # default: 19-28 s of an install's pods Pending ("unbound immediate
  # PersistentVolumeClaims"). Every 2 s here.
  start kube-controller-manager "$BIN/kube-controller-manager" \
    --pvclaimbinder-sync-period=2s \
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
  render_template "$HERE/templates/kube-dns.yaml" "$STATE/kube-dns.yaml"
  kc apply -f "$STATE/kube-dns.yaml" >/dev/null
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
  render_template "$HERE/templates/smoke-pod.yaml" "$STATE/smoke-pod.yaml"
  kc apply -f "$STATE/smoke-pod.yaml" >/dev/null
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
