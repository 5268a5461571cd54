"""The platform served under a subpath: with [api] base_url = http://localhost:8080/airflow/
the api-server answers under /airflow, its probes keep the pods ready, and the workers reach
the execution API there (a DAG run succeeds). The release goes back to the root after."""

from __future__ import annotations

from tests.e2e.cluster import DAG_ID, FULLNAME, progress, wait_all_ready
from tests.e2e.conftest import FIGURES
from tests.e2e.rankings import assert_day_is_right, logical_date_of

SUBPATH = "/airflow"
DAY = "2019-07-01"


def test_the_platform_under_a_subpath(release, airflow, health, rankings_db, ratings_api):
    health.assert_healthy("before serving under a subpath")
    try:
        progress(f"helm upgrade: [api] base_url under {SUBPATH}")
        FIGURES["upgrade_to_subpath_s"] = round(
            release.install("--set", f"airflow.config.api.base_url=http://localhost:8080{SUBPATH}/"), 1)
        airflow.prefix = SUBPATH
        airflow.login()
        assert airflow.get("/monitor/health")["metadatabase"]["status"] == "healthy"
        api_server = release.json("get", "deployment", f"{FULLNAME}-api-server")
        probes = api_server["spec"]["template"]["spec"]["containers"][0]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert probes[probe]["httpGet"]["path"] == f"{SUBPATH}/api/v2/monitor/health"
        cfg = release.json("get", "configmap", f"{FULLNAME}-config")["data"]["airflow.cfg"]
        assert f"execution_api_server_url = http://{FULLNAME}-api-server:8080{SUBPATH}/execution/" in cfg
        # the workers report through the execution API under the subpath
        run_id, seconds = airflow.run_dag(DAG_ID, logical_date_of(DAY))
        progress(f"run {run_id} under {SUBPATH}: {seconds:.1f} s")
        assert_day_is_right(rankings_db, ratings_api, DAY)
    finally:
        progress("helm upgrade: back to the root")
        release.install()
        airflow.prefix = ""
        airflow.login()
    wait_all_ready(health)
    assert airflow.get("/monitor/health")["scheduler"]["status"] == "healthy"
    health.checkpoint("served under a subpath and back")
