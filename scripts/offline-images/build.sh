#!/usr/bin/env bash
# Build every image the platform runs without any registry, from Debian's archive and PyPI:
#   platform-local/debian:bookworm-slim        debootstrap (debian-base.sh)
#   platform-local/python:3.11-slim-bookworm   Debian's python3 (python-base/)
#   images/*                                   the product images and the development
#                                              clusters' DAG repository, on that Python base
#   tests/e2e/images/*                         test stand-ins: mysql:8.4 (the rankings),
#                                              PostgreSQL (Airflow's metadata), git-sync,
#                                              statsd-exporter (metrics)
# and save each as a docker-archive tar in OUT_DIR (for `ctr images import`).
# Usage: build.sh OUT_DIR        Env: CA_BUNDLE (HTTPS proxy CA for pip; default: the
# host's bundle when present), DOCKER (docker client, default /usr/bin/docker).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: build.sh OUT_DIR}
mkdir -p "$out"
docker=${DOCKER:-/usr/bin/docker}
export DOCKER_BUILDKIT=1
# shellcheck source=../lib.sh
. scripts/lib.sh

secret=()
ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[ -s "$ca" ] && secret=(--secret "id=ca_bundle,src=$ca")

DEBIAN=platform-local/debian:bookworm-slim
PYTHON=platform-local/python:3.11-slim-bookworm
if ! "$docker" image inspect "$DEBIAN" >/dev/null 2>&1; then
  step "base: $DEBIAN (debootstrap, ~30 s)"
  DOCKER="$docker" scripts/offline-images/debian-base.sh "$DEBIAN"
fi

build() {  # NAME:TAG CONTEXT [BUILD ARGS...]
  local image=$1 context=$2
  shift 2
  step "build $image from $context"
  "$docker" build --quiet "${secret[@]}" "$@" -t "$image" "$context" >/dev/null
}
version_of() { sed -n 's/^version = "\(.*\)"/\1/p' "$1/pyproject.toml"; }

build "$PYTHON" scripts/offline-images/python-base --build-arg "DEBIAN_IMAGE=$DEBIAN"
images=()
# The API serves its default: a million seeded synthetic 2019 ratings (MovieLens may not be
# redistributed), shaped like the real year (images/movielens-api/README.md).
for dir in images/movielens-*/; do
  images+=("$(basename "$dir"):$(version_of "$dir")")
  build "${images[-1]}" "$dir" --build-arg "BASE_IMAGE=$PYTHON"
done
images+=("$DAGS_GIT_SERVER_IMAGE")
build "${images[-1]}" images/dags-git-server --build-arg "BASE_IMAGE=$PYTHON"
images+=("platform/airflow:3.3.2")
build "${images[-1]}" images/airflow --build-arg "BASE_IMAGE=$PYTHON"
images+=("platform-e2e/mysql:mariadb-10.11" "platform-e2e/postgres:15-standin" "platform-e2e/git-sync:v4-standin")
build "${images[-3]}" tests/e2e/images/mysql --build-arg "BASE_IMAGE=$DEBIAN"
build "${images[-2]}" tests/e2e/images/postgres --build-arg "BASE_IMAGE=$DEBIAN"
build "${images[-1]}" tests/e2e/images/git-sync --build-arg "BASE_IMAGE=$DEBIAN"
images+=("platform-e2e/statsd-exporter:v0.28-standin")
build "${images[-1]}" tests/e2e/images/statsd-exporter --build-arg "BASE_IMAGE=$PYTHON"

for image in "${images[@]}"; do
  tar="$out/$(echo "$image" | tr '/:' '__').tar"
  id=$("$docker" image inspect --format '{{.Id}}' "$image")
  # Saving takes seconds per image: skip it when the tar already holds this build.
  if [ -f "$tar.id" ] && [ "$(cat "$tar.id")" = "$id" ] && [ -f "$tar" ]; then
    step "unchanged: $image"
    continue
  fi
  step "save $image -> $tar"
  "$docker" save "$image" -o "$tar.tmp" && mv "$tar.tmp" "$tar" && echo "$id" > "$tar.id"
done
step "done: ${#images[@]} images in $out"
