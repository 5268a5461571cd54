#!/usr/bin/env bash
# Make sure a Docker engine answers: install Debian's docker.io when absent and start
# dockerd by hand (these machines have no systemd). Prints the docker client to use.
set -euo pipefail
docker=/usr/bin/docker
log=${DOCKERD_LOG:-/var/log/platform-dockerd.log}
if ! [ -x /usr/sbin/dockerd ] || ! [ -x "$docker" ]; then
  echo "docker-engine: installing Debian's docker.io" >&2
  [ "$(id -u)" = 0 ] || { echo "docker-engine: needs root to install docker.io" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
    docker.io containerd runc debootstrap iptables >/dev/null
fi
if ! "$docker" info >/dev/null 2>&1; then
  echo "docker-engine: starting dockerd (log: $log)" >&2
  nohup /usr/sbin/dockerd >"$log" 2>&1 &
  for _ in $(seq 60); do
    "$docker" info >/dev/null 2>&1 && break
    sleep 0.5
  done
  "$docker" info >/dev/null 2>&1 || { tail -20 "$log" >&2; echo "docker-engine: dockerd did not start" >&2; exit 1; }
fi
echo "$docker"
