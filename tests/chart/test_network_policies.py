"""NetworkPolicies: deny by default, allow exactly the platform's flows."""

from __future__ import annotations

from chart_helpers import FULLNAME, find, find_all, render

ON = {"networkPolicies": {"enabled": True}}


def policy(docs, name):
    return find(docs, "NetworkPolicy", f"{FULLNAME}-{name}")


def peers(rule):
    return [
        p.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component")
        for p in rule.get("to", rule.get("from", []))
    ]


def ports(rule):
    return sorted(p["port"] for p in rule["ports"])


def test_off_by_default():
    assert not find_all(render(), "NetworkPolicy")


def test_default_deny_for_the_release():
    docs = render(ON)
    deny = policy(docs, "default-deny")
    assert deny["spec"]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/instance": "rel",
        "app.kubernetes.io/name": "movielens-platform",
    }
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]


def test_workers_reach_execution_api_and_kube_api_only():
    docs = render(ON)
    egress = policy(docs, "worker")["spec"]["egress"]
    assert [ports(r) for r in egress] == [[53, 53], [443, 6443], [8080], [9125]]
    assert peers(egress[2]) == ["api-server"] and peers(egress[3]) == ["statsd"]
    assert policy(docs, "worker")["spec"]["ingress"] == []
    api_ingress = policy(docs, "api-server")["spec"]["ingress"]
    assert any(peers(r) == ["worker", "test"] and ports(r) == [8080] for r in api_ingress)


def test_task_pods_reach_movielens_api_and_mysql():
    docs = render(ON)
    tasks = policy(docs, "tasks")
    assert tasks["spec"]["podSelector"]["matchLabels"] == {"kubernetes_pod_operator": "True"}
    egress = tasks["spec"]["egress"]
    assert [ports(r) for r in egress] == [[53, 53], [5000], [3306]]
    assert peers(egress[1]) == ["movielens-api"] and peers(egress[2]) == ["mysql"]
    mysql_from = policy(docs, "mysql")["spec"]["ingress"][0]
    assert ports(mysql_from) == [3306]
    assert {"kubernetes_pod_operator": "True"} in [
        p.get("podSelector", {}).get("matchLabels") for p in mysql_from["from"]
    ]
    assert set(peers(mysql_from)) >= {"scheduler", "dag-processor", "triggerer", "migrate", "api-server", "test"}
    api_from = policy(docs, "movielens-api")["spec"]["ingress"][0]
    assert ports(api_from) == [5000]


def test_components_reach_only_the_database_and_dns():
    docs = render(ON)
    for name, statsd in (("dag-processor", [[9125]]), ("migrate", [])):
        egress = policy(docs, name)["spec"]["egress"]
        assert [ports(r) for r in egress] == [[53, 53], *statsd, [3306]], name
        assert peers(egress[-1]) == ["mysql"]


def test_git_sync_egress_only_when_enabled():
    docs = render(
        {
            **ON,
            "dags": {"gitSync": {"enabled": True}},
        }
    )
    egress = policy(docs, "dag-processor")["spec"]["egress"]
    assert [ports(r) for r in egress][-1] == [22, 443, 9418]
    assert [ports(r) for r in policy(docs, "worker")["spec"]["egress"]][-1] == [22, 443, 9418]


def test_production_values():
    docs = render(files=["production.yaml"])
    api = policy(docs, "api-server")["spec"]["ingress"]
    assert api[0]["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
    sched = policy(docs, "scheduler")["spec"]["egress"]
    assert sched[2]["to"] == [{"ipBlock": {"cidr": "10.0.0.1/32"}}]
    # the metadata database by its own CIDRs and port (PostgreSQL, 5432); no bundled-MySQL policy
    assert sched[3] == {"to": [{"ipBlock": {"cidr": "192.0.2.21/32"}}], "ports": [{"protocol": "TCP", "port": 5432}]}
    assert f"{FULLNAME}-mysql" not in {p["metadata"]["name"] for p in find_all(docs, "NetworkPolicy")}
    # task pods in their own namespace reach the API across namespaces, and the rankings
    # database by its CIDRs and port
    tasks = policy(docs, "tasks")
    assert {"to": [{"ipBlock": {"cidr": "192.0.2.20/32"}}], "ports": [{"protocol": "TCP", "port": 3306}]} in (
        tasks["spec"]["egress"])
    assert tasks["metadata"]["namespace"] == "movielens-tasks"
    api_from = policy(docs, "movielens-api")["spec"]["ingress"][0]["from"][0]
    assert api_from["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "movielens-tasks"}}


def test_external_metadata_beside_the_bundled_mysql():
    """Metadata on an external PostgreSQL, rankings on the bundled MySQL: each flow on its own port."""
    docs = render({"networkPolicies": {"enabled": True, "metadataDatabaseCidrs": ["10.1.2.3/32"]},
                   "airflow": {"externalDatabase": {"enabled": True, "existingSecret": "pg", "port": 5433}}})
    postgres = {"to": [{"ipBlock": {"cidr": "10.1.2.3/32"}}], "ports": [{"protocol": "TCP", "port": 5433}]}
    for name in ("scheduler", "dag-processor", "triggerer", "migrate", "api-server", "test"):
        egress = policy(docs, name)["spec"]["egress"]
        assert postgres in egress, name
        mysql_rules = [e for e in egress if e.get("ports") == [{"protocol": "TCP", "port": 3306}]]
        assert bool(mysql_rules) == (name == "test"), name  # only the login test still talks to MySQL
    mysql_from = policy(docs, "mysql")["spec"]["ingress"][0]["from"]
    components = {p["podSelector"]["matchLabels"].get("app.kubernetes.io/component") for p in mysql_from}
    assert components == {None, "test"}  # task pods (by their own labels) and the helm test
