# shellcheck shell=bash
# Functions shared by the scripts: progress with timings, errors that stop.

_common_t0=$SECONDS
step() { printf '==> [%4ds] %s\n' $((SECONDS - _common_t0)) "$*"; }
die() { printf '%s: ERROR: %s\n' "${0##*/}" "$*" >&2; exit 1; }
