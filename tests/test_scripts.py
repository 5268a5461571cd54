"""The shared shell library (scripts/lib.sh) and the local node's command line."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "scripts" / "lib.sh"
CLUSTER = ROOT / "scripts" / "local-cluster" / "cluster.sh"


def bash(script: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", f'set -euo pipefail; . "{LIB}"; {script}'], capture_output=True,
                          text=True, check=False, env={"PATH": "/usr/bin:/bin", **env})


def test_render_template_replaces_every_placeholder(tmp_path):
    (tmp_path / "t").write_text("server: https://@HOST@:@PORT@\nname: @HOST@\nliteral: $HOME @not_a_name@\n")
    result = bash(f'HOST=10.0.0.1 PORT=6443; render_template "{tmp_path}/t" "{tmp_path}/out"')
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out").read_text() == (
        "server: https://10.0.0.1:6443\nname: 10.0.0.1\nliteral: $HOME @not_a_name@\n")
    assert not (tmp_path / "out.tmp").exists()


def test_render_template_stops_on_an_unset_variable(tmp_path):
    (tmp_path / "t").write_text("port: @PORT@\n")
    result = bash(f'render_template "{tmp_path}/t" "{tmp_path}/out"')
    assert result.returncode != 0
    assert "nothing sets PORT, which @PORT@ needs" in result.stderr
    assert not (tmp_path / "out").exists()


def test_every_local_cluster_template_placeholder_is_a_setting():
    """What cluster.sh renders names only variables its parts set."""
    names = set()
    for part in (ROOT / "scripts" / "local-cluster" / "lib").glob("*.sh"):
        names |= set(re.findall(r"\b([A-Z][A-Z0-9_]*)=", part.read_text()))
    for template in (ROOT / "scripts" / "local-cluster" / "templates").iterdir():
        used = set(re.findall(r"@([A-Z_][A-Z0-9_]*)@", template.read_text()))
        assert used <= names, (template.name, used - names)


def test_die_names_the_script_and_exits_1():
    result = bash("die 'something is missing'")
    assert result.returncode == 1
    assert result.stderr.strip() == "bash: ERROR: something is missing"


def test_stop_pidfile_stops_the_process_and_removes_the_file(tmp_path):
    sleeper = subprocess.Popen(["sleep", "60"])
    (tmp_path / "sleep.pid").write_text(str(sleeper.pid))
    result = bash(f'stop_pidfile "{tmp_path}/sleep.pid"; pidfile_alive "{tmp_path}/sleep.pid" || echo gone')
    assert result.returncode == 0, result.stderr
    assert "gone" in result.stdout
    assert sleeper.wait(timeout=10) is not None
    assert not (tmp_path / "sleep.pid").exists()


def push(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "scripts" / "dags-repo" / "push.sh"), *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **env})


def test_push_needs_a_namespace_and_a_repository():
    result = push()
    assert result.returncode != 0 and "usage: push.sh NAMESPACE REPO_DIR" in result.stderr


def test_push_refuses_a_repository_without_a_commit(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    result = push("airflow", str(tmp_path / "repo"))
    assert result.returncode == 1
    assert "has no commit to push: commit your DAGs first" in result.stderr


def test_push_names_the_missing_repository_and_how_to_make_it(tmp_path):
    """A cluster without the DAG repository: kubectl answers NotFound (a stand-in kubectl)."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-q",
                    "--allow-empty", "-m", "x"], check=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").write_text("#!/bin/sh\necho 'Error from server (NotFound)' >&2\nexit 1\n")
    (bin_dir / "kubectl").chmod(0o755)
    result = push("team-a", str(repo), PATH=f"{bin_dir}:{os.environ['PATH']}")
    assert result.returncode == 1
    assert "no DAG repository in namespace team-a: run make up (or scripts/dags-repo/deploy.sh team-a)" \
        in result.stderr


def test_cluster_usage_lists_exactly_the_commands_it_has():
    result = subprocess.run([str(CLUSTER), "help"], capture_output=True, text=True, check=True)
    listed = set(re.findall(r"^  cluster\.sh (\S+)", result.stdout, re.M))
    defined = {name.replace("_", "-") for name in re.findall(r"^cmd_([a-z_]+)\(\)", CLUSTER.read_text(), re.M)}
    assert listed == defined
    assert {"up", "down", "status", "bin-dir", "import-image", "restart-runtime"} <= listed


def test_cluster_refuses_an_unknown_command_with_the_usage():
    result = subprocess.run([str(CLUSTER), "load"], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "cluster.sh import-image FILE.tar..." in result.stderr


def test_no_caller_hard_codes_the_kubernetes_version():
    settings = ROOT / "scripts" / "local-cluster" / "lib" / "settings.sh"
    version = re.search(r'^KUBE_VERSION="(v[0-9.]+)"', settings.read_text(), re.M)[1]
    holders = [p for p in [*ROOT.glob("scripts/**/*.sh"), *ROOT.glob("tests/e2e/*.py")]
               if version in p.read_text() and p != settings]
    assert not holders, holders
