"""R-AUDIT chains: a trail written before migration 0004 (one plain SHA-256 chain) still verifies after
it, and is sealed by the keyed events that follow; two transactions on different instances do not
wait on each other's audit head (SPEC §11); production mode refuses to run without an audit key; the
CLI's JSON document."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timezone
from importlib.resources import as_file
from pathlib import Path

import pytest
from alembic import command
from pydantic import ValidationError
from sqlalchemy import column, insert, table

from tests.workflows.test_audit_tamper import chain_rows, rewrite
from tests.workflows.test_audit_trail import drop_append_only_guard
from workflows import audit
from workflows.app import App
from workflows.db.base import make_engine
from workflows.db.process_models import AuditEvent
from workflows.db.schema import MIGRATIONS, alembic_config
from workflows.services.audit_trail import verify_trail
from workflows.services.setup import init_database
from workflows.settings import Settings

OLD_EVENTS = table("audit_events", *(column(name, AuditEvent.__table__.c[name].type)
                                      for name in ("id", *audit.HASHED, "hash")))  # revision 0003's columns
OLD_HEAD = table("audit_chain_head", column("id"), column("last_event_id"), column("last_hash"))


def write_old_trail(url: str, n: int) -> None:
    """A database at revision 0003 holding `n` events chained the old way."""
    engine = make_engine(url)
    with as_file(MIGRATIONS) as folder, engine.begin() as conn:
        config = alembic_config(url, str(folder))
        config.attributes["connection"] = conn
        command.upgrade(config, "0003_inbox_order")
        previous = audit.GENESIS
        for i in range(n):
            event = {"occurred_at": datetime(2026, 1, 1, i, tzinfo=UTC), "actor_id": None,
                     "actor": "system", "actor_role": "system", "instance_id": None, "task": None,
                     "action": f"old_{i}", "subject": None, "data_before": None, "data_after": {"i": i},
                     "prev_hash": previous}
            event["hash"] = previous = audit.plain_digest(event)
            conn.execute(insert(OLD_EVENTS).values(event))
        conn.execute(insert(OLD_HEAD).values(id=1, last_event_id=None, last_hash=previous))
    engine.dispose()


@pytest.fixture
def upgraded(database_url: str, tmp_path: Path) -> App:
    write_old_trail(database_url, 5)
    app = App(Settings(database_url=database_url, files_dir=tmp_path / "files"))
    init_database(app)  # migration 0004, then keyed events on the global chain after the old ones
    yield app
    app.close()


def test_an_old_trail_keeps_verifying_after_migration_0004(upgraded: App) -> None:
    rows = chain_rows(upgraded, audit.GLOBAL)
    assert [r["action"] for r in rows[:5]] == [f"old_{i}" for i in range(5)] and len(rows) > 5
    assert rows[5]["prev_hash"] == rows[4]["hash"]  # the keyed events go on from the old chain's head
    with upgraded.uow() as uow:
        uow.audit(audit.SYSTEM, "on_an_instance", instance_id=3)
        uow.commit()
    result = verify_trail(upgraded)
    assert result["ok"], result
    line = json.loads(upgraded.settings.anchor_path.read_text())
    assert line["plain"] == 5 and line["chains"]["instance:3"][0] == 1


def test_an_old_event_changed_and_rehashed_is_named_by_the_first_keyed_event(upgraded: App) -> None:
    rows = chain_rows(upgraded, audit.GLOBAL)
    drop_append_only_guard(upgraded)
    rows[2]["data_after"] = {"i": 99}
    rewrite(upgraded, audit.GLOBAL, rows[:5], 2)  # the old events rehashed, the head left alone
    result = verify_trail(upgraded)
    assert (result["ok"], result["first_bad_event"]) == (False, rows[5]["id"])
    assert result["problem"] == "the event before it on chain global was removed, inserted or changed"


def test_two_instances_do_not_wait_on_each_others_audit_head(app: App) -> None:
    if app.db.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: row locks are PostgreSQL's")
    with app.uow() as uow:  # both chains have a head row to lock
        uow.audit(audit.SYSTEM, "first", instance_id=1)
        uow.audit(audit.SYSTEM, "first", instance_id=2)
        uow.commit()

    def step(instance_id: int, done: threading.Event) -> None:
        with app.uow() as uow:
            uow.audit(audit.SYSTEM, "step", instance_id=instance_id)
            uow.trail.write()
            uow.commit()
        done.set()

    with app.uow() as first:
        first.audit(audit.SYSTEM, "step", instance_id=1)
        first.trail.write()  # instance:1's head is read FOR UPDATE and moved; the transaction stays open
        other, same = threading.Event(), threading.Event()
        threading.Thread(target=step, args=(2, other), daemon=True).start()
        assert other.wait(10), "a step of instance 2 waited for a transaction on instance 1"
        waiting = threading.Thread(target=step, args=(1, same), daemon=True)
        waiting.start()
        assert not same.wait(1), "a second writer of instance 1's chain did not wait for the first"
        first.commit()
    assert same.wait(10)
    waiting.join(10)
    result = verify_trail(app)
    assert result["ok"], result
    assert [r["action"] for r in chain_rows(app, "instance:1")] == ["first", "step", "step"]


def test_a_transaction_on_two_chains_locks_their_heads_in_sorted_order(app: App) -> None:
    """Recorded on instance 2 then instance 1, the heads are locked instance 1 first: while that one
    waits, instance 2's head is still free (locking in the order of recording could deadlock)."""
    if app.db.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: row locks are PostgreSQL's")
    with app.uow() as uow:
        uow.audit(audit.SYSTEM, "first", instance_id=1)
        uow.audit(audit.SYSTEM, "first", instance_id=2)
        uow.commit()

    def both(done: threading.Event) -> None:
        with app.uow() as uow:
            uow.audit(audit.SYSTEM, "both", instance_id=2)
            uow.audit(audit.SYSTEM, "both", instance_id=1)
            uow.commit()
        done.set()

    def on_two(done: threading.Event) -> None:
        with app.uow() as uow:
            uow.audit(audit.SYSTEM, "two", instance_id=2)
            uow.commit()
        done.set()

    with app.uow() as first:
        first.audit(audit.SYSTEM, "one", instance_id=1)
        first.trail.write()
        both_done, two_done = threading.Event(), threading.Event()
        threading.Thread(target=both, args=(both_done,), daemon=True).start()
        assert not both_done.wait(1)  # waiting for instance 1's head
        threading.Thread(target=on_two, args=(two_done,), daemon=True).start()
        assert two_done.wait(10), "instance 2's head was locked before instance 1's"
        first.commit()
    assert both_done.wait(10)
    assert verify_trail(app)["ok"]
    assert [r["action"] for r in chain_rows(app, "instance:2")] == ["first", "two", "both"]


