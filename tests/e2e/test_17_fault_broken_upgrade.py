"""Fault: `helm upgrade` to an Airflow image tag that does not exist, then `helm rollback`.
The running pods keep serving meanwhile; after the rollback the platform is healthy and the
next run succeeds."""

from __future__ import annotations

import time

from tests.e2e.cluster import DAG_ID, RELEASE, ROOT, Health, assert_stable, progress, wait_all_ready, wait_until
from tests.e2e.conftest import record
from tests.e2e.rankings import assert_day_is_right, logical_date_of

DAY = "2019-02-08"


def pulling_fails(release) -> list[str]:
    return [f"{p['metadata']['name']}/{s['name']}" for p in release.pods(f"app.kubernetes.io/instance={RELEASE}")
            for s in Health.statuses(p)
            if s.get("state", {}).get("waiting", {}).get("reason") in ("ErrImagePull", "ImagePullBackOff")]


def test_broken_image_tag_then_rollback(release, airflow, rankings_db, ratings_api, health):
    health.assert_healthy("before the broken upgrade")
    release.helm("upgrade", RELEASE, str(ROOT / "chart"), *release.values, "--set", "airflow.image.tag=0.0.0-missing")
    broken = wait_until("pods failing to pull the missing tag", lambda: pulling_fails(release), 180)
    progress(f"broken upgrade: {broken}")
    started = time.monotonic()
    release.helm("rollback", RELEASE, "--wait", "--timeout", "10m")
    wait_all_ready(health, timeout=600)
    wait_until("no pod left pulling the missing tag", lambda: not pulling_fails(release), 300)
    back = time.monotonic() - started
    _, seconds = airflow.run_dag(DAG_ID, logical_date_of(DAY), timeout=900)
    assert_day_is_right(rankings_db, ratings_api, DAY)
    assert_stable(health)
    record("helm upgrade to a missing image tag, then helm rollback",
           f"old pods kept serving; healthy {back:.0f} s after the rollback; next run succeeded in {seconds:.0f} s",
           back)
    health.checkpoint("rolled back")
