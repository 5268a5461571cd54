"""Wait until the migration Job has made FAB's roles and the first user (ADMIN_USERNAME in
ab_user), or WAIT_SECONDS pass. The api-server starts after this: FAB's start-up creates the
Admin and Public roles when they are missing, and doing that while the Job makes them
collides on the roles' unique names. Reads the metadata database directly, without FAB,
which would create them itself."""

import os
import sys
import time

from sqlalchemy import create_engine, inspect, text

# the chart's env, not airflow.configuration: importing Airflow costs seconds of CPU
engine = create_engine(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
username = os.environ["ADMIN_USERNAME"]
deadline = time.monotonic() + int(os.environ["WAIT_SECONDS"])
last = "no answer yet"
while time.monotonic() < deadline:
    try:
        with engine.connect() as connection:
            # the table first: a query of a missing table is an error in the server's log
            found = inspect(connection).has_table("ab_user") and connection.execute(
                text("SELECT 1 FROM ab_user WHERE username = :username"), {"username": username}).first()
        if found:
            print(f"FAB user {username!r} exists: the migration Job has made the roles and users")
            sys.exit(0)
        last = f"no user {username!r} yet" if found is None else "no table ab_user yet"
    except Exception as error:  # the database not answering yet
        last = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    time.sleep(2)
sys.exit(f"the migration Job has not made FAB user {username!r} within {os.environ['WAIT_SECONDS']} s ({last}); "
         "see its log: kubectl logs job/<release>-migrate-<id>")
