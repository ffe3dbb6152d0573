"""R-AUDIT: the hash chains verify after real work, name the first event that was changed or removed,
and the database itself refuses to change or delete an event. (The tampering of someone holding the
database file, and the anchors outside it: test_audit_tamper.py.)"""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from tests.workflows.builders import Programme, programme  # noqa: F401
from workflows import audit
from workflows.app import App
from workflows.db.process_models import AuditChain, AuditEvent


def verify(app: App) -> audit.VerifyResult:
    with app.uow() as uow:
        return audit.verify(uow.session)


def event_ids(app: App) -> list[int]:
    with app.uow() as uow:
        return list(uow.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


def drop_append_only_guard(app: App) -> None:
    """What someone with direct database access would have to do first."""
    with app.db.begin() as conn:
        if app.db.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")


@pytest.fixture
def worked(programme: Programme) -> Programme:  # noqa: F811
    """An exchange driven up to its signed commitment, with some sixty events in the trail."""
    return programme.submit_visitor_application().assessed().matched().committed()


def test_the_chains_verify_after_a_run(worked: Programme) -> None:
    result = verify(worked.app)
    ids = event_ids(worked.app)
    assert result.ok and result.events == len(ids) > 40
    assert result.to_dict() == {"ok": True, "events": len(ids)}
    with worked.app.uow() as uow:
        events = list(uow.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        heads = {h.chain: (h.events, h.last_hash) for h in uow.session.scalars(select(AuditChain))}
        chains: dict[str, list[AuditEvent]] = {}
        for event in events:
            assert event.chain == audit.chain_of(event.instance_id)
            chains.setdefault(event.chain, []).append(event)
        assert {audit.GLOBAL, f"instance:{worked.instance_id}"} <= set(chains) and len(chains) > 2
        for chain, linked in chains.items():  # each chain linked on its own, its head its last event
            assert linked[0].prev_hash == audit.GENESIS
            assert all(e.prev_hash == linked[i].hash for i, e in enumerate(linked[1:]))
            assert heads[chain] == (len(linked), linked[-1].hash)
    assert result.chains == heads


def test_an_event_hash_is_keyed(worked: Programme) -> None:
    """The hash is an HMAC under the audit key: a plain SHA-256 of the same content is not it, and
    another key does not verify."""
    with worked.app.uow() as uow:
        event = uow.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        values = {name: getattr(event, name) for name in audit.KEYED}
        assert event.hash == audit.Keyed(worked.app.settings.audit_key).event(values)
        assert event.hash != audit.plain_digest(values)
        other = audit.verify(uow.session, key="another-key-of-sixteen-or-more")
    assert (other.ok, other.problem) == (False, "its content was changed after it was written")


def test_the_database_refuses_to_change_or_delete_an_event(worked: Programme) -> None:
    target = event_ids(worked.app)[10]
    with worked.app.uow() as uow:
        with pytest.raises(DBAPIError, match="append-only"):
            uow.session.execute(update(AuditEvent).where(AuditEvent.id == target).values(actor="mallory"))
    with worked.app.uow() as uow:
        with pytest.raises(DBAPIError, match="append-only"):
            uow.session.execute(delete(AuditEvent).where(AuditEvent.id == target))
    assert verify(worked.app).ok
    assert target in event_ids(worked.app)


def test_a_changed_event_is_named(worked: Programme) -> None:
    ids = event_ids(worked.app)
    target = ids[len(ids) // 2]
    drop_append_only_guard(worked.app)
    with worked.app.uow() as uow:
        uow.session.execute(update(AuditEvent).where(AuditEvent.id == target).values(data_after={"amount": "9999.00"}))
        uow.commit()
    result = verify(worked.app)
    assert (result.ok, result.first_bad_event) == (False, target)
    assert result.problem == "its content was changed after it was written"
    assert result.to_dict()["first_bad_event"] == target


def test_a_removed_event_is_named_by_the_one_after_it(worked: Programme) -> None:
    target = event_ids(worked.app)[len(event_ids(worked.app)) // 2]
    with worked.app.uow() as uow:
        chain = uow.session.get(AuditEvent, target).chain
        same_chain = list(uow.session.scalars(select(AuditEvent.id).where(AuditEvent.chain == chain)
                                              .order_by(AuditEvent.id)))
    drop_append_only_guard(worked.app)
    with worked.app.uow() as uow:
        uow.session.execute(delete(AuditEvent).where(AuditEvent.id == target))
        uow.commit()
    result = verify(worked.app)
    after = same_chain[same_chain.index(target) + 1]  # the next event of the same chain
    assert (result.ok, result.first_bad_event) == (False, after)
    assert result.problem == f"the event before it on chain {chain} was removed, inserted or changed"


def test_removing_the_newest_events_is_noticed_too(worked: Programme) -> None:
    ids = event_ids(worked.app)
    drop_append_only_guard(worked.app)
    with worked.app.uow() as uow:
        uow.session.execute(delete(AuditEvent).where(AuditEvent.id.in_(ids[-3:])))
        uow.commit()
    result = verify(worked.app)
    with worked.app.uow() as uow:
        chain = uow.session.get(AuditEvent, ids[-4]).chain
    assert (result.ok, result.first_bad_event) == (False, ids[-4])
    assert result.problem.startswith(f"events after it on chain {chain} were removed (3 of ")


# --- the transaction's events are written in one batch: what the session sees, savepoints, rollbacks ---


def actions(app: App) -> list[str]:
    with app.uow() as uow:
        return list(uow.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_a_session_sees_its_own_events_before_it_commits(app: App) -> None:
    with app.uow() as uow:
        uow.audit(audit.SYSTEM, "first")
        assert uow.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id.desc())).first() == "first"
        uow.audit(audit.SYSTEM, "second")
        uow.commit()
    assert actions(app)[-2:] == ["first", "second"]
    assert verify(app).ok


def test_a_rolled_back_transaction_leaves_no_event_and_the_chain_goes_on(app: App) -> None:
    before = actions(app)
    with app.uow() as uow:
        uow.audit(audit.SYSTEM, "written_then_undone")
        uow.session.scalars(select(AuditEvent.id)).all()  # the event is now in the database
        uow.audit(audit.SYSTEM, "recorded_then_undone")
    assert actions(app) == before
    with app.uow() as uow:
        uow.audit(audit.SYSTEM, "kept")
        uow.commit()
    assert actions(app) == [*before, "kept"]
    assert verify(app).ok


@pytest.mark.parametrize("written_inside", [False, True], ids=["recorded", "written"])
def test_a_rolled_back_savepoint_takes_its_events_back(app: App, written_inside: bool) -> None:
    before = actions(app)
    with app.uow() as uow:
        uow.audit(audit.SYSTEM, "before_savepoint")
        try:
            with uow.session.begin_nested():
                uow.audit(audit.SYSTEM, "inside_savepoint")
                if written_inside:
                    uow.session.scalars(select(AuditEvent.id)).all()
                raise RuntimeError("the service failed")
        except RuntimeError:
            pass
        uow.audit(audit.SYSTEM, "after_savepoint")
        uow.commit()
    assert actions(app) == [*before, "before_savepoint", "after_savepoint"]
    assert verify(app).ok


def test_a_savepoint_that_first_touches_the_chain_and_fails_leaves_it_whole(app: App) -> None:
    before = actions(app)
    with app.uow() as uow:
        try:
            with uow.session.begin_nested():
                uow.audit(audit.SYSTEM, "inside_savepoint")
                uow.session.scalars(select(AuditEvent.id)).all()
                raise RuntimeError("the service failed")
        except RuntimeError:
            pass
        uow.audit(audit.SYSTEM, "after_savepoint")
        uow.commit()
    assert actions(app) == [*before, "after_savepoint"]
    assert verify(app).ok


def test_a_rolled_back_savepoint_takes_back_its_events_on_every_chain_and_their_heads(app: App) -> None:
    """Inside the savepoint the events of two chains are written (their heads read and moved); after
    its rollback the transaction goes on from the heads as they were before it."""
    with app.uow() as uow:
        uow.audit(audit.SYSTEM, "on_instance_7", instance_id=7)
        uow.commit()
    before = actions(app)
    with app.uow() as uow:
        uow.audit(audit.SYSTEM, "global_before")
        try:
            with uow.session.begin_nested():
                uow.audit(audit.SYSTEM, "inside_7", instance_id=7)
                uow.audit(audit.SYSTEM, "inside_8", instance_id=8)
                uow.session.scalars(select(AuditEvent.id)).all()
                raise RuntimeError("the service failed")
        except RuntimeError:
            pass
        uow.audit(audit.SYSTEM, "after_7", instance_id=7)
        uow.commit()
    assert actions(app) == [*before, "global_before", "after_7"]
    with app.uow() as uow:
        heads = {h.chain: h.events for h in uow.session.scalars(select(AuditChain))}
    assert heads["instance:7"] == 2 and "instance:8" not in heads
    assert verify(app).ok


@pytest.mark.parametrize("data", [
    {"human_task": 12, "lane": "Officer", "due_at": datetime(2027, 1, 4, 9, tzinfo=UTC)},
    {"amount": Decimal("1100.00"), "on": date(2027, 3, 8), "ok": True, "rate": 0.5, "none": None},
    {"nested": {"at": date(2027, 3, 8)}, "list": [Decimal("1.10")]},  # not flat: through JSON text
    {1: "an int key becomes text", "days": (1, 2), "tags": {"b", "a"}},
    {},
])
def test_event_data_is_converted_as_a_round_trip_through_json_text_would(data: dict) -> None:
    def round_trip(value: object) -> object:
        return json.loads(json.dumps(value, default=audit._default))

    assert audit.jsonable(data) == round_trip(data)
    assert json.dumps(audit.jsonable(data)) == json.dumps(round_trip(data))  # same types, same order
