"""MovieLens ranking: fetch a day of ratings, rank the movies, load the ranking into MySQL.

Each task is a container with its own image and dependencies (see images/); this DAG
only knows their command-line contracts. Files live on the data volume, named by the
run's data interval: /data/ratings/{ds}.json and /data/rankings/{ds}.csv.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable

from container_tasks import DATA_MOUNT, pipeline_setting, pipeline_task, secret_env

DAY = "{{ data_interval_start | ds }}"
NEXT_DAY = "{{ data_interval_end | ds }}"
RATINGS_FILE = f"{DATA_MOUNT}/ratings/{DAY}.json"
RANKINGS_FILE = f"{DATA_MOUNT}/rankings/{DAY}.csv"

with DAG(
    dag_id="movielens_ranking",
    description="Rank movies by a day's MovieLens ratings and load the ranking into MySQL",
    # A data-interval timetable: each run covers [data_interval_start, data_interval_end).
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=pendulum.datetime(2019, 1, 1, tz="UTC"),
    end_date=pendulum.datetime(2019, 12, 31, tz="UTC"),
    catchup=False,  # a backfill of 2019 is an explicit choice: `airflow backfill create`
    max_active_runs=int(pipeline_setting("MOVIELENS_MAX_ACTIVE_RUNS")),
    tags=["movielens", "kubernetes-pod-operator"],
) as dag:
    fetch_ratings = pipeline_task(
        task_id="fetch_ratings",
        image=pipeline_setting("MOVIELENS_FETCH_IMAGE"),
        # Its own retries ride out a blip (7 s of backoff); Airflow's two retries (30 s, 60 s
        # later) a restart. With the API gone the run fails in about 3 minutes (refused
        # connections; measured by the end-to-end suite), or 7 if requests go unanswered.
        arguments=["--start-date", DAY, "--end-date", NEXT_DAY, "--output-path", RATINGS_FILE,
                   "--host", pipeline_setting("MOVIELENS_API_URL"), "--batch-size", "10000",
                   "--timeout", "20", "--max-retries", "3", "--retry-backoff", "1"],
        secrets=[secret_env("API_USER", "MOVIELENS_API_SECRET", "username"),
                 secret_env("API_PASSWORD", "MOVIELENS_API_SECRET", "password")],
    )

    rank_movies = pipeline_task(
        task_id="rank_movies",
        image=pipeline_setting("MOVIELENS_RANK_IMAGE"),
        arguments=["--input-path", RATINGS_FILE, "--output-path", RANKINGS_FILE, "--min-ratings", "2"],
        # Measured peak: ~120 MB for the largest real day, ~240 MB for 2M ratings (the image's README).
        memory_request="192Mi",
        memory_limit="512Mi",
    )

    load_rankings = pipeline_task(
        task_id="load_rankings",
        image=pipeline_setting("MOVIELENS_LOAD_IMAGE"),
        # A day's load takes about a second: a server silent for 30 s has stopped answering.
        arguments=["--input-path", RANKINGS_FILE, "--ranking-date", DAY, "--query-timeout", "30"],
        env={"MYSQL_HOST": pipeline_setting("MOVIELENS_DB_HOST"),
             "MYSQL_PORT": pipeline_setting("MOVIELENS_DB_PORT"),
             "MYSQL_DATABASE": pipeline_setting("MOVIELENS_DB_NAME")},
        secrets=[secret_env("MYSQL_USER", "MOVIELENS_DB_SECRET", "username"),
                 secret_env("MYSQL_PASSWORD", "MOVIELENS_DB_SECRET", "password")],
        # load-rankings waits up to 300 s for another load's table lock, then its timeouts.
        timeout=timedelta(minutes=15),
    )

    fetch_ratings >> rank_movies >> load_rankings
