"""Data, logs and MySQL volumes: claims, hostPath PVs, existing claims, mounts."""

from __future__ import annotations

from chart_helpers import FULLNAME, component, container, find, find_all, names, render, worker_pod

LOGS_ON = {"airflow": {"logs": {"persistence": {"enabled": True}}}}

def mounts(c):
    return {m["name"]: m["mountPath"] for m in c["volumeMounts"]}


def test_default_data_claim():
    pvc = find(render(), "PersistentVolumeClaim", f"{FULLNAME}-data")
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert "storageClassName" not in pvc["spec"]


def test_kind_hostpath_pv_like_the_book():
    docs = render(files=["kind.yaml"])
    pv = find(docs, "PersistentVolume", f"airflow-{FULLNAME}-data")
    assert pv["spec"]["storageClassName"] == "manual"
    assert pv["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pv["spec"]["capacity"]["storage"] == "1Gi"
    assert pv["spec"]["hostPath"] == {"path": "/data/movielens", "type": "DirectoryOrCreate"}
    assert pv["spec"]["claimRef"] == {"namespace": "airflow", "name": f"{FULLNAME}-data"}
    pvc = find(docs, "PersistentVolumeClaim", f"{FULLNAME}-data")
    assert pvc["spec"]["storageClassName"] == "manual"
    assert pvc["spec"]["volumeName"] == pv["metadata"]["name"]


def test_existing_and_storage_class_claims():
    docs = render({"pipeline": {"data": {"existingClaim": "shared"}}})
    assert f"{FULLNAME}-data" not in names(docs, "PersistentVolumeClaim")
    docs = render({"pipeline": {"data": {"storageClassName": "fast", "accessMode": "ReadWriteMany", "size": "5Gi"}}})
    pvc = find(docs, "PersistentVolumeClaim", f"{FULLNAME}-data")
    assert pvc["spec"]["storageClassName"] == "fast"
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert not find_all(docs, "PersistentVolume")


def test_logs_volume_shared_by_api_server_and_workers():
    docs = render(LOGS_ON)
    claim = {"persistentVolumeClaim": {"claimName": f"{FULLNAME}-logs"}, "name": "logs"}
    for name in ("api-server", "scheduler", "triggerer", "dag-processor"):
        obj = component(docs, name)
        assert claim in obj["spec"]["template"]["spec"]["volumes"], name
        assert mounts(container(obj, name))["logs"] == "/opt/airflow/logs"
    pod = worker_pod(docs)
    assert claim in pod["spec"]["volumes"]
    assert mounts(container(pod, "base"))["logs"] == "/opt/airflow/logs"
    from chart_helpers import airflow_cfg

    assert airflow_cfg(docs)["logging"]["base_log_folder"] == "/opt/airflow/logs"


def test_logs_claim_options():
    docs = render({"airflow": {"logs": {"persistence": {"enabled": True, "existingClaim": "logs-rwx"}}}})
    assert f"{FULLNAME}-logs" not in names(docs, "PersistentVolumeClaim")
    vols = component(docs, "api-server")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "logs", "persistentVolumeClaim": {"claimName": "logs-rwx"}} in vols
    docs = render({"airflow": {"logs": {"persistence": {"enabled": False}}}})
    vols = component(docs, "api-server")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "logs", "emptyDir": {}} in vols
    docs = render({"airflow": {"logs": {"persistence": {"enabled": True, "hostPath": "/srv/logs"}}}})
    pv = find(docs, "PersistentVolume", f"airflow-{FULLNAME}-logs")
    assert pv["spec"]["hostPath"]["path"] == "/srv/logs"


def test_mysql_hostpath_for_nodes_without_a_provisioner():
    docs = render({"mysql": {"persistence": {"hostPath": "/srv/mysql"}}})
    pv = find(docs, "PersistentVolume", f"airflow-{FULLNAME}-mysql-data")
    assert pv["spec"]["claimRef"]["name"] == f"{FULLNAME}-mysql-data"
