"""The FAB auth manager's settings, the chart's default (airflow.apiServer.apiServerConfig
replaces this file): users and their passwords in the metadata database, made by the
migration Job from airflow.admin and airflow.fab.users, or in the UI by an Admin."""

from flask_appbuilder.const import AUTH_DB

AUTH_TYPE = AUTH_DB
WTF_CSRF_ENABLED = True
# The login form's rate limit (5 tries in 40 s by default) is counted per api-server
# process: naming the in-memory store keeps Flask-Limiter from warning about it in the log.
RATELIMIT_STORAGE_URI = "memory://"
