#!/bin/bash
# git-sync v4 stand-in: keep ROOT/LINK pointing at a checkout of REPO's REF.
set -uo pipefail

for arg in "$@"; do
  case "$arg" in
    --*=*) name="${arg%%=*}"; name="${name#--}"; name="${name//-/_}"
           export "GITSYNC_${name^^}=${arg#*=}" ;;
    --one-time) export GITSYNC_ONE_TIME=true ;;
    *) echo "git-sync: unsupported argument $arg" >&2; exit 2 ;;
  esac
done

repo=${GITSYNC_REPO:?git-sync: GITSYNC_REPO (--repo) is required}
ref=${GITSYNC_REF:-HEAD}
root=${GITSYNC_ROOT:-${HOME:-/tmp}/git}
link=${GITSYNC_LINK:-$(basename "${repo%.git}")}
depth=${GITSYNC_DEPTH:-1}
max_failures=${GITSYNC_MAX_FAILURES:-0}
one_time=${GITSYNC_ONE_TIME:-false}

seconds() {  # 30s, 1m, 500ms, 2 -> seconds
  case "$1" in
    *ms) echo "scale=3; ${1%ms}/1000" | awk -F';' '{split($2,a,"/"); printf "%.3f", a[1]/a[2]}' ;;
    *s) echo "${1%s}" ;;
    *m) echo $(( ${1%m} * 60 )) ;;
    *) echo "$1" ;;
  esac
}
period=$(seconds "${GITSYNC_PERIOD:-10s}")

if [ -n "${GITSYNC_PASSWORD_FILE:-}" ] && [ -n "${GITSYNC_USERNAME:-}" ]; then
  password=$(cat "$GITSYNC_PASSWORD_FILE")
  repo="${repo/:\/\//://${GITSYNC_USERNAME}:${password}@}"
fi
if [ -n "${GITSYNC_SSH_KEY_FILE:-}" ]; then
  known=${GITSYNC_SSH_KNOWN_HOSTS_FILE:-/etc/git-secret/known_hosts}
  export GIT_SSH_COMMAND="ssh -i $GITSYNC_SSH_KEY_FILE -o UserKnownHostsFile=$known"
fi

mkdir -p "$root/.worktrees"
mirror="$root/.git-mirror"
[ -d "$mirror" ] || git init --quiet --bare "$mirror"

sync_once() {
  git -C "$mirror" fetch --quiet --force --depth "$depth" "$repo" "$ref" || return 1
  local hash current
  hash=$(git -C "$mirror" rev-parse FETCH_HEAD) || return 1
  current=$(readlink "$root/$link" 2>/dev/null || true)
  [ "$current" = ".worktrees/$hash" ] && return 0
  if [ ! -d "$root/.worktrees/$hash" ]; then
    git -C "$mirror" worktree add --quiet --detach --force "$root/.worktrees/$hash" "$hash" || return 1
  fi
  ln -sfn ".worktrees/$hash" "$root/.$link.tmp" && mv -T "$root/.$link.tmp" "$root/$link" || return 1
  echo "git-sync: $link -> $hash"
  if [ -n "$current" ] && [ -d "$root/$current" ]; then
    git -C "$mirror" worktree remove --force "$root/$current" 2>/dev/null || rm -rf "${root:?}/$current"
  fi
  git -C "$mirror" worktree prune
}

# As PID 1, bash ignores SIGTERM unless trapped: without this a pod deletion waits out its
# whole grace period. bash runs traps while in the `wait` builtin, not during `sleep`.
trap 'exit 0' TERM INT

failures=0
while true; do
  if sync_once; then
    failures=0
    [ "$one_time" = true ] && exit 0
  else
    failures=$((failures + 1))
    echo "git-sync: sync of $repo ($ref) failed ($failures)" >&2
    if [ "$failures" -gt "$max_failures" ] && [ "$max_failures" -ge 0 ]; then exit 1; fi
  fi
  sleep "$period" &
  wait $!
done
