#!/bin/bash
# Entry point of the PostgreSQL stand-in: first-start initialisation like the official image.
set -eo pipefail

: "${PGDATA:=/var/lib/postgresql/data/pgdata}"
SOCKETS=/var/run/postgresql

note() { printf '%s [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*"; }
fail() { printf '%s [Entrypoint] ERROR: %s\n' "$(date --rfc-3339=seconds)" "$*" >&2; exit 1; }

initialise() {
  [ -n "$POSTGRES_PASSWORD" ] || fail "POSTGRES_PASSWORD is not set: the server accepts password logins only"
  local user=${POSTGRES_USER:-postgres} pwfile
  local db=${POSTGRES_DB:-$user}
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
  note "Initializing database files in $PGDATA"
  initdb --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  note "Starting temporary server (socket only)"
  pg_ctl --silent --wait -o "-c listen_addresses='' -k $SOCKETS" start
  if [ "$db" != postgres ]; then
    psql -v ON_ERROR_STOP=1 -h "$SOCKETS" -U "$user" -d postgres -q \
      -c "CREATE DATABASE \"$db\""
  fi
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) note "sourcing $f"; # shellcheck disable=SC1090
            . "$f" ;;
      *.sql) note "running $f"; psql -v ON_ERROR_STOP=1 -h "$SOCKETS" -U "$user" -d "$db" -q -f "$f" ;;
      *) [ -e "$f" ] && note "ignoring $f" ;;
    esac
  done
  pg_ctl --silent --wait -m fast stop
  note "Initialization finished"
}

if [ "${1:-postgres}" = postgres ] || [ "${1#-}" != "$1" ]; then
  [ "${1:-}" = postgres ] && shift
  [ -s "$PGDATA/PG_VERSION" ] || initialise
  exec postgres -c listen_addresses='*' -k "$SOCKETS" "$@"
fi
exec "$@"
