"""`cxp serve`: refuses a missing or an uninitialised database with one line (exit 2); on an
initialised SQLite database it serves the API, whose /api/health answers, until it is terminated."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def _env(folder: Path, url: str) -> dict[str, str]:
    return {**os.environ, "CXP_DATABASE_URL": url, "CXP_FILES_DIR": str(folder / "files")}


def _cxp(folder: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workflows.cli.app", *args], cwd=folder, env=_env(folder, url),
                          capture_output=True, text=True, timeout=120)


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    return done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_refuses_a_database_that_does_not_exist(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/missing/cxp.db"
    _one_line_error(_cxp(tmp_path, url, "serve", "--port", str(_free_port())))
    assert not (tmp_path / "missing" / "cxp.db").exists()


def test_serve_refuses_a_database_that_was_never_initialised(tmp_path: Path) -> None:
    (tmp_path / "cxp.db").touch()
    message = _one_line_error(_cxp(tmp_path, f"sqlite:///{tmp_path}/cxp.db", "serve", "--port", str(_free_port())))
    assert "CXP_DATABASE_URL" in message


@pytest.mark.parametrize(("extra", "named"), [
    ({}, "CXP_SECRET_KEY"),
    ({"CXP_SECRET_KEY": "short", "CXP_AUDIT_KEY": "an-audit-key-of-production"}, "at least 16 characters"),
])
def test_serve_refuses_production_mode_without_its_own_secrets(tmp_path: Path, extra: dict[str, str],
                                                             named: str) -> None:
    url = f"sqlite:///{tmp_path}/cxp.db"
    assert _cxp(tmp_path, url, "init").returncode == 0
    done = subprocess.run([sys.executable, "-m", "workflows.cli.app", "serve", "--port", str(_free_port())],
                          cwd=tmp_path, env={**_env(tmp_path, url), "CXP_MODE": "production", **extra},
                          capture_output=True, text=True, timeout=120)
    assert named in _one_line_error(done)


def test_serve_answers_health_on_an_initialised_database_until_terminated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cxp.db"
    assert _cxp(tmp_path, url, "init").returncode == 0
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "workflows.cli.app", "serve", "--port", str(port)],
                              cwd=tmp_path, env=_env(tmp_path, url), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        answer = None
        deadline = time.monotonic() + 60
        while answer is None and server.poll() is None and time.monotonic() < deadline:  # readiness
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5)
            except httpx.TransportError:
                time.sleep(0.1)
        assert answer is not None, f"cxp serve did not answer (exit {server.poll()})"
        assert answer.status_code == 200 and answer.json()["ok"] is True and answer.json()["database"] == "sqlite"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
    assert server.returncode is not None
