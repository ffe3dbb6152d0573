"""Thirty guesses sent at once to `cxp serve --workers 2` (two uvicorn worker processes on one
database, SQLite and PostgreSQL) reach the password check no more often than thirty sent one by one
(issue 18, point 2): the count is taken atomically in the database, whichever process takes the
request. Before, all 30 were checked on PostgreSQL.

The server runs with `CXP_LOGIN_LOCKOUT_AFTER=3`: after three failures the username is locked for 15
minutes, so the limit does not depend on how long the requests take (on the real wall clock of the
server's processes). How many were checked is read from the audit trail (`wrong_password` events)."""
from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from workflows.app import App
from workflows.db.process_models import AuditEvent
from workflows.services.access import SYSTEM
from workflows.services.accounts import add_user
from workflows.services.setup import init_database
from workflows.settings import Settings

pytestmark = pytest.mark.slow

GUESSES = 30
PORTS = range(8200, 8300)
STARTED = "Application startup complete"


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[tuple[str, App]]:
    """The base URL of `cxp serve --workers 2` on an initialised database with two auditors (password
    "password123"), and an application on the same database to read it."""
    app = App(Settings(database_url=database_url, files_dir=tmp_path / "files"))
    init_database(app)
    for name in ("serial", "parallel"):
        add_user(app, SYSTEM, name, name.title(), f"{name}@cx.local", "auditor", password="password123")
    port = _free_port()
    env = {**os.environ, "CXP_DATABASE_URL": database_url, "CXP_FILES_DIR": str(tmp_path / "files"),
           "CXP_LOGIN_SLOWDOWN_AFTER": "3", "CXP_LOGIN_LOCKOUT_AFTER": "3"}
    process = subprocess.Popen([sys.executable, "-m", "workflows.cli.app", "serve", "--workers", "2", "--port",
                                str(port)], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(process.stderr, lines), daemon=True).start()
    try:
        started, deadline, seen = 0, time.monotonic() + 120, []
        while started < 2:  # both workers have started their application (bounded by the deadline)
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.001))
            seen.append(line)
            started += STARTED in line
        yield f"http://127.0.0.1:{port}", app
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        app.close()


def _guess(client: httpx.Client, base: str, username: str) -> tuple[int, str | None]:
    answer = client.post(f"{base}/api/auth/token", data={"username": username, "password": "a wrong guess"})
    assert answer.headers["content-type"] == "application/json", answer.text
    return answer.status_code, answer.headers.get("retry-after")


def _checked(app: App, username: str) -> int:
    with app.uow() as uow:
        return sum(1 for after in uow.session.scalars(select(AuditEvent.data_after).where(
            AuditEvent.action == "login_failed", AuditEvent.subject == f"user:{username}"))
            if after["reason"] == "wrong_password")


def test_thirty_parallel_guesses_to_two_worker_processes_are_checked_as_often_as_serial_ones(
        server: tuple[str, App]) -> None:
    base, app = server
    transport = httpx.HTTPTransport(retries=3)  # a worker that is still opening its socket
    with httpx.Client(transport=transport, timeout=120) as client:
        serial = [_guess(client, base, "serial") for _ in range(GUESSES)]
    start = threading.Barrier(GUESSES)
    parallel: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def send() -> None:
        with httpx.Client(transport=httpx.HTTPTransport(retries=3), timeout=120) as client:
            start.wait(timeout=60)
            answer = _guess(client, base, "parallel")
        with lock:
            parallel.append(answer)

    threads = [threading.Thread(target=send) for _ in range(GUESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    checked = {"serial": _checked(app, "serial"), "parallel": _checked(app, "parallel")}
    print("\n" + json.dumps({"database": app.db.dialect.name, "guesses": GUESSES, "checked": checked}))
    assert checked["serial"] == 3
    assert checked["parallel"] <= checked["serial"]
    for answers in (serial, parallel):
        statuses = Counter(status for status, _ in answers)
        assert statuses == {401: 3, 429: GUESSES - 3}, statuses
        assert all(0 < int(wait) <= 15 * 60 for status, wait in answers if status == 429 and wait), answers
