"""Metrics: Airflow's StatsD to the chart's statsd-exporter, Prometheus text on 9102, the
mappings that give the documented names, NetworkPolicies, and a ServiceMonitor only where
the Prometheus Operator's CRD exists."""

from __future__ import annotations

import yaml
from chart_helpers import (
    FULLNAME,
    ROOT,
    airflow_cfg,
    component,
    container,
    find,
    find_all,
    helm,
    names,
    render,
    render_error,
)

EXPORTER = f"{FULLNAME}-statsd"


def test_airflow_sends_statsd_to_the_exporter():
    docs = render()
    assert airflow_cfg(docs)["metrics"] == {"statsd_on": "True", "statsd_host": EXPORTER, "statsd_port": "9125",
                                            "statsd_prefix": "airflow"}
    svc = find(docs, "Service", EXPORTER)
    assert {(p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"]} == {
        ("statsd", 9125, "UDP"), ("metrics", 9102, "TCP")}
    exporter = container(component(docs, "statsd"), "statsd-exporter")
    assert exporter["image"] == "prom/statsd-exporter:v0.28.0"
    assert "--statsd.mapping-config=/etc/statsd-exporter/mappings.yml" in exporter["args"]
    assert exporter["readinessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}


def test_the_mappings_give_the_documented_names():
    docs = render({"metrics": {"prefix": "team_a", "extraMappings": [
        {"match": "team_a.pool.queued_slots.*", "name": "airflow_pool_queued_slots", "labels": {"pool": "$1"}}]}})
    mappings = yaml.safe_load(find(docs, "ConfigMap", EXPORTER)["data"]["mappings.yml"])["mappings"]
    by_match = {m["match"]: m for m in mappings}
    assert by_match["team_a.scheduler_heartbeat"]["name"] == "airflow_scheduler_heartbeat_total"
    assert by_match["team_a.dagrun.duration.*.*"] == {"match": "team_a.dagrun.duration.*.*",
                                                      "name": "airflow_dagrun_duration",
                                                      "labels": {"state": "$1", "dag_id": "$2"}}
    assert by_match["team_a.ti_failures"]["name"] == "airflow_ti_failures_total"
    assert mappings[-1]["name"] == "airflow_pool_queued_slots"  # the user's after the chart's
    assert airflow_cfg(docs)["metrics"]["statsd_prefix"] == "team_a"


def test_metrics_off():
    docs = render({"metrics": {"enabled": False}})
    assert airflow_cfg(docs)["metrics"] == {"statsd_on": "False"}
    assert EXPORTER not in names(docs, "Deployment") | names(docs, "Service") | names(docs, "ConfigMap")


def test_network_policies_let_statsd_through():
    docs = render({"networkPolicies": {"enabled": True},
                   "metrics": {"scrapeFrom": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}]}})
    statsd_egress = {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "rel",
                                                             "app.kubernetes.io/component": "statsd"}}}],
                     "ports": [{"protocol": "UDP", "port": 9125}]}
    for name in ("scheduler", "dag-processor", "triggerer", "api-server", "worker"):
        assert statsd_egress in find(docs, "NetworkPolicy", f"{FULLNAME}-{name}")["spec"]["egress"], name
    ingress = find(docs, "NetworkPolicy", EXPORTER)["spec"]["ingress"]
    assert ingress[0]["ports"] == [{"protocol": "UDP", "port": 9125}]
    assert ingress[1] == {"from": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}],
                          "ports": [{"protocol": "TCP", "port": 9102}]}
    off = render({"networkPolicies": {"enabled": True}, "metrics": {"enabled": False}})
    assert not [e for e in find(off, "NetworkPolicy", f"{FULLNAME}-scheduler")["spec"]["egress"]
                if e.get("ports") == [{"protocol": "UDP", "port": 9125}]]


def service_monitors(*api_versions: str) -> list[dict]:
    import subprocess

    cmd = [helm(), "template", "rel", "chart", "--set", "metrics.serviceMonitor.enabled=true",
           "--set", "metrics.serviceMonitor.labels.release=prometheus"]
    for v in api_versions:
        cmd += ["--api-versions", v]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=str(ROOT)).stdout
    return [d for d in yaml.safe_load_all(out) if d and d["kind"] == "ServiceMonitor"]


def test_a_service_monitor_only_where_its_crd_exists():
    assert service_monitors() == []
    (monitor,) = service_monitors("monitoring.coreos.com/v1/ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s"}]


def test_malformed_metrics_values_are_refused():
    err = render_error(values={"metrics": {"extraMappings": [{"match": "a.*"}]}})
    assert "at '/metrics/extraMappings/0': missing property 'name'" in err
    err = render_error(values={"metrics": {"prefix": "air.flow"}})
    assert "at '/metrics/prefix'" in err
    assert find_all(render(), "ServiceMonitor") == []
