"""Each image folder stands alone: a lint-clean Dockerfile, pinned requirements, its own dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALL_IMAGES = sorted(p for p in (ROOT / "images").iterdir() if (p / "Dockerfile").exists())
IMAGES = [p for p in ALL_IMAGES if p.name.startswith("movielens-")]  # the pipeline's own images
DATAFRAME_ENGINES = {"polars", "polars-runtime-32", "pandas", "pyarrow"}


def requirements(image: Path) -> dict[str, str]:
    pins = {}
    for line in (image / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"{image.name}/requirements.txt: {line!r} is not pinned with =="
            pins[name.lower()] = version
    return pins


def test_the_images_exist():
    assert [p.name for p in ALL_IMAGES] == ["airflow", "dags-git-server", "movielens-api", "movielens-fetch",
                                            "movielens-load", "movielens-rank"]


@pytest.mark.parametrize("image", IMAGES, ids=lambda p: p.name)
def test_dockerfile_contract(image):
    text = (image / "Dockerfile").read_text()
    base = re.search(r"^ARG BASE_IMAGE=(\S+)$", text, re.M)
    assert base and re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+", base.group(1)), "pinned official slim base"
    assert "FROM ${BASE_IMAGE}" in text
    user = re.findall(r"^USER (\S+)$", text, re.M)
    assert user and user[-1].split(":")[0] not in ("0", "root")
    scripts = tomllib.loads((image / "pyproject.toml").read_text())["project"]["scripts"]
    entrypoint = re.search(r'^ENTRYPOINT \["([^"]+)"\]$', text, re.M).group(1)
    assert entrypoint in scripts
    assert "--requirement requirements.txt" in text and "--no-deps" in text


@pytest.mark.parametrize("image", IMAGES, ids=lambda p: p.name)
def test_requirements_are_pinned_and_cover_the_package(image):
    pins = requirements(image)
    declared = tomllib.loads((image / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in declared:
        name, _, version = dep.partition("==")
        assert pins.get(name.lower()) == version, f"{image.name}: {dep} differs from requirements.txt"


@pytest.mark.parametrize("image", IMAGES, ids=lambda p: p.name)
def test_requirements_match_the_tested_environment(image):
    from importlib.metadata import PackageNotFoundError, version

    for name, pinned in requirements(image).items():
        try:
            assert version(name) == pinned, f"{image.name} ships {name}=={pinned}, tests ran {version(name)}"
        except PackageNotFoundError:
            pytest.fail(f"{name} of {image.name} is not installed in the test environment")


@pytest.mark.parametrize("name", ["movielens-fetch", "movielens-load", "movielens-api"])
def test_no_dataframe_engine_outside_rank(name):
    assert not DATAFRAME_ENGINES & set(requirements(ROOT / "images" / name))


def test_the_dags_git_server_stands_alone():
    """Served to the cluster by its own manifest, the tag the build scripts share."""
    image = ROOT / "images" / "dags-git-server"
    text = (image / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11\.\d+-slim-bookworm$", text, re.M)
    assert re.search(r"^USER 65532:65532$", text, re.M) and 'ENTRYPOINT ["serve-dags-repo"]' in text
    manifest = (image / "dags-git-server.yaml").read_text()
    assert "image: @IMAGE@" in manifest and "runAsUser: 65532" in manifest
    lib = (ROOT / "scripts" / "lib.sh").read_text()
    assert "DAGS_GIT_SERVER_IMAGE=${DAGS_GIT_SERVER_IMAGE:-dags-git-server:0.1.0}" in lib


def test_rank_carries_no_http_or_database_client():
    assert not {"requests", "pymysql", "urllib3"} & set(requirements(ROOT / "images" / "movielens-rank"))


def test_airflow_image_is_pinned_like_the_development_environment():
    from importlib.metadata import version

    image = ROOT / "images" / "airflow"
    wanted = dict(line.split("==") for line in (image / "requirements.txt").read_text().split())
    frozen = {}
    for line in (image / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            assert pinned, f"constraints.txt: {line!r} is not pinned"
            frozen[name.lower().replace("_", "-")] = pinned
    assert wanted == {"apache-airflow[mysql,postgres,statsd]": "3.3.2",
                      "apache-airflow-providers-cncf-kubernetes": "10.25.0",
                      "apache-airflow-providers-fab": "3.10.2",
                      "apache-airflow-providers-git": "1.0.1"}
    # the FAB provider and its Flask stack: the chart's default auth manager, and the user sync
    # that tests/test_sync_fab_users.py runs with the development environment's copy
    for name in ("apache-airflow", "apache-airflow-providers-cncf-kubernetes", "kubernetes",
                 "apache-airflow-providers-fab", "flask-appbuilder", "flask", "werkzeug", "sqlalchemy"):
        assert frozen[name] == version(name), f"the image's {name} differs from the one the tests run"
    # the git DAG bundle, which tests/test_dag_bundle.py runs with the development environment's copy
    for name in ("apache-airflow-providers-git", "gitpython"):
        assert frozen[name] == version(name), f"the image's {name} differs from the one the tests run"
    assert re.search(r"apt-get install [^\n]*\bgit\b", (image / "Dockerfile").read_text()), "GitPython needs git"
    assert {"mysqlclient", "aiomysql", "apache-airflow-providers-mysql"} <= set(frozen)
    # PostgreSQL for the metadata, sync and async drivers (Airflow derives postgresql+asyncpg://)
    assert {"psycopg2-binary", "asyncpg", "apache-airflow-providers-postgres"} <= set(frozen)
    # the StatsD client behind [metrics] statsd_on (the chart's metrics)
    assert "statsd" in frozen
    text = (image / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11\.\d+-slim-bookworm$", text, re.M)
    assert re.search(r"^USER 50000$", text, re.M) and "AIRFLOW_HOME=/opt/airflow" in text


def test_fetch_host_default_is_the_dags_api_url(monkeypatch):
    """Run outside the chart, fetch-ratings and the DAG look for the API at the same place."""
    import ast

    monkeypatch.delenv("API_HOST", raising=False)
    module = ast.parse((ROOT / "dags" / "container_tasks.py").read_text())
    defaults = next(ast.literal_eval(n.value) for n in module.body
                    if isinstance(n, ast.Assign) and [t.id for t in n.targets] == ["PIPELINE_DEFAULTS"])
    from movielens_fetch.cli import build_parser

    args = build_parser().parse_args(["--start-date", "2019-01-01", "--end-date", "2019-01-02", "--output-path", "x"])
    assert args.host == defaults["MOVIELENS_API_URL"]


def test_api_default_data_path_is_the_images():
    dockerfile = (ROOT / "images" / "movielens-api" / "Dockerfile").read_text()
    in_image = re.search(r"RATINGS_DIR=(\S+)", dockerfile)[1]
    app = (ROOT / "images" / "movielens-api" / "movielens_api" / "app.py").read_text()
    assert f'os.environ.get("RATINGS_DIR", "{in_image}")' in app
