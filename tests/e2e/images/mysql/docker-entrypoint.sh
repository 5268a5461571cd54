#!/bin/bash
# Entry point of the MySQL stand-in: first-start initialisation like the official image.
set -eo pipefail

DATADIR=/var/lib/mysql
SOCKET=/var/run/mysqld/mysqld.sock

mysql_note() { printf '%s [Note] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*"; }
mysql_error() { printf '%s [ERROR] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*" >&2; exit 1; }

# Same name and use as the official entrypoint's helper: SQL on stdin, as root, over the socket.
docker_process_sql() {
  if [ -n "$MYSQL_DATABASE" ]; then set -- --database="$MYSQL_DATABASE" "$@"; fi
  MYSQL_PWD="${MYSQL_ROOT_PASSWORD}" mariadb --protocol=socket --socket="$SOCKET" -uroot --comments "$@"
}

sql_string() { local v="${1//\\/\\\\}"; printf "'%s'" "${v//\'/\'\'}"; }

if [ "${1:-mysqld}" = mysqld ] || [ "${1#-}" != "$1" ]; then
  [ "${1:-}" = mysqld ] && shift
  if [ ! -d "$DATADIR/mysql" ]; then
    [ -n "$MYSQL_ROOT_PASSWORD" ] || mysql_error "MYSQL_ROOT_PASSWORD is not set"
    mysql_note "Initializing database files"
    mariadb-install-db --datadir="$DATADIR" --skip-test-db --auth-root-authentication-method=normal \
      --rpm >/dev/null
    mysql_note "Starting temporary server"
    mariadbd "$@" --skip-networking --socket="$SOCKET" &
    pid=$!
    for _ in $(seq 60); do
      MYSQL_PWD='' mariadb-admin --socket="$SOCKET" -uroot ping >/dev/null 2>&1 && break
      sleep 1
    done
    MYSQL_PWD='' mariadb --socket="$SOCKET" -uroot <<SQL
DELETE FROM mysql.user WHERE User = '';
ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$MYSQL_ROOT_PASSWORD");
CREATE USER 'root'@'%' IDENTIFIED BY $(sql_string "$MYSQL_ROOT_PASSWORD");
GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
    if [ -n "$MYSQL_DATABASE" ]; then
      MYSQL_DATABASE='' docker_process_sql <<<"CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`;"
    fi
    if [ -n "$MYSQL_USER" ] && [ -n "$MYSQL_PASSWORD" ]; then
      MYSQL_DATABASE='' docker_process_sql <<<"CREATE USER $(sql_string "$MYSQL_USER")@'%' IDENTIFIED BY $(sql_string "$MYSQL_PASSWORD");"
      if [ -n "$MYSQL_DATABASE" ]; then
        MYSQL_DATABASE='' docker_process_sql <<<"GRANT ALL ON \`$MYSQL_DATABASE\`.* TO $(sql_string "$MYSQL_USER")@'%';"
      fi
    fi
    for f in /docker-entrypoint-initdb.d/*; do
      case "$f" in
        *.sh) mysql_note "$0: sourcing $f"; # shellcheck disable=SC1090
              . "$f" ;;
        *.sql) mysql_note "$0: running $f"; docker_process_sql < "$f" ;;
        *) [ -e "$f" ] && mysql_note "$0: ignoring $f" ;;
      esac
    done
    mysql_note "Stopping temporary server"
    kill "$pid"
    wait "$pid" || true
    mysql_note "Initialization finished"
  fi
  exec mariadbd "$@"
fi
exec "$@"
