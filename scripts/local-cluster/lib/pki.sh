# shellcheck shell=bash
# Certificates (openssl) and kubeconfigs of every component.

mkcert() { # mkcert NAME SUBJECT SERIAL [SANS]
  local name=$1 subj=$2 serial=$3 sans=${4:-} ext
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  ext="basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth"
  [ -n "$sans" ] && ext+="\nsubjectAltName=$sans"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial "$serial" \
    -days 3650 -sha256 -out "$PKI/$name.crt" -extfile <(printf '%b\n' "$ext") 2>/dev/null
  rm -f "$PKI/$name.csr"
}

make_pki() {
  step "Generating certificates"
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 3650 \
    -subj "/CN=platform-local-ca" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  local api_sans="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN"
  api_sans+=",DNS:localhost,DNS:$NODE_NAME,IP:127.0.0.1,IP:$API_SERVICE_IP,IP:$GATEWAY"
  mkcert apiserver "/CN=kube-apiserver" 2 "$api_sans" &
  mkcert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" 3 &
  mkcert admin "/O=system:masters/CN=platform-local-admin" 4 &
  mkcert controller-manager "/CN=system:kube-controller-manager" 5 &
  mkcert scheduler "/CN=system:kube-scheduler" 6 &
  mkcert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" 7 "DNS:$NODE_NAME,DNS:localhost,IP:$GATEWAY,IP:127.0.0.1" &
  mkcert kube-proxy "/CN=system:kube-proxy" 8 &
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null &
  wait
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  local n
  for n in admin controller-manager scheduler kubelet kube-proxy; do
    write_kubeconfig "$STATE/$n.kubeconfig" "$n"
  done
}

# shellcheck disable=SC2034  # the locals are read by name, by render_template
write_kubeconfig() { # write_kubeconfig FILE CERTNAME
  local USER_NAME=$2 CA_DATA CERT_DATA KEY_DATA
  CA_DATA=$(base64 -w0 "$PKI/ca.crt")
  CERT_DATA=$(base64 -w0 "$PKI/$2.crt")
  KEY_DATA=$(base64 -w0 "$PKI/$2.key")
  (umask 077 && render_template "$HERE/templates/kubeconfig.yaml" "$1")
}
