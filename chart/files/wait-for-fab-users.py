"""Wait until the migration Job has made FAB's roles and the first user (ADMIN_USERNAME in
ab_user), or WAIT_SECONDS pass. The api-server starts after this: FAB's start-up creates the
Admin and Public roles when they are missing, and doing that while the Job makes them
collides on the roles' unique names. Reads the metadata database directly, without FAB,
which would create them itself."""

import os
import sys
import time

from airflow.configuration import conf
from sqlalchemy import create_engine, text

engine = create_engine(conf.get("database", "sql_alchemy_conn"))
username = os.environ["ADMIN_USERNAME"]
deadline = time.monotonic() + int(os.environ["WAIT_SECONDS"])
last = "no answer yet"
while time.monotonic() < deadline:
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT 1 FROM ab_user WHERE username = :username"),
                                       {"username": username}).first()
        if found:
            print(f"FAB user {username!r} exists: the migration Job has made the roles and users")
            sys.exit(0)
        last = f"no user {username!r} yet"
    except Exception as error:  # the table may not exist yet: the Job is still migrating
        last = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    time.sleep(2)
sys.exit(f"the migration Job has not made FAB user {username!r} within {os.environ['WAIT_SECONDS']} s ({last}); "
         "see its log: kubectl logs job/<release>-migrate-<id>")
