#!/usr/bin/env bash
# The log groomer (a sidecar of the scheduler, which mounts the shared logs volume):
# deletes task log files older than RETENTION_DAYS, then the folders they leave empty
# once they are as old themselves (a worker may just have made a new one; a folder emptied
# now goes that much later), every INTERVAL_MINUTES.
# ONCE=1 makes one pass and exits (the tests).
set -uo pipefail
: "${LOGS_DIR:?}" "${RETENTION_DAYS:?}" "${INTERVAL_MINUTES:?}"
trap 'exit 0' TERM INT
while true; do
  age=+$((RETENTION_DAYS * 1440))
  removed=$(find "$LOGS_DIR" -mindepth 1 -type f -mmin "$age" -print -delete | wc -l)
  find "$LOGS_DIR" -mindepth 1 -depth -type d -empty -mmin "$age" -delete
  echo "$(date -u +%FT%TZ) log groomer: removed $removed files older than $RETENTION_DAYS days from $LOGS_DIR"
  [ "${ONCE:-}" = 1 ] && exit 0
  sleep $((INTERVAL_MINUTES * 60)) &
  wait $!
done
