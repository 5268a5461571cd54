#!/usr/bin/env bash
# Make a Debian bookworm base image from Debian's archive alone (no registry):
# debootstrap --variant=minbase, slimmed like the official slim images, imported into docker.
# Usage: debian-base.sh IMAGE_NAME   (e.g. platform-local/debian:bookworm-slim)
set -euo pipefail
image=${1:?usage: debian-base.sh IMAGE_NAME}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
docker=${DOCKER:-/usr/bin/docker}
command -v debootstrap >/dev/null || { echo "debian-base: debootstrap missing: apt-get install debootstrap" >&2; exit 1; }

rootfs=$(mktemp -d /tmp/debian-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "debian-base: debootstrap bookworm (minbase) from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
  || { tail -20 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"

# The official slim images' trims: no docs, man pages or locales; apt keeps no caches.
cat > "$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
cat > "$rootfs/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
CFG
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' > "$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
echo "deb $mirror bookworm main" > "$rootfs/etc/apt/sources.list"
echo "deb $mirror bookworm-updates main" >> "$rootfs/etc/apt/sources.list"
rm -rf "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* \
       "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log
echo "debian-base: importing as $image"
tar --numeric-owner -C "$rootfs" -c . | "$docker" import -c 'CMD ["bash"]' - "$image" >/dev/null
"$docker" image inspect "$image" --format 'debian-base: {{.RepoTags}} {{.Size}} bytes'
