"""Liveness of the dag-processor and the triggerer: the check of `airflow jobs check
--job-type JOB_TYPE --local` without importing Airflow, which cost about 3.4 s of CPU a
probe (two probes a minute: a twentieth of a two-core node, idle or not).

  python -c "$SCRIPT" JOB_TYPE THRESHOLD_SECONDS

Passes when this host's latest running job of that type has sent a heartbeat within the
threshold (Airflow's [triggerer] triggerer_health_check_threshold or [dag_processor]
health_check_threshold, which the chart passes). The host name is Airflow's default
hostname_callable's (airflow.utils.net.getfqdn); the chart uses the Airflow CLI instead when
[core] hostname_callable is set.
"""

import os
import socket
import sys
from datetime import datetime, timezone

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool


def getfqdn() -> str:
    """airflow.utils.net.getfqdn() for the local host."""
    name = socket.gethostname()
    try:
        addresses = socket.getaddrinfo(name, None, 0, socket.SOCK_DGRAM, 0, socket.AI_CANONNAME)
    except OSError:
        return name
    return next((a[3] for a in addresses if a[3]), name)


def as_utc(value) -> datetime:
    if isinstance(value, str):  # SQLite keeps the text Airflow wrote
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)  # noqa: UP017 (datetime.UTC is 3.11+; images may run 3.10)


def main(job_type: str, threshold: float) -> int:
    hostname = getfqdn()
    engine = create_engine(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], poolclass=NullPool)
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT latest_heartbeat FROM job WHERE state = 'running' AND job_type = :job_type "
                 "AND hostname = :hostname ORDER BY latest_heartbeat DESC LIMIT 1"),
            {"job_type": job_type, "hostname": hostname}).first()
    if row is None or row[0] is None:
        print(f"no running {job_type} of this host ({hostname})", file=sys.stderr)
        return 1
    now = datetime.now(timezone.utc)  # noqa: UP017
    age = (now - as_utc(row[0])).total_seconds()
    if age >= threshold:
        print(f"the {job_type}'s last heartbeat is {age:.0f} s old (threshold {threshold:g} s)", file=sys.stderr)
        return 1
    print(f"{job_type} alive: last heartbeat {age:.1f} s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))
