# shellcheck shell=bash
# The node's binaries, built from Debian's kubernetes source package and cached by version,
# and the node's own images (pause, busybox), made without docker.

build_binaries() {
  if [ -f "$BIN/.complete" ]; then
    step "Kubernetes $KUBE_VERSION binaries cached in $BIN"
    return
  fi
  local src="$CACHE/src" gopath="$CACHE/gopath" tree
  mkdir -p "$src" "$BIN"
  tree="$(find "$src" -mindepth 2 -maxdepth 2 -type d -name cmd -printf '%h\n' 2>/dev/null | head -n1)"
  if [ -z "$tree" ] || [ ! -d "$tree/cmd/kube-apiserver" ]; then
    ensure_deb_src
    step "Downloading the kubernetes source package $DEB_SOURCE_VERSION"
    (cd "$src" && apt-get source -q "kubernetes=$DEB_SOURCE_VERSION" >"$CACHE/apt-source.log" 2>&1) ||
      { tail -20 "$CACHE/apt-source.log"; die "apt-get source failed"; }
    tree="$(find "$src" -mindepth 2 -maxdepth 2 -type d -name cmd -printf '%h\n' | head -n1)"
    [ -d "$tree/cmd/kube-apiserver" ] || die "unexpected source layout under $src"
  fi
  # Vendored reflect2 1.0.1 breaks on Go >= 1.18: use Debian's 1.0.2.
  rm -rf "$tree/vendor/github.com/modern-go/reflect2"
  cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 "$tree/vendor/github.com/modern-go/reflect2"
  mkdir -p "$gopath/src/k8s.io"
  ln -sfn "$tree" "$gopath/src/k8s.io/kubernetes"

  local -x GOPATH="$gopath" GO111MODULE=off CGO_ENABLED=0 GOCACHE="$CACHE/gocache" GOFLAGS="" GOTOOLCHAIN=local
  if [ ! -f "$tree/.generated_files_done" ]; then
    step "make generated_files (~1 min)"
    (cd "$gopath/src/k8s.io/kubernetes" && make generated_files >"$CACHE/generated_files.log" 2>&1) ||
      { tail -30 "$CACHE/generated_files.log"; die "make generated_files failed"; }
    touch "$tree/.generated_files_done"
  fi
  local ldflags="-s -w" pkg
  for pkg in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$KUBE_MINOR"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  step "Building kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl (~4 min on 2 cores)"
  (cd "$gopath/src/k8s.io/kubernetes" &&
    go build -trimpath -tags selinux,notest -ldflags "$ldflags" -o "$BIN/" \
      ./cmd/kube-apiserver ./cmd/kube-controller-manager ./cmd/kube-scheduler \
      ./cmd/kubelet ./cmd/kube-proxy ./cmd/kubectl >"$CACHE/build.log" 2>&1) ||
    { tail -30 "$CACHE/build.log"; die "go build failed (log: $CACHE/build.log)"; }
  "$BIN/kube-apiserver" --version | grep -q "$KUBE_VERSION" || die "version stamping failed"
  touch "$BIN/.complete"
  step "Built; removing the source tree and Go build cache (binaries stay in $BIN)"
  rm -rf "$src" "$gopath" "$CACHE/gocache"
}

# image_from_rootfs ROOTFS NAME:TAG OUT.tar [ENTRYPOINT...]: a one-layer docker-archive tar.
image_from_rootfs() {
  local rootfs=$1 ref=$2 out=$3 tmp diff cfg entry="null" a
  shift 3
  if [ "$#" -gt 0 ]; then
    entry="["
    for a in "$@"; do entry+="\"$a\","; done
    entry="${entry%,}]"
  fi
  tmp="$(mktemp -d)"
  tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -cf "$tmp/layer.tar" .
  diff="$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)"
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":%s,"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"platform local-cluster image_from_rootfs"}]}' \
    "$entry" "$diff" >"$tmp/config.json"
  cfg="$(sha256sum "$tmp/config.json" | cut -d' ' -f1)"
  mv "$tmp/config.json" "$tmp/$cfg.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$cfg" "$ref" >"$tmp/manifest.json"
  tar -C "$tmp" -cf "$out.tmp" manifest.json "$cfg.json" layer.tar
  mv "$out.tmp" "$out"
  rm -rf "$tmp"
}

build_images() {
  mkdir -p "$IMAGES"
  local tmp
  if [ ! -f "$IMAGES/pause.tar" ]; then
    step "Building the pause image $PAUSE_IMAGE"
    tmp="$(mktemp -d)"
    gcc -static -Os -o "$tmp/pause" "$HERE/pause.c"
    strip "$tmp/pause"
    mkdir "$tmp/rootfs" && mv "$tmp/pause" "$tmp/rootfs/pause"
    image_from_rootfs "$tmp/rootfs" "$PAUSE_IMAGE" "$IMAGES/pause.tar" /pause
    rm -rf "$tmp"
  fi
  if [ ! -f "$IMAGES/busybox.tar" ]; then
    step "Building the busybox image $BUSYBOX_IMAGE (from busybox-static)"
    tmp="$(mktemp -d)"
    mkdir -p "$tmp/rootfs/bin" "$tmp/rootfs/etc" "$tmp/rootfs/tmp" "$tmp/rootfs/root"
    chmod 1777 "$tmp/rootfs/tmp"
    cp /bin/busybox "$tmp/rootfs/bin/busybox"
    local app
    for app in $(/bin/busybox --list); do
      [ "$app" = busybox ] || ln -s busybox "$tmp/rootfs/bin/$app"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$tmp/rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$tmp/rootfs/etc/group"
    image_from_rootfs "$tmp/rootfs" "$BUSYBOX_IMAGE" "$IMAGES/busybox.tar" /bin/sh
    rm -rf "$tmp"
  fi
}

# Import docker-archive or OCI tars (also gzipped) into the node's containerd, namespace k8s.io.
import_images() {
  [ "$#" -gt 0 ] || die "import-image: give one or more image tar files"
  pid_of containerd >/dev/null || die "containerd is not running: run '$0 up' first"
  local f
  for f in "$@"; do
    [ -f "$f" ] || die "no such file: $f"
    if [ "$(head -c2 "$f" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
      gzip -dc "$f" | ctr_ images import - || die "import of $f failed"
    else
      ctr_ images import "$f" || die "import of $f failed"
    fi
  done
}
