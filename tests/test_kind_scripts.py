"""The kind path's steps that run without kind (this machine has no kind and no registry):
loading an image with the archive fallback, the image tag flowing into the helm values and
rolling the API when its image changes, and the cluster config's data mount and UI port.
kind and docker are stand-in programs on PATH that record their calls; helm is real."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.chart.chart_helpers import render

ROOT = Path(__file__).resolve().parents[1]


def stub(bin_dir: Path, name: str, script: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text("#!/bin/bash\n" + script)
    path.chmod(0o755)


def kind_bash(code: str, bin_dir: Path, **env: str) -> subprocess.CompletedProcess:
    source = f'. "{ROOT}/scripts/lib.sh"; . "{ROOT}/scripts/kind/images.sh"; '
    return subprocess.run(["bash", "-euo", "pipefail", "-c", source + code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", **env})


def recording_tools(tmp_path: Path, docker_image_load_works: bool, archive_load_works: bool = True) -> Path:
    calls, bin_dir = tmp_path / "calls", tmp_path / "bin"
    # the failure Docker's containerd image store gives (kind issue 3795)
    refused = 'echo "ERROR: content digest sha256:1 not found" >&2; exit 1'
    stub(bin_dir, "kind", f'''echo "kind $*" >> {calls}
case "$2" in
  docker-image) {"exit 0" if docker_image_load_works else refused} ;;
  image-archive) [ -s "$3" ] || exit 3; {"exit 0" if archive_load_works else "exit 1"} ;;
esac
''')
    stub(bin_dir, "docker", f'''echo "docker $*" >> {calls}
case "$1 $2" in
  "save "*) echo archive > "$4" ;;
  "image inspect") [ "${{@: -1}}" = "movielens-api:missing" ] && exit 1; echo sha256:0123abcd ;;
esac
''')
    return calls


def test_an_image_loads_directly_when_kind_can(tmp_path):
    calls = recording_tools(tmp_path, docker_image_load_works=True)
    result = kind_bash("kind_load_image movielens movielens-api:0.2.0", tmp_path / "bin")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded movielens-api:0.2.0"
    assert calls.read_text().splitlines() == ["kind load docker-image movielens-api:0.2.0 --name movielens"]


def test_the_archive_fallback_when_docker_image_fails(tmp_path):
    calls = recording_tools(tmp_path, docker_image_load_works=False)
    result = kind_bash("kind_load_image movielens movielens-api:0.2.0", tmp_path / "bin", TMPDIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "through an archive" in result.stdout
    first, save, load = calls.read_text().splitlines()
    assert first == "kind load docker-image movielens-api:0.2.0 --name movielens"
    archive = save.split(" -o ")[1]
    assert save == f"docker save movielens-api:0.2.0 -o {archive}"
    assert load == f"kind load image-archive {archive} --name movielens"
    assert not Path(archive).exists()  # the archive is removed after the load


def test_both_loads_failing_stop_with_the_image_named(tmp_path):
    recording_tools(tmp_path, docker_image_load_works=False, archive_load_works=False)
    result = kind_bash("kind_load_image movielens movielens-api:0.2.0", tmp_path / "bin", TMPDIR=str(tmp_path))
    assert result.returncode == 1
    assert "could not load movielens-api:0.2.0 into kind cluster 'movielens'" in result.stderr
    assert not list(tmp_path.glob("kind-image.*"))


def test_the_image_tag_reaches_every_image_and_a_new_build_rolls_the_api(tmp_path):
    recording_tools(tmp_path, docker_image_load_works=True)
    result = kind_bash('image_values 0.2.0', tmp_path / "bin")
    assert result.returncode == 0, result.stderr
    args = result.stdout.splitlines()
    docs = render(files=["kind.yaml"], sets=[a for a in args if a != "--set-string"])
    api = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("-movielens-api"))
    template = api["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == "movielens-api:0.2.0"
    assert template["metadata"]["annotations"]["movielens-platform/image-id"] == "0123abcd"
    pipeline = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-pipeline"))
    images = [v for k, v in pipeline["data"].items() if k.endswith("_IMAGE")]
    assert images and all(v.endswith(":0.2.0") for v in images), pipeline["data"]


def test_image_values_names_a_missing_build(tmp_path):
    recording_tools(tmp_path, docker_image_load_works=True)
    result = kind_bash("image_values missing", tmp_path / "bin")
    assert result.returncode == 1
    assert "no image movielens-api:missing: build it first" in result.stderr


def test_the_cluster_config_mounts_the_data_and_publishes_the_ui(tmp_path):
    out = tmp_path / "cluster.yaml"
    code = (f'. "{ROOT}/scripts/lib.sh"; . "{ROOT}/scripts/kind/tools.sh"; KIND_NODE_IMAGE=$KIND_NODE_IMAGE_PINNED '
            f'DATA_DIR=/srv/data LOCAL_PORT=18080 render_template "{ROOT}/scripts/kind/cluster.yaml" "{out}"')
    result = subprocess.run(["bash", "-c", code], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    node = yaml.safe_load(out.read_text())["nodes"][0]
    assert re.fullmatch(r"kindest/node:v1\.\d+\.\d+@sha256:[0-9a-f]{64}", node["image"])  # pinned by digest
    assert node["extraMounts"] == [{"hostPath": "/srv/data", "containerPath": "/data/movielens"}]
    assert node["extraPortMappings"] == [{"containerPort": 30080, "hostPort": 18080, "listenAddress": "127.0.0.1",
                                          "protocol": "TCP"}]
    # the port the cluster publishes is the NodePort values/kind.yaml gives the api-server, and
    # the data PersistentVolume's hostPath is the folder the node mounts
    kind_values = yaml.safe_load((ROOT / "values" / "kind.yaml").read_text())
    assert kind_values["airflow"]["apiServer"]["service"] == {"type": "NodePort", "nodePort": 30080}
    assert kind_values["pipeline"]["data"]["hostPath"] == node["extraMounts"][0]["containerPath"]


def tools(tmp_path: Path, kind: str = "v0.33.0", helm: str = "v3.19.0", docker: str = "27.3.1",
          kubectl: str = "v1.35.2", without: tuple[str, ...] = ()) -> Path:
    bin_dir = tmp_path / "tools"
    answers = {
        "kind": f'echo "kind {kind} go1.25.1 linux/amd64"',
        "helm": f'echo "{helm}"',
        "docker": f'[ "$1" = info ] && exit 0; echo "{docker}"',
        "kubectl": "echo " + shlex.quote(json.dumps({"clientVersion": {"gitVersion": kubectl}})),
    }
    for name, answer in answers.items():
        if name not in without:
            stub(bin_dir, name, answer + "\n")
    return bin_dir


def check(bin_dir: Path, **env: str) -> subprocess.CompletedProcess:
    code = f'. "{ROOT}/scripts/lib.sh"; . "{ROOT}/scripts/kind/tools.sh"; check_kind_tools'
    return subprocess.run(["bash", "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", **env})


def test_the_tools_pass_when_present_and_recent(tmp_path):
    result = check(tools(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "kind v0.33.0" in result.stdout


def test_kind_must_be_the_release_of_the_pinned_node_image(tmp_path):
    result = check(tools(tmp_path, kind="v0.31.0"))
    assert result.returncode == 1
    assert "kind v0.31.0 found; the pinned node image is built for kind v0.33.0" in result.stderr
    assert "KIND_NODE_IMAGE" in result.stderr
    # with an image of their own, users keep their kind
    assert check(tools(tmp_path, kind="v0.31.0"), KIND_NODE_IMAGE="kindest/node:v1.33.1@sha256:" + "0" * 64
                 ).returncode == 0


@pytest.mark.parametrize("tool, version, message", [
    ("helm", "v3.10.3", "helm v3.10.3 is too old: 3.12.0 or newer is needed"),
    ("docker", "20.10.24", "docker 20.10.24 is too old: 23.0.0 or newer is needed"),
    ("kubectl", "v1.30.0", "kubectl v1.30.0 is too old: 1.33.0 or newer is needed"),
])
def test_a_too_old_tool_is_named_with_the_version_needed(tmp_path, tool, version, message):
    result = check(tools(tmp_path, **{tool: version}))
    assert result.returncode == 1
    assert message in result.stderr


def test_missing_tools_are_listed_together(tmp_path):
    result = check(tools(tmp_path, without=("kind", "helm")))
    assert result.returncode == 1
    assert "missing: kind helm. Install them first" in result.stderr


def e2e_kubeconfig(tmp_path: Path, clusters: str | None) -> subprocess.CompletedProcess:
    """scripts/kind/e2e-kubeconfig.sh with a stand-in kind that knows CLUSTERS (None: no kind)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if clusters is not None:
        stub(bin_dir, "kind", f'''case "$1 $2" in
  "get clusters") printf '%s\\n' {clusters} ;;
  "get kubeconfig") echo "kubeconfig of $4" ;;
esac
''')
    path = f"{bin_dir}:/usr/bin:/bin"
    return subprocess.run([str(ROOT / "scripts" / "kind" / "e2e-kubeconfig.sh"), str(tmp_path / "work")],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "PATH": path})


def test_make_e2e_finds_the_kind_cluster_of_make_up(tmp_path):
    result = e2e_kubeconfig(tmp_path, "other movielens")
    assert result.returncode == 0, result.stderr
    config = Path(result.stdout.strip())
    assert config == tmp_path / "work" / "kind-kubeconfig"
    assert config.read_text() == "kubeconfig of movielens\n"


@pytest.mark.parametrize("clusters", [None, "", "other"])
def test_make_e2e_without_that_kind_cluster_prints_nothing(tmp_path, clusters):
    result = e2e_kubeconfig(tmp_path, clusters)
    assert (result.returncode, result.stdout) == (0, "")
    assert not (tmp_path / "work" / "kind-kubeconfig").exists()
