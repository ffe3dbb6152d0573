"""Persisted instances: the state is stored without the process spec and reloads to the same open
tasks; the human-task rows and audit events are written in the instance's own transaction; two saves of
the same loaded version cannot both win."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from tests.workflows.builders import (
    BRUSSELS,
    DEPARTURE,
    HOST,
    OFFICER,
    VISITOR,
    Programme,
    accept_match,
    approve,
    as_user,  # noqa: F401
    programme,
)
from workflows.app import App
from workflows.db.process_models import AuditEvent, HumanTask, ProcessDefinition, ProcessInstance
from workflows.engine import spiff
from workflows.engine.runner import EngineError
from workflows.services import inbox, lifecycle


def ready_user_tasks(app: App, instance_id: int) -> set[tuple[str, str]]:
    """(guid, task id) of the READY user tasks, deserialized from the stored state."""
    app.engine._cache.clear()
    with app.uow() as uow:
        workflow = app.engine.load(uow, uow.session.get(ProcessInstance, instance_id))
        return {(str(t.id), t.task_spec.name) for t in spiff.manual_ready_tasks(workflow)}


def open_rows(app: App, instance_id: int) -> set[tuple[str, str]]:
    with app.uow() as uow:
        return {(t.task_guid, t.task_spec) for t in uow.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.status == "open"))}


def test_the_state_is_stored_without_the_spec_and_reloads_to_the_same_open_tasks(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().propose_match()
    app, instance_id = programme.app, programme.instance_id
    instance = programme.instance()
    state = instance.state
    assert "spec" not in state and "subprocess_specs" not in state
    dumped = json.dumps(state)
    assert "task_specs" not in dumped and "serviceTaskOperator" not in dumped
    with app.uow() as uow:
        definition = uow.session.get(ProcessDefinition, instance.definition_id)
        assert state["spec_key"] == definition.sha256
        assert len(dumped) < len(definition.bpmn_xml) / 2

    assert {spec for _, spec in open_rows(app, instance_id)} == {"visitor_accept_match", "host_accept_match"}
    assert ready_user_tasks(app, instance_id) == open_rows(app, instance_id)

    app.engine._cache.clear()
    programme.complete("visitor_accept_match", VISITOR, accept_match())
    assert ready_user_tasks(app, instance_id) == open_rows(app, instance_id)
    app.engine._cache.clear()
    programme.complete("host_accept_match", HOST, accept_match())
    assert {spec for _, spec in ready_user_tasks(app, instance_id)} == {"agree_commitment"}
    assert programme.exchange().status == "matched"


def test_human_tasks_carry_lane_role_partnership_organisation_and_due_date(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    assess = programme.open_task("assess_application")
    assert (assess.lane, assess.role, assess.partnership_id, assess.organisation_id) == (
        "Officer", "officer", programme.north_id, None)
    # the rule set's ten days for an officer are working days of its partnership's country (BE):
    # opened on Monday 11 January 2027, due on Monday 25 January at the same time
    assert assess.due_at == assess.created_at + timedelta(days=14)
    assert assess.subject_ref == programme.exchange_ref

    programme.assessed().propose_match()
    host = programme.open_task("host_accept_match")
    assert (host.lane, host.role, host.partnership_id, host.organisation_id) == (
        "Host", "applicant", programme.south_id, programme.host_org_id)
    visitor = programme.open_task("visitor_accept_match")
    assert (visitor.lane, visitor.role, visitor.partnership_id, visitor.organisation_id) == (
        "Visitor", "applicant", programme.north_id, programme.visitor_org_id)

    programme.complete("visitor_accept_match", VISITOR, accept_match())
    programme.complete("host_accept_match", HOST, accept_match())
    programme.committed().visited()
    evidence = programme.open_task("submit_evidence")
    assert evidence.due_at == datetime(2027, 2, 28, 18, 0, tzinfo=BRUSSELS)  # 15 days after the visit
    created = [e for e in programme.events("task_created") if e.data_after["human_task"] == evidence.id]
    assert len(created) == 1 and created[0].instance_id == programme.instance_id
    assert DEPARTURE.isoformat() in json.dumps(programme.instance().state)


class Crash(RuntimeError):
    pass


def test_a_crash_after_the_engine_step_but_before_commit_leaves_nothing(
        programme: Programme, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    before = programme.snapshot()
    seen_inside: dict[str, object] = {}
    real = lifecycle.complete

    def step_then_crash(app, uow, instance, guid, form):  # type: ignore[no-untyped-def]
        real(app, uow, instance, guid, form)
        uow.session.flush()
        seen_inside["status"] = uow.session.get(HumanTask, task.id).status
        seen_inside["events"] = len(list(uow.session.scalars(select(AuditEvent.id))))
        seen_inside["waiting"] = list(instance.waiting_messages)
        raise Crash("power cut")

    monkeypatch.setattr(lifecycle, "complete", step_then_crash)
    with pytest.raises(Crash):
        inbox.complete_task(programme.app, task.id, as_user(programme.app, OFFICER), approve())
    # the step really ran inside the transaction …
    assert seen_inside["status"] == "completed" and seen_inside["waiting"] == ["match_proposed"]
    assert seen_inside["events"] > before["events"]
    # … and nothing of it survived the rollback
    assert programme.snapshot() == before

    monkeypatch.setattr(lifecycle, "complete", real)
    programme.complete("assess_application", OFFICER, approve())
    assert programme.instance().waiting_messages == ["match_proposed"]
    assert programme.exchange().status == "awaiting_match"


def test_an_instance_saved_from_an_outdated_copy_is_refused_as_stale(programme: Programme) -> None:  # noqa: F811
    """Both sessions loaded version n; the first save wins, the second finds version n gone."""
    programme.submit_visitor_application()
    first, second = programme.app.sessions(), programme.app.sessions()
    try:
        mine = first.get(ProcessInstance, programme.instance_id)
        theirs = second.get(ProcessInstance, programme.instance_id)
        second.commit()  # the copy outlives its reading transaction (as a cached workflow does)
        assert mine.lock_version == theirs.lock_version
        mine.outcome = "first"
        first.commit()
        theirs.outcome = "second"
        with pytest.raises(StaleDataError):
            second.commit()
    finally:
        first.close()
        second.close()
    assert programme.instance().outcome == "first"


def test_two_concurrent_transactions_cannot_both_save_an_instance(programme: Programme) -> None:  # noqa: F811
    """PostgreSQL: the version check refuses the second save. SQLite: its snapshot is older than the
    first commit, so the database refuses the write before the version check is reached."""
    programme.submit_visitor_application()
    app = programme.app
    first, second = app.sessions(), app.sessions()
    try:
        mine = first.get(ProcessInstance, programme.instance_id)
        theirs = second.get(ProcessInstance, programme.instance_id)
        version = mine.lock_version
        mine.outcome = "first"
        first.commit()
        theirs.outcome = "second"
        expected = OperationalError if app.db.dialect.name == "sqlite" else StaleDataError
        with pytest.raises(expected):
            second.commit()
    finally:
        second.rollback()
        first.close()
        second.close()
    saved = programme.instance()
    assert (saved.outcome, saved.lock_version) == ("first", version + 1)


def test_a_step_saved_from_an_outdated_copy_is_refused_and_changes_nothing(programme: Programme) -> None:  # noqa: F811
    """The engine's own UPDATE carries the optimistic lock: two steps from the same version, one wins."""
    programme.submit_visitor_application()
    app, task = programme.app, programme.open_task("assess_application")
    with app.uow() as late:
        outdated = app.engine.instance(late, programme.instance_id)
        late.commit()  # the copy outlives its reading transaction (as a cached workflow does)
        programme.complete("assess_application", OFFICER, approve())  # another request, committed first
        after_first = programme.snapshot()
        app.engine._cache.clear()
        with pytest.raises(StaleDataError, match="changed by someone else"):
            app.engine.fire_timers(late, outdated)
    assert programme.snapshot() == after_first
    assert app.engine._cache.get(programme.instance_id) is None or \
        app.engine._cache[programme.instance_id][0] == programme.instance().lock_version
    with app.uow() as uow:
        assert uow.session.get(HumanTask, task.id).status == "completed"