def test_production_mode_refuses_to_load_without_an_audit_key(tmp_path: Path) -> None:
    base = {"mode": "production", "secret_key": "a-real-secret-key", "files_dir": tmp_path}
    with pytest.raises(ValidationError, match="CXP_AUDIT_KEY must be set in production mode"):
        Settings(**base)
    with pytest.raises(ValidationError, match="audit_key"):
        Settings(**base, audit_key="short")
    assert Settings(**base, audit_key="k" * 32).audit_key == "k" * 32
    assert Settings(files_dir=tmp_path).anchor_path == tmp_path / "audit" / "anchors.jsonl"


def test_the_cli_prints_the_check_as_json_and_fails_on_a_bad_trail(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/cxp.db"
    env = {"CXP_FILES_DIR": str(tmp_path / "files"), "CXP_AUDIT_KEY": "a-test-audit-key-of-some-length",
           "PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

    def cxp(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "workflows.cli.app", *args, "--db", db], env=env,
                              capture_output=True, text=True, timeout=120)

    assert cxp("init").returncode == 0
    ok = cxp("audit", "verify", "--json")
    document = json.loads(ok.stdout)
    assert ok.returncode == 0 and document["ok"] is True and document["anchors_checked"] == 0
    assert set(document) == {"ok", "case", "events", "first_bad_event", "anchors_checked", "problem", "anchor"}
    assert (tmp_path / "files" / "audit" / "anchors.jsonl").exists()
    app = App(Settings(database_url=db, files_dir=tmp_path / "files"))
    drop_append_only_guard(app)
    with app.db.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_events SET actor = 'mallory' WHERE id = 2")
    app.close()
    bad = cxp("audit", "verify", "--json")
    document = json.loads(bad.stdout)
    assert bad.returncode == 1 and (document["ok"], document["first_bad_event"]) == (False, 2)
    assert document["anchors_checked"] == 1 and document["problem"] == "its content was changed after it was written"
    assert cxp("audit", "verify").stdout.startswith("NOT OK: event 2: its content was changed")
