"""serve-dags-repo, run for real with the machine's git on 127.0.0.1: an empty repository at
first start, a push and a clone through git://, a forced update accepted, a deletion refused,
and a repository that survives a restart of the server."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[1] / "serve-dags-repo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=cwd,
                          capture_output=True, text=True, check=check, timeout=60)


class Server:
    def __init__(self, root: Path, **env: str):
        self.root, self.port = root, free_port()
        self.process = subprocess.Popen([str(SERVER)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env={**os.environ, "GIT_ROOT": str(root), "GIT_PORT": str(self.port), **env})
        self.url = f"git://127.0.0.1:{self.port}/dags.git"
        deadline = time.monotonic() + 20
        while git("ls-remote", self.url, check=False).returncode != 0:
            assert self.process.poll() is None, self.process.stdout.read()
            assert time.monotonic() < deadline, "serve-dags-repo did not start listening"
            time.sleep(0.2)

    def stop(self) -> str:
        self.process.terminate()
        return self.process.communicate(timeout=10)[0]


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path / "srv")
    yield srv
    srv.stop()


def commit(work: Path, name: str, text: str) -> str:
    (work / name).write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "-qm", f"write {name}", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).stdout.strip()


def test_push_then_clone_through_git_protocol(server, tmp_path):
    assert git("ls-remote", server.url).stdout == ""  # created empty
    work = tmp_path / "work"
    git("init", "-q", "-b", "feature", str(work))
    sha = commit(work, "dag.py", "x = 1\n")
    # the user's branch, whatever its name, lands on main (what `make sync` does)
    git("push", "-q", server.url, "HEAD:refs/heads/main", cwd=work)
    clone = tmp_path / "clone"
    git("clone", "-q", "--branch", "main", server.url, str(clone))
    assert (clone / "dag.py").read_text() == "x = 1\n"
    assert git("rev-parse", "HEAD", cwd=clone).stdout.strip() == sha


def test_forced_update_is_taken_and_deletion_refused(server, tmp_path):
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", str(work))
    commit(work, "dag.py", "x = 1\n")
    git("push", "-q", server.url, "HEAD:refs/heads/main", cwd=work)
    git("commit", "-q", "--amend", "-m", "amended", cwd=work)
    amended = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    git("push", "-q", "--force", server.url, "HEAD:refs/heads/main", cwd=work)
    assert git("ls-remote", server.url, "refs/heads/main").stdout.split()[0] == amended
    deleted = git("push", server.url, ":refs/heads/main", cwd=work, check=False)
    assert deleted.returncode != 0 and "deletion prohibited" in deleted.stderr


def test_the_repository_survives_a_restart(tmp_path):
    root = tmp_path / "srv"
    first = Server(root)
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", str(work))
    sha = commit(work, "dag.py", "x = 1\n")
    git("push", "-q", first.url, "HEAD:refs/heads/main", cwd=work)
    assert "created an empty" in first.stop()
    second = Server(root)
    try:
        assert git("ls-remote", second.url, "refs/heads/main").stdout.split()[0] == sha
    finally:
        assert "created an empty" not in second.stop()


def test_a_repository_name_with_a_path_is_refused(tmp_path):
    result = subprocess.run([str(SERVER)], capture_output=True, text=True, timeout=30,
                            env={**os.environ, "GIT_ROOT": str(tmp_path), "GIT_REPO_NAME": "../escape.git"})
    assert result.returncode == 2
    assert "must be a plain name such as dags.git" in result.stderr
