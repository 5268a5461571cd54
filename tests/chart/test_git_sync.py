"""git-sync: sidecar where DAGs are parsed, init container in worker pods, paths, credentials."""

from __future__ import annotations

from chart_helpers import (
    FULLNAME,
    airflow_cfg,
    component,
    container,
    env_of,
    env_values,
    find,
    find_all,
    render,
    worker_pod,
)

GIT = {
    "dags": {
        "gitSync": {
            "enabled": True,
            "repo": "https://git.example.com/org/dags.git",
            "ref": "v1.2.0",
            "subPath": "dags",
            "period": "45s",
            "depth": 2,
            "maxFailures": 7,
        }
    }
}


def names_of(containers):
    return [c["name"] for c in containers or []]


def test_git_sync_off_dags_from_image():
    docs = render()
    assert airflow_cfg(docs)["core"]["dags_folder"] == "/opt/airflow/dags"
    for name in ("scheduler", "dag-processor", "triggerer", "api-server"):
        spec = component(docs, name)["spec"]["template"]["spec"]
        assert "git-sync" not in names_of(spec["containers"])
        assert "dags" not in {v["name"] for v in spec["volumes"]}
    pod = worker_pod(docs)
    assert "initContainers" not in pod["spec"]


def test_git_sync_sidecar_in_dag_processor_only():
    docs = render(GIT)
    dp = component(docs, "dag-processor")["spec"]["template"]["spec"]
    assert names_of(dp["containers"]) == ["dag-processor", "git-sync"]
    for name in ("scheduler", "triggerer", "api-server"):
        assert "git-sync" not in names_of(component(docs, name)["spec"]["template"]["spec"]["containers"]), name
    # optional in the triggerer
    tr = component(render({"dags": {"gitSync": {"enabled": True, "triggererSidecar": True}}}), "triggerer")
    assert "git-sync" in names_of(tr["spec"]["template"]["spec"]["containers"])


def test_git_sync_settings_and_paths():
    docs = render(GIT)
    sidecar = container(component(docs, "dag-processor"), "git-sync")
    assert sidecar["image"] == "registry.k8s.io/git-sync/git-sync:v4.7.1"
    env = env_values(sidecar)
    assert env["GITSYNC_REPO"] == "https://git.example.com/org/dags.git"
    assert env["GITSYNC_REF"] == "v1.2.0"
    assert env["GITSYNC_PERIOD"] == "45s"
    assert env["GITSYNC_DEPTH"] == "2"
    assert env["GITSYNC_MAX_FAILURES"] == "7"
    assert env["GITSYNC_ONE_TIME"] == "false"
    # the folder Airflow reads is git-sync's root/link/subPath
    dags_folder = airflow_cfg(docs)["core"]["dags_folder"]
    assert dags_folder == f"{env['GITSYNC_ROOT']}/{env['GITSYNC_LINK']}/dags"
    # both containers mount the same volume at the root; Airflow read-only
    sidecar_mount = [m for m in sidecar["volumeMounts"] if m["name"] == "dags"][0]
    assert sidecar_mount["mountPath"] == env["GITSYNC_ROOT"]
    main_mount = [
        m for m in container(component(docs, "dag-processor"), "dag-processor")["volumeMounts"] if m["name"] == "dags"
    ][0]
    assert main_mount == {"name": "dags", "mountPath": env["GITSYNC_ROOT"], "readOnly": True}


def test_git_sync_root_subpath_and_no_subpath():
    docs = render({"dags": {"gitSync": {"enabled": True, "subPath": ""}}})
    assert airflow_cfg(docs)["core"]["dags_folder"] == "/opt/airflow/git/repo"
    docs = render({"dags": {"gitSync": {"enabled": True, "subPath": "/pipelines/dags/"}}})
    assert airflow_cfg(docs)["core"]["dags_folder"] == "/opt/airflow/git/repo/pipelines/dags"


def test_worker_pods_sync_once_before_running():
    docs = render(GIT)
    pod = worker_pod(docs)
    init = pod["spec"]["initContainers"]
    assert names_of(init) == ["git-sync-init"]
    env = env_values(init[0])
    assert env["GITSYNC_ONE_TIME"] == "true"
    assert env["GITSYNC_REF"] == "v1.2.0"
    base_mounts = {m["name"]: m for m in container(pod, "base")["volumeMounts"]}
    assert base_mounts["dags"]["mountPath"] == env["GITSYNC_ROOT"]
    assert any(v["name"] == "dags" and "emptyDir" in v for v in pod["spec"]["volumes"])


def test_https_credentials_from_secret():
    docs = render(
        {
            "dags": {
                "gitSync": {
                    "enabled": True,
                    "credentialsSecret": "git-creds",
                    "usernameKey": "user",
                    "passwordKey": "token",
                }
            }
        }
    )
    for c in (container(component(docs, "dag-processor"), "git-sync"), worker_pod(docs)["spec"]["initContainers"][0]):
        env = env_of(c)
        assert env["GITSYNC_USERNAME"]["valueFrom"]["secretKeyRef"] == {"name": "git-creds", "key": "user"}
        assert env["GITSYNC_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "git-creds", "key": "token"}


def test_ssh_key_and_known_hosts():
    known = "example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample"
    docs = render(
        {
            "dags": {
                "gitSync": {
                    "enabled": True,
                    "repo": "git@example.com:o/d.git",
                    "sshKeySecret": "git-ssh",
                    "knownHosts": known,
                }
            }
        }
    )
    cm = find(docs, "ConfigMap", f"{FULLNAME}-git-known-hosts")
    assert cm["data"]["known_hosts"].strip() == known
    sidecar = container(component(docs, "dag-processor"), "git-sync")
    env = env_values(sidecar)
    assert env["GITSYNC_SSH_KEY_FILE"] == "/etc/git-secret/ssh"
    assert env["GITSYNC_SSH_KNOWN_HOSTS"] == "true"
    assert env["GITSYNC_SSH_KNOWN_HOSTS_FILE"] == "/etc/git-known-hosts/known_hosts"
    vols = {v["name"]: v for v in component(docs, "dag-processor")["spec"]["template"]["spec"]["volumes"]}
    assert vols["git-ssh-key"]["secret"]["secretName"] == "git-ssh"
    assert vols["git-ssh-key"]["secret"]["items"] == [{"key": "ssh-privatekey", "path": "ssh"}]
    # without known_hosts, checking is off (and no ConfigMap)
    docs = render({"dags": {"gitSync": {"enabled": True, "sshKeySecret": "git-ssh"}}})
    assert env_values(container(component(docs, "dag-processor"), "git-sync"))["GITSYNC_SSH_KNOWN_HOSTS"] == "false"
    assert f"{FULLNAME}-git-known-hosts" not in {c["metadata"]["name"] for c in find_all(docs, "ConfigMap")}


def test_git_sync_runs_as_its_own_non_root_user():
    sidecar = container(component(render(GIT), "dag-processor"), "git-sync")
    assert sidecar["securityContext"]["runAsUser"] == 65533
    assert sidecar["securityContext"]["readOnlyRootFilesystem"] is True
    assert {m["mountPath"] for m in sidecar["volumeMounts"]} >= {"/tmp", "/opt/airflow/git"}
