"""Create or update the chart's FAB users (airflow.admin and airflow.users) in the metadata
database, after `airflow db migrate`. Run again with the same input, it changes nothing.

  FAB_USERS  JSON list of {"username", "role", "email", "firstName", "lastName",
             "passwordFile"}; each password is read from its file (a mounted Secret key),
             never from the environment or the pod spec.

A user that exists gets the role, email and names given here, and the password of its
Secret when that differs. Users made in the UI or by LDAP/OAuth are left alone, and a user
removed from the values is kept (delete it in the UI: it may own audit records).
"""

import json
import os
import sys


def load_users(raw: str) -> list:
    users = json.loads(raw)
    for user in users:
        path = user["passwordFile"]
        try:
            with open(path, encoding="utf-8") as handle:
                user["password"] = handle.read().rstrip("\n")
        except OSError as error:
            sys.exit(f"user {user['username']!r}: cannot read its password ({error}); check the "
                     "Secret and key named for it in the values")
        if not user["password"]:
            sys.exit(f"user {user['username']!r}: its password in the Secret is empty; put a "
                     "password under the key named in the values")
    return users


def sync(users: list) -> None:
    # Imported here: the FAB provider loads Flask and the metadata engine, which only this
    # step needs.
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    with get_application_builder() as appbuilder:
        manager = appbuilder.sm
        # every role is checked before any user is touched: bad input changes nothing
        roles = {user["role"]: manager.find_role(user["role"]) for user in users}
        for user in users:
            if roles[user["role"]] is None:
                valid = sorted(r.name for r in manager.get_all_roles())
                sys.exit(f"user {user['username']!r}: role {user['role']!r} does not exist; "
                         f"use one of {valid} or define it in airflow.fab.roles")
        for user in users:
            role = roles[user["role"]]
            existing = manager.find_user(username=user["username"])
            if existing is None:
                if not manager.add_user(user["username"], user["firstName"], user["lastName"],
                                        user["email"], [role], user["password"]):
                    sys.exit(f"user {user['username']!r}: FAB refused to create it (is its "
                             f"email {user['email']!r} taken by another user?)")
                print(f"user {user['username']!r}: created with role {role.name!r}")
                continue
            changes = []
            wanted = (user["email"], user["firstName"], user["lastName"], [role.name])
            current = (existing.email, existing.first_name, existing.last_name,
                       [r.name for r in existing.roles])
            if wanted != current:
                existing.email, existing.first_name, existing.last_name = wanted[:3]
                existing.roles = [role]
                if not manager.update_user(existing):
                    sys.exit(f"user {user['username']!r}: FAB refused the update (is its email "
                             f"{user['email']!r} taken by another user?)")
                changes.append("role, email and names")
            if not manager.check_password(user["username"], user["password"]):
                manager.reset_password(existing.id, user["password"])
                changes.append("password")
            print(f"user {user['username']!r}: " +
                  (f"updated ({', '.join(changes)})" if changes else "unchanged"))


def main() -> int:
    sync(load_users(os.environ["FAB_USERS"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