def test_completing_a_task_closes_its_row_and_the_copy_the_session_holds(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    app, guid = programme.app, programme.open_task("assess_application").task_guid
    with app.uow() as uow:
        held = uow.session.scalars(select(HumanTask).where(HumanTask.task_guid == guid)).one()
        instance = app.engine.instance(uow, programme.instance_id)
        assert app.engine.instance(uow, programme.instance_id) is instance  # one object per session
        app.engine.complete(uow, instance, guid, {**approve(), "completed_by": None})
        assert (held.status, held.completed_at) == ("completed", uow.now())
        assert held not in uow.session.dirty
        uow.commit()
    with app.uow() as uow:
        row = uow.session.scalars(select(HumanTask).where(HumanTask.task_guid == guid)).one()
        assert row.status == "completed"
        with pytest.raises(EngineError, match="no longer open"):
            app.engine.complete(uow, app.engine.instance(uow, programme.instance_id), guid, approve())


def test_an_instance_read_by_the_engine_loads_its_state_only_when_needed(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    app = programme.app
    app.engine._cache.clear()
    with app.uow() as uow:
        instance = app.engine.instance(uow, programme.instance_id)
        assert "state_json" not in instance.__dict__ and instance not in uow.session.dirty
        assert instance.state["spec_key"]  # read on first use
        assert app.engine.instance(uow, 10_000) is None


def test_the_engine_keeps_running_workflows_in_memory_and_lets_finished_ones_go(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    app, instance_id = programme.app, programme.instance_id
    assert app.engine._cache[instance_id][0] == programme.instance().lock_version  # the next step needs no load
    programme.complete("assess_application", OFFICER, {"decision": "reject", "comment": "not a cluster member"})
    instance = programme.instance()
    assert instance.status == "completed"
    assert instance_id not in app.engine._cache  # it will never advance again
