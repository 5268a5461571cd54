"""Load and time: two weeks of 2019 triggered at once, then runs one after another until
the soak (which starts with the load) has lasted five [scheduler] parsing_cleanup_intervals
or 5 minutes, whichever is longer. Every day's rows must equal the independent ranking, and
the health invariants (no restarts, no errors logged) must hold from the install to the end
of the soak.
"""

from __future__ import annotations

import configparser
import time
from datetime import date, timedelta

from tests.e2e.cluster import DAG_ID, FULLNAME, progress
from tests.e2e.conftest import FIGURES
from tests.e2e.rankings import assert_day_is_right, logical_date_of

LOAD_DAYS = [(date(2019, 1, 4) + timedelta(days=i)).isoformat() for i in range(14)]
SOAK_DAYS = [(date(2019, 1, 18) + timedelta(days=i)).isoformat() for i in range(14)]
SOAK: dict[str, float] = {}


def parsing_cleanup_interval(release) -> float:
    cfg = configparser.ConfigParser()
    cfg.read_string(release.json("get", "configmap", f"{FULLNAME}-config")["data"]["airflow.cfg"])
    return cfg.getfloat("scheduler", "parsing_cleanup_interval", fallback=60.0)


def test_healthy_after_the_platform_tests(health):
    health.assert_healthy("after install, helm test, runs, git-sync and upgrade")


def test_two_weeks_at_once(airflow, rankings_db, ratings_api, health):
    started = SOAK["started"] = time.monotonic()
    runs = {day: airflow.trigger(DAG_ID, logical_date_of(day)) for day in LOAD_DAYS}
    progress(f"triggered {len(runs)} runs at once ({LOAD_DAYS[0]} .. {LOAD_DAYS[-1]})")
    for run_id in runs.values():
        airflow.wait_for_run(DAG_ID, run_id, timeout=1800)
    wall = time.monotonic() - started
    FIGURES["two_weeks_at_once_s"] = round(wall, 1)
    FIGURES["two_weeks_runs_per_minute"] = round(len(runs) / wall * 60, 2)
    progress(f"{len(runs)} runs in {wall:.0f} s ({len(runs) / wall * 60:.1f} runs/min)")
    for day in LOAD_DAYS:
        assert_day_is_right(rankings_db, ratings_api, day)
    health.assert_healthy("after two weeks at once")


def test_soak(release, airflow, rankings_db, ratings_api, health):
    """Runs go on until the scheduler's periodic work (the asset orphanage check among it)
    has run at least five times since the load began."""
    length = max(300.0, 5 * parsing_cleanup_interval(release))
    started = SOAK.get("started", time.monotonic())
    days, done = iter(SOAK_DAYS), []
    while time.monotonic() - started < length or not done:
        day = next(days)
        _, seconds = airflow.run_dag(DAG_ID, logical_date_of(day))
        done.append(day)
        progress(f"soak: {day} in {seconds:.0f} s, {time.monotonic() - started:.0f} of {length:.0f} s")
    FIGURES["soak_s"] = round(time.monotonic() - started, 1)
    FIGURES["soak_runs_after_the_load"] = len(done)
    for day in done:
        assert_day_is_right(rankings_db, ratings_api, day)
    health.assert_healthy(f"after a {FIGURES['soak_s']:.0f} s soak")
