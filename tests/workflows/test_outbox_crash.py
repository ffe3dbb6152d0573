"""The outbox's one at-least-once window, shown with a killed process: the SMTP server accepted the
email but the process died before marking it sent. The row is not sent again while its lease runs;
afterwards it is sent once more with the same Message-ID (so the receiver can drop the duplicate),
marked sent, and never sent again."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timezone
from pathlib import Path

import pytest

from benchmarks.payment_batch import seed_approved_claims
from tests.workflows.test_outbox_delivery import Server, server  # noqa: F401
from workflows.app import App
from workflows.db.process_models import OutboxMessage
from workflows.services.outbox_delivery import LEASE
from workflows.services.payments import create_batch
from workflows.services.setup import init_database
from workflows.settings import Settings

pytestmark = pytest.mark.slow


def run_outbox(folder: Path, url: str, port: int, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CXP_DATABASE_URL": url, "CXP_FILES_DIR": str(folder / "files"),
           "CXP_SMTP_PORT": str(port)}
    env.pop("CXP_CRASH_AT", None)
    if crash_at:
        env["CXP_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-m", "workflows.cli.app", "flows", "run", "outbox", "--no-prefect",
                           "--json"], cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def test_a_crash_between_smtp_and_commit_resends_once_with_the_same_message_id(tmp_path: Path, server: Server):  # noqa: F811
    url = f"sqlite:///{tmp_path}/cxp.db"
    app = App(Settings(database_url=url, files_dir=tmp_path / "files"))
    init_database(app)
    with app.uow() as uow:
        uow.clock.set(datetime(2027, 3, 1, 5, 0, tzinfo=UTC))
        uow.commit()
    seed_approved_claims(app, 2, partnership_code="CXP-NORTH")
    create_batch(app, "CXP-NORTH")
    server.start()

    crashed = run_outbox(tmp_path, url, server.port, crash_at="outbox_after_send")
    assert crashed.returncode == 137, crashed.stderr
    assert len(server.recorder.received) == 1
    with app.uow() as uow:
        assert uow.session.get(OutboxMessage, 1).status == "sending"

    assert run_outbox(tmp_path, url, server.port).returncode == 0
    assert len(server.recorder.received) == 1  # not while the lease runs
    with app.uow() as uow:
        uow.clock.advance(LEASE)
        uow.commit()
    resent = run_outbox(tmp_path, url, server.port)
    assert resent.returncode == 0, resent.stderr
    first, second = server.recorder.received
    assert first["Message-ID"] == second["Message-ID"]
    with app.uow() as uow:
        assert uow.session.get(OutboxMessage, 1).status == "sent"
        uow.clock.advance(LEASE * 10)
        uow.commit()
    assert run_outbox(tmp_path, url, server.port).returncode == 0
    assert len(server.recorder.received) == 2
