"""SQLite's write-ahead log is copied back into the database by a thread of its own, never by a
committing connection (workflows/db/base.py WalCheckpointer)."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import text

from workflows.app import App
from workflows.db.base import make_engine
from workflows.db.process_models import ClockState
from workflows.services.setup import init_database
from workflows.settings import Settings


def _wait_for(condition, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_the_applications_connections_never_checkpoint(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/a.db")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        assert engine.cxp_checkpointer.running
    finally:
        engine.dispose()


def test_the_thread_copies_committed_steps_into_the_database(tmp_path: Path) -> None:
    app = App(Settings(database_url=f"sqlite:///{tmp_path}/cxp.db", files_dir=tmp_path / "files"))
    init_database(app)
    checkpointer = app.db.cxp_checkpointer
    start = datetime(2027, 1, 1, tzinfo=UTC)
    for day in range(50):
        with app.uow() as uow:
            uow.session.merge(ClockState(id=1, now=start + timedelta(days=day)))
            uow.commit()
    # the log holds the 50 commits until the thread has copied every frame of it
    assert _wait_for(lambda: checkpointer.last is not None and checkpointer.last[1] > 0
                     and checkpointer.last[1] == checkpointer.last[2])
    app.close()
    assert not checkpointer.running
    wal = Path(app.settings.database_url.split("///", 1)[1] + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # nothing left for the next connection to replay
    reopened = make_engine(app.settings.database_url)
    try:
        with reopened.connect() as conn:
            assert conn.execute(text("select count(*) from clock_state")).scalar() == 1
    finally:
        reopened.dispose()


def test_stopping_is_idempotent_and_in_memory_databases_have_none(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/b.db")
    engine.dispose()
    engine.cxp_checkpointer.stop()
    assert not engine.cxp_checkpointer.running
    memory = make_engine("sqlite://")
    assert not hasattr(memory, "cxp_checkpointer")
    memory.dispose()


def test_a_failed_checkpoint_is_tried_again_in_the_next_round(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from workflows.db.base import WalCheckpointer

    calls = []
    real = WalCheckpointer.checkpoint

    def flaky(connection):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise sqlite3.OperationalError("database is locked")
        return real(connection)

    monkeypatch.setattr(WalCheckpointer, "checkpoint", staticmethod(flaky))
    engine = make_engine(f"sqlite:///{tmp_path}/c.db")
    try:
        assert _wait_for(lambda: engine.cxp_checkpointer.last is not None)  # a later round succeeded
        assert engine.cxp_checkpointer.running and len(calls) >= 2
    finally:
        engine.dispose()
