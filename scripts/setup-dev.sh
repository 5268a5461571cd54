#!/usr/bin/env bash
# Build the development environment from nothing: Debian packages the tests need,
# the virtual environment (.venv) with every pinned Python package, the task CLIs
# as console scripts, and the Helm binary. Safe to rerun: finished steps are skipped.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
# pip warns about every index location configured on this machine that is absent: noise.
quiet_pip() { "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2); }
# shellcheck source=lib.sh
. scripts/lib.sh

# --- Debian packages: a MySQL-compatible server for the tests, unzip for the Helm wheel,
# git, the linter of the shell scripts, and Node.js for the chart's values table
need_apt=()
if [ -z "${MYSQL_TEST_HOST:-}" ] && ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
  need_apt+=(mariadb-server)
fi
command -v unzip >/dev/null || need_apt+=(unzip)
command -v shellcheck >/dev/null || need_apt+=(shellcheck)
command -v git >/dev/null || need_apt+=(git)
command -v npm >/dev/null || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  step "installing Debian packages: ${need_apt[*]}"
  command -v apt-get >/dev/null || die "apt-get not found; install ${need_apt[*]} by hand (or set MYSQL_TEST_HOST to a MySQL server)"
  [ "$(id -u)" = 0 ] || die "installing ${need_apt[*]} needs root: run 'sudo apt-get install ${need_apt[*]}' first"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# --- Python virtual environment
PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null &&
       "$candidate" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 13)))' 2>/dev/null; then
      PYTHON=$candidate; break
    fi
  done
fi
[ -n "$PYTHON" ] || die "Python 3.11 or 3.12 is required (Airflow 3.3 and the task images use it)"

stamp="$VENV/.installed"
inputs=$(cat pyproject.toml constraints.txt images/*/pyproject.toml images/*/requirements.txt | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then
  step "Python environment $VENV is up to date"
else
  step "creating $VENV with $($PYTHON --version) (Airflow and the test tools: about a minute)"
  [ -d "$VENV" ] || "$PYTHON" -m venv "$VENV"
  quiet_pip "$VENV/bin/python" -m pip install --quiet --upgrade "pip==25.3"
  editables=()
  for p in images/*/pyproject.toml; do editables+=(--editable "$(dirname "$p")"); done
  quiet_pip "$VENV/bin/python" -m pip install --quiet --constraint constraints.txt ".[dev]" "${editables[@]}"
  echo "$inputs" > "$stamp"
fi

# --- Helm
step "Helm"
scripts/install-helm.sh "$VENV/bin"
step "development environment ready: $VENV"
