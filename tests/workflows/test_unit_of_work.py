"""The unit of work: one transaction on one connection, shared by the engine's prepared statements
(`uow.connection`) and the ORM session (`uow.session`, made only when asked for), on SQLite and
PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime, timezone
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, insert, select

from benchmarks.lifecycle import CANNED, START, START_DATA
from workflows import audit
from workflows.app import App
from workflows.db.prepared import Prepared
from workflows.db.process_models import AuditEvent, ClockState, HumanTask, ProcessInstance
from workflows.engine.runner import Engine

CLOCK = ClockState.__table__
READ = Prepared(select(CLOCK.c.now).where(CLOCK.c.id == bindparam("id")))
WRITE = Prepared(insert(CLOCK).values(id=bindparam("id"), now=bindparam("now")))
MOMENT = datetime(2027, 1, 1, tzinfo=UTC)


def ids(app: App) -> list[int]:
    with app.uow() as uow:
        return list(uow.session.scalars(select(ClockState.id).where(ClockState.id > 1).order_by(ClockState.id)))


def canned_engine(app: App) -> Engine:
    """Our engine with service answers that touch no database, the clock at the lifecycle benchmark's
    start (as the benchmark runs it)."""
    with app.uow() as uow:
        uow.clock.set(START)
        uow.commit()
    return Engine(app.library, lambda uow, instance, outgoing: SimpleNamespace(
        dispatch=lambda task, name, params: dict(CANNED.get(name, {}))))


def start_exchange(uow: Any, engine: Engine) -> ProcessInstance:
    return engine.start(uow, "exchange", "exchange", 1, {**START_DATA, "exchange_id": 1}).instance


def test_an_engine_step_that_needs_no_orm_makes_no_session_and_writes_everything(app: App) -> None:
    engine = canned_engine(app)
    with app.uow() as uow:
        instance_id = start_exchange(uow, engine).id
        assert not uow.has_session
        uow.commit()
    open_task = Prepared(select(HumanTask.task_guid).where(HumanTask.instance_id == bindparam("instance_id"),
                                                           HumanTask.status == "open"))
    with app.uow() as uow:
        instance = engine.instance(uow, instance_id)
        assert engine.instance(uow, instance_id) is instance  # one object per unit of work
        ((guid,),) = open_task.rows(uow.connection, instance_id=instance_id)
        engine.complete(uow, instance, guid, {"decision": "approve", "comment": "ok", "completed_by": None})
        assert not uow.has_session
        uow.commit()
    with app.uow() as uow:  # the state, the task rows and the audit chain were all written and committed
        stored = uow.session.get(ProcessInstance, instance_id)
        assert stored.lock_version == instance.lock_version == 3
        assert uow.session.scalars(select(HumanTask.status).where(HumanTask.task_guid == guid)).one() == "completed"
        actions = list(uow.session.scalars(select(AuditEvent.action).where(AuditEvent.instance_id == instance_id)))
        assert actions[0] == "process_started" and "task_created" in actions
        assert audit.verify(uow.session).ok


def test_the_connection_and_the_session_share_one_transaction(app: App) -> None:
    with app.uow() as uow:
        WRITE.execute(uow.connection, id=2, now=MOMENT)  # the connection first, then the session
        assert uow.session.get(ClockState, 2) is not None
        uow.session.add(ClockState(id=3, now=MOMENT))
        uow.session.flush()
        assert READ.first(uow.connection, id=3) == (MOMENT,)
        uow.rollback()  # takes back both
        assert READ.first(uow.connection, id=2) is None
        uow.session.add(ClockState(id=4, now=MOMENT))  # the session first, then the connection
        uow.session.flush()
        WRITE.execute(uow.connection, id=5, now=MOMENT)
        uow.commit()
    assert ids(app) == [4, 5]
    with app.uow() as uow:  # leaving without commit rolls both back
        uow.session.add(ClockState(id=6, now=MOMENT))
        WRITE.execute(uow.connection, id=7, now=MOMENT)
    assert ids(app) == [4, 5]


def test_later_transactions_of_one_unit_of_work_commit_whichever_side_began_them(app: App) -> None:
    with app.uow() as uow:
        uow.session.add(ClockState(id=2, now=MOMENT))
        uow.commit()
        WRITE.execute(uow.connection, id=3, now=MOMENT)  # a new transaction, begun by the connection
        uow.commit()
        uow.session.add(ClockState(id=4, now=MOMENT))  # and one begun by the session
        uow.commit()
        WRITE.execute(uow.connection, id=5, now=MOMENT)
        uow.rollback()
    assert ids(app) == [2, 3, 4]
    assert app.db.pool.checkedout() == 0  # the connection went back to the pool


def test_a_statement_after_begin_nested_runs_inside_the_savepoint(app: App) -> None:
    with app.uow() as uow:
        WRITE.execute(uow.connection, id=2, now=MOMENT)
        savepoint = uow.session.begin_nested()  # SAVEPOINT is emitted at once, on the shared connection
        WRITE.execute(uow.connection, id=3, now=MOMENT)
        savepoint.rollback()
        assert READ.first(uow.connection, id=3) is None
        assert READ.first(uow.connection, id=2) is not None
        uow.commit()
    assert ids(app) == [2]


def test_an_object_held_before_the_session_was_made_joins_it_clean(app: App) -> None:
    engine = canned_engine(app)
    with app.uow() as uow:
        instance_id = start_exchange(uow, engine).id
        uow.commit()
    with app.uow() as uow:
        instance = engine.instance(uow, instance_id)
        assert not uow.has_session
        assert uow.session.get(ProcessInstance, instance_id) is instance  # the session holds that very object
        assert instance not in uow.session.dirty
        assert engine.instance(uow, instance_id) is instance
        instance.status = "suspended"  # from now on the ORM tracks it, with its optimistic lock
        uow.session.flush()
        uow.commit()
    with app.uow() as uow:
        held: Any = engine.instance(uow, instance_id)
        assert held.status == "suspended" and uow.held(ProcessInstance, instance_id) is held
        uow.rollback()  # a rollback lets go of what the unit of work held without a session
        assert uow.held(ProcessInstance, instance_id) is None
        assert engine.instance(uow, instance_id) is not held


def test_a_save_names_status_and_next_timer_only_when_they_change(app: App) -> None:
    """Their index entries are rewritten whenever the UPDATE names them (SQLite traced here)."""
    if app.db.dialect.name != "sqlite":
        return
    engine = canned_engine(app)
    updates: list[str] = []
    with app.uow() as uow:
        uow.connection.connection.dbapi_connection.set_trace_callback(
            lambda sql: updates.append(sql) if sql.startswith("UPDATE process_instances") else None)
        try:
            instance = start_exchange(uow, engine)
            updates.clear()
            engine.fire_timers(uow, instance)  # nothing is due: status and timer stay as they were
            assert len(updates) == 1 and "status=" not in updates[0] and "next_timer_at=" not in updates[0]
            instance.status = "suspended"  # a changed status is written, with the index
            engine.fire_timers(uow, instance)
            assert "status=" in updates[1]
        finally:
            uow.connection.connection.dbapi_connection.set_trace_callback(None)
        uow.commit()
    with app.uow() as uow:
        stored = uow.session.get(ProcessInstance, instance.id)
        assert (stored.status, stored.lock_version) == ("suspended", 4)
