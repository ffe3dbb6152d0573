"""One global lock order (SPEC §15, ENGINEERING "Background work and workers"): a step locks its
instance's row first and its audit chains' heads last, as it commits — so a step of one instance waits
only for another step of the same instance, and no transaction holding a head ever waits for a lock
(no cycle through a head). PostgreSQL only: SQLite has one writer at a time."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from tests.workflows.builders import Programme, programme  # noqa: F401
from tests.workflows.test_audit_tamper import chain_rows
from workflows import audit
from workflows.app import App
from workflows.db.models import Partnership
from workflows.services.audit_trail import verify_trail


def _postgres_only(app: App) -> None:
    if app.db.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: row locks are PostgreSQL's")


def test_an_open_transaction_holds_no_audit_head_until_it_commits(app: App) -> None:
    """A transaction that recorded an event on instance 1, ran a query and released a savepoint does
    not hold instance 1's head: another transaction on that chain commits meanwhile. (Before, the head
    was locked at the first query after the event: a transaction holding it and waiting for a row the
    other held while the other waited for the head was the deadlock between two audit batches.)"""
    _postgres_only(app)
    with app.uow() as uow:
        uow.audit(audit.SYSTEM, "first", instance_id=1)
        uow.commit()
    other = threading.Event()

    def step() -> None:
        with app.uow() as uow:
            uow.audit(audit.SYSTEM, "other", instance_id=1)
            uow.commit()
        other.set()

    with app.uow() as first:
        first.audit(audit.SYSTEM, "open", instance_id=1)
        first.session.scalars(select(Partnership.id)).all()
        with first.session.begin_nested():
            first.session.scalars(select(Partnership.id)).all()
        threading.Thread(target=step, daemon=True).start()
        assert other.wait(10), "a transaction on instance 1's chain waited for one that had not committed"
        first.commit()
    assert verify_trail(app)["ok"]
    assert [r["action"] for r in chain_rows(app, "instance:1")] == ["first", "other", "open"]


def test_a_query_of_the_audit_events_sees_the_events_of_its_own_transaction(app: App) -> None:
    from workflows.db.process_models import AuditEvent

    with app.uow() as uow:
        uow.audit(audit.SYSTEM, "mine", instance_id=7)
        assert uow.session.scalars(select(AuditEvent.action).where(AuditEvent.instance_id == 7)).all() == ["mine"]
        uow.commit()
    assert verify_trail(app)["ok"]


def test_a_step_locks_its_instance_first_and_a_copy_read_before_another_step_is_a_lost_race(
        programme: Programme) -> None:  # noqa: F811
    app = programme.app
    _postgres_only(app)
    programme.submit_visitor_application()
    instance_id = programme.instance_id
    second_done = threading.Event()

    def second() -> None:
        with app.uow() as uow:
            app.engine.instance(uow, instance_id, lock=True)
        second_done.set()

    with app.uow() as first, app.uow() as stale:
        old_copy = app.engine.instance(stale, instance_id)
        assert old_copy is not None
        held = app.engine.instance(first, instance_id, lock=True)
        assert held is not None
        threading.Thread(target=second, daemon=True).start()
        assert not second_done.wait(1), "a second step of the instance did not wait for the first"
        app.engine.fire_timers(first, held)  # advances it: a new version
        first.commit()
        assert second_done.wait(10)
        with pytest.raises(StaleDataError):
            app.engine.load(stale, old_copy)
