"""Process versions through the use cases, on SQLite and PostgreSQL: a changed exchange process
deployed after its checks, running instances moved to it after a dry run (keeping their data, their
timers and their human tasks), refused when they wait on a step it no longer has, and rolled back."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.bpmn.changes import BPMN_DIR, changed, changed_process, relabel, without_form
from tests.workflows.builders import (
    ADMIN,
    AUDITOR,
    OFFICER,
    VISITOR,
    Programme,
    evidence,
    programme,
)
from workflows.app import App
from workflows.db.process_models import AuditEvent, HumanTask, ProcessDefinition, ProcessInstance
from workflows.db.version_models import ProcessMigration
from workflows.services import Conflict, Invalid, Refused
from workflows.services.process_version_views import list_versions, version_detail
from workflows.services.process_versions import deploy_version, migrate_instances, rollback_instances
from workflows.services.views import instance_view

NEW_LABEL = "Check the evidence and the attended days"


def deploy_changed(prog: Programme) -> int:
    out = deploy_version(prog.app, prog.principal(ADMIN), changed_process("exchange"), "exchange-v2.bpmn",
                         "Officers decide extensions alone; the evidence check is renamed")
    assert out.created and out.version.version == 2 and out.version.current
    return out.version.id


def definitions(app: App) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count(ProcessDefinition.id))) or 0)


def awaiting_validation(prog: Programme) -> Programme:
    prog.awaiting_evidence()
    prog.complete("submit_evidence", VISITOR, evidence())
    return prog


# --- deploying ---------------------------------------------------------------------------------------

def test_a_changed_exchange_is_deployed_after_its_checks_and_new_instances_start_on_it(programme: Programme) -> None:
    version_id = deploy_changed(programme)

    versions = {(v.process, v.version): v for v in list_versions(programme.app, programme.principal(AUDITOR))}
    assert versions[("exchange", 2)].current and not versions[("exchange", 1)].current
    new = versions[("exchange", 2)]
    assert (new.deployed_by, new.filename, new.checks["lint"]) == (ADMIN, "exchange-v2.bpmn", "clean")
    detail = version_detail(programme.app, programme.principal(ADMIN), version_id)
    changes = {(c.step, c.change) for c in detail.changes}
    assert next(c for c in detail.changes if c.step == "validate_evidence").to_label == NEW_LABEL
    assert {("host_consent_extension", "removed"), ("validate_evidence", "changed"),
            ("milestone_visit_started", "added")} <= changes
    assert [h.action for h in detail.history] == ["deployed"] and detail.history[0].by == ADMIN
    [event] = programme.events("process_version_deployed")
    assert event.actor == ADMIN and event.data_after["version"] == 2 and event.data_after["reason"].startswith("Officers")

    programme.submit_visitor_application()          # a new application: its instance runs version 2
    assert programme.instance().definition_id == version_id


def test_the_same_file_again_answers_its_version_and_an_older_one_is_a_conflict(programme: Programme) -> None:
    deploy_changed(programme)
    count = definitions(programme.app)
    again = deploy_version(programme.app, programme.principal(ADMIN), changed_process("exchange"), "again.bpmn", "again")
    assert not again.created and again.version.version == 2
    with pytest.raises(Conflict, match="version 1 of 'exchange'.*current version is 2"):
        deploy_version(programme.app, programme.principal(ADMIN), (BPMN_DIR / "exchange.bpmn").read_bytes(),
                       "exchange.bpmn", "back to the first")
    assert definitions(programme.app) == count


@pytest.mark.parametrize(("content", "problem"), [
    (b"<definitions>not BPMN</definitions>", "does not parse as BPMN 2.0"),
    (changed("exchange.bpmn", relabel("svc_check_eligibility", "x")).replace(
        b'serviceTaskOperator id="check_eligibility"', b'serviceTaskOperator id="check_eligibility_v2"'),
     "service task 'svc_check_eligibility' calls unknown service 'check_eligibility_v2'"),
    (without_form(),
     "user task 'validate_all_evidence' has no form"),
    (changed("hosting.bpmn").replace(b'<bpmn:process id="hosting"', b'<bpmn:process id="hosting_v2"')
     .replace(b'processRef="hosting"', b'processRef="hosting_v2"'), "process 'hosting_v2' is not one this programme runs"),
    (changed("hosting.bpmn", relabel("approve_host", "x")).replace(b'name="x"', b""),
     "bpmnlint: approve_host: Element is missing label/name"),
], ids=["not-bpmn", "unbound-service", "user-task-without-form", "unknown-process", "lint"])
def test_a_file_that_cannot_run_is_refused_naming_the_problem_and_nothing_is_stored(
        programme: Programme, content: bytes, problem: str) -> None:
    count = definitions(programme.app)
    with pytest.raises(Invalid) as refused:
        deploy_version(programme.app, programme.principal(ADMIN), content, "changed.bpmn", "a change")
    assert [f.loc for f in refused.value.fields] and all(f.loc == ("file",) for f in refused.value.fields)
    assert any(problem in f.msg for f in refused.value.fields), refused.value.fields
    assert definitions(programme.app) == count
    assert programme.events("process_version_deployed") == []


def test_a_deployment_names_a_missing_reason_and_a_file_that_is_no_bpmn(programme: Programme) -> None:
    admin = programme.principal(ADMIN)
    with pytest.raises(Invalid, match="reason: say why"):
        deploy_version(programme.app, admin, changed_process("exchange"), "exchange.bpmn", "  ")
    with pytest.raises(Invalid, match="'notes.txt' is not a .bpmn file"):
        deploy_version(programme.app, admin, changed_process("exchange"), "notes.txt", "why")
    with pytest.raises(Invalid, match="not UTF-8 text"):
        deploy_version(programme.app, admin, b"\xff\xfe<bpmn/>", "x.bpmn", "why")


def test_without_bpmnlint_the_deployment_checks_the_rest_and_says_lint_was_not_run(programme: Programme) -> None:
    programme.app.settings = programme.app.settings.model_copy(update={"bpmnlint": "/nowhere/bpmnlint"})
    out = deploy_version(programme.app, programme.principal(ADMIN), changed_process("exchange"), "e.bpmn", "no node here")
    assert out.created and "bpmnlint was not run: it is not installed" in out.lint
    assert out.version.checks["lint"] == "not run"
    with pytest.raises(Invalid, match="user task 'validate_all_evidence' has no form"):  # the rest is still checked
        deploy_version(programme.app, programme.principal(ADMIN), without_form(), "f.bpmn", "x")


@pytest.mark.parametrize("who", [OFFICER, AUDITOR, VISITOR])
def test_only_administrators_deploy_and_migrate_and_each_refusal_is_audited(programme: Programme, who: str) -> None:
    with pytest.raises(Refused, match="only administrators deploy process versions"):
        deploy_version(programme.app, programme.principal(who), changed_process("exchange"), "e.bpmn", "mine")
    with pytest.raises(Refused):
        migrate_instances(programme.app, programme.principal(who), 2, None, None, dry_run=True)
    with pytest.raises(Refused):
        rollback_instances(programme.app, programme.principal(who), 2, None, "undo")
    assert [e.actor for e in programme.events("access_refused")] == [who, who, who]
    assert definitions(programme.app) == 4  # call, exchange, hosting, registration: nothing deployed


# --- moving instances ----------------------------------------------------------------------------

def test_a_dry_run_says_per_instance_what_changes_and_whether_it_can_move_and_writes_nothing(
        programme: Programme) -> None:
    awaiting_validation(programme)
    version_id = deploy_changed(programme)
    before = programme.snapshot()

    report = migrate_instances(programme.app, programme.principal(ADMIN), version_id, dry_run=True)

    assert (report.dry_run, report.total, report.can_move, report.cannot_move) == (True, 1, 1, 0)
    [result] = report.results
    assert (result.instance_id, result.subject_ref, result.outcome) == (programme.instance_id, programme.exchange_ref,
                                                                         "can move")
    assert result.waiting_on == ["validate_evidence"]
    where = {c.step: (c.change, c.where) for c in result.changes}
    assert where["validate_evidence"] == ("changed", "waiting")
    assert where["svc_start_visit"] == ("changed", "done")
    assert where["host_consent_extension"] == ("removed", "not reached")
    assert programme.snapshot() == before


def test_a_migration_keeps_the_data_and_the_open_task_which_takes_its_new_name(programme: Programme) -> None:
    awaiting_validation(programme)
    task = programme.open_task("validate_evidence")
    data_before = instance_view(programme.app, programme.principal(ADMIN), programme.instance_id).data
    version_id = deploy_changed(programme)

    report = migrate_instances(programme.app, programme.principal(ADMIN), version_id, [programme.instance_id],
                               "Every exchange follows the new evidence check")

    assert (report.can_move, report.results[0].outcome) == (1, "moved")
    view = instance_view(programme.app, programme.principal(ADMIN), programme.instance_id)
    assert (view.version, view.data) == (2, data_before)
    [open_task] = view.open_tasks
    assert (open_task.id, open_task.task, open_task.name) == (task.id, "validate_evidence", NEW_LABEL)
    assert [(v.action, v.version) for v in view.versions] == [("started", 1), ("migrated", 2)]
    assert view.versions[1].by == ADMIN and view.versions[1].reason.startswith("Every exchange")
    [event] = programme.events("process_migrated")
    assert (event.instance_id, event.data_before["version"], event.data_after["version"]) == (programme.instance_id, 1, 2)
    assert event.data_after["tasks"][0]["after"]["name"] == NEW_LABEL
    history = version_detail(programme.app, programme.principal(AUDITOR), version_id).history
    assert [(h.action, h.instance_id, h.by) for h in history][1:] == [("migrated", programme.instance_id, ADMIN)]

    # and it goes on, on the new version, to the payment approval
    programme.complete("validate_evidence", OFFICER, {"decision": "accept", "comment": "ok"})
    assert programme.open_specs() == ["approve_payment"]
    assert programme.instance().definition_id == version_id


def call_waiting_a_week(prog: Programme) -> int:
    """The call's process, its one exchange matched, at its "Wait a week" timer (a duration: "P7D");
    its instance id. (The exchange's grants no longer wait on a timer but on a message.)"""
    from datetime import datetime

    from tests.workflows.builders import BRUSSELS, HOST, accept_match
    from workflows.services.lifecycle import start

    prog.submit_visitor_application().assessed()
    with prog.app.uow() as uow:
        call = start(prog.app, uow, "call", "call", prog.call_id, {"call_id": prog.call_id,
                                                                  "partnership_id": prog.north_id})
        uow.commit()
        call_id = call.id
    prog.complete("prepare_call", ADMIN, {"confirm": True}, instance_id=call_id)
    prog.advance_to(datetime(2027, 3, 6, 9, 0, tzinfo=BRUSSELS))          # the call closed: a matching round
    prog.complete("review_proposals", OFFICER, {"confirm": True, "drop_proposals": [], "comment": "ok"},
                  instance_id=call_id)
    prog.complete("visitor_accept_match", VISITOR, accept_match())
    prog.complete("host_accept_match", HOST, accept_match())
    prog.advance(timedelta(days=15))                                        # the next round finds nobody
    assert prog.instance(call_id).next_timer_at is not None and prog.open_specs(call_id) == []
    return call_id


def test_a_migration_keeps_the_moment_a_waiting_timer_fires(programme: Programme) -> None:
    """Spiff's migration resets a WAITING timer, which would start "wait a week" again from now."""
    call_id = call_waiting_a_week(programme)
    waiting = programme.instance(call_id)
    programme.advance(timedelta(days=2))
    out = deploy_version(programme.app, programme.principal(ADMIN),
                         changed("call.bpmn", relabel("prepare_call", "Prepare and check the call")), "call-v2.bpmn",
                         "The preparation is renamed")
    migrate_instances(programme.app, programme.principal(ADMIN), out.version.id, [call_id], "move")
    moved = programme.instance(call_id)
    assert moved.definition_id == out.version.id
    assert moved.next_timer_at == waiting.next_timer_at          # not a week from the migration


def test_an_instance_waiting_on_a_step_the_new_version_lacks_cannot_move(programme: Programme) -> None:
    from workflows.services.exchanges import request_extension

    programme.submit_visitor_application().assessed().matched().committed()
    request_extension(programme.app, programme.exchange_ref, programme.principal(VISITOR), date(2027, 2, 16),
                      "A second round of meetings")
    assert programme.open_specs() == ["host_consent_extension"]
    version_id = deploy_changed(programme)
    before = programme.snapshot()

    dry = migrate_instances(programme.app, programme.principal(ADMIN), version_id, dry_run=True)
    real = migrate_instances(programme.app, programme.principal(ADMIN), version_id, None, "move them all")

    reason = "it waits on 'Consent to the extension' (host_consent_extension), which version 2 does not have"
    assert dry.results[0].reasons == [reason] and dry.cannot_by_reason == {reason: 1}
    assert (real.results[0].outcome, real.results[0].reasons, real.cannot_move) == ("refused", [reason], 1)
    after = programme.snapshot()
    assert {k: v for k, v in after.items() if k != "events"} == {k: v for k, v in before.items() if k != "events"}
    [refusal] = programme.events("process_migration_refused")
    assert refusal.actor == ADMIN and refusal.data_after["reasons"] == [reason]


def test_an_instance_already_on_the_version_or_ended_does_not_move(programme: Programme) -> None:
    version_id = deploy_changed(programme)
    programme.submit_visitor_application()          # started after the deployment: on version 2
    admin = programme.principal(ADMIN)
    report = migrate_instances(programme.app, admin, version_id, [programme.instance_id], dry_run=True)
    assert report.results[0].reasons == ["it already runs version 2"]
    programme.complete("assess_application", OFFICER, {"decision": "reject", "comment": "Out of scope."})
    report = migrate_instances(programme.app, admin, 2, [programme.instance_id], dry_run=True)  # to version 1
    assert report.results[0].reasons == ["it has ended (end_rejected)"]


def test_unknown_instances_are_named_and_a_real_migration_needs_a_reason(programme: Programme) -> None:
    awaiting_validation(programme)
    version_id = deploy_changed(programme)
    admin = programme.principal(ADMIN)
    with pytest.raises(Invalid) as unknown:
        migrate_instances(programme.app, admin, version_id, [programme.instance_id, 999999], dry_run=True)
    assert [(f.loc, f.msg) for f in unknown.value.fields] == [(("instances", 1), "instance 999999 does not exist")]
    with pytest.raises(Invalid, match="reason: say why"):
        migrate_instances(programme.app, admin, version_id, [programme.instance_id], None)
    assert programme.instance().definition_id != version_id


# --- rolling back --------------------------------------------------------------------------------

def test_a_migration_is_rolled_back_to_the_version_state_and_task_it_had(programme: Programme) -> None:
    awaiting_validation(programme)
    before = programme.instance()
    task = programme.open_task("validate_evidence")
    version_id = deploy_changed(programme)
    migrate_instances(programme.app, programme.principal(ADMIN), version_id, None, "move")

    report = rollback_instances(programme.app, programme.principal(ADMIN), version_id, None, "The officers asked")

    assert (report.rollback, report.results[0].outcome, report.results[0].to_version) == (True, "rolled back", 1)
    after = programme.instance()
    assert (after.definition_id, after.state) == (before.definition_id, before.state)
    restored = programme.open_task("validate_evidence")
    assert (restored.id, restored.name, restored.task_guid) == (task.id, task.name, task.task_guid)
    view = instance_view(programme.app, programme.principal(ADMIN), programme.instance_id)
    assert [(v.action, v.version) for v in view.versions] == [("started", 1), ("migrated", 2), ("rolled_back", 1)]
    [event] = programme.events("process_migration_rolled_back")
    assert event.actor == ADMIN and event.data_after == {"version": 1, "definition_id": before.definition_id,
                                                         "reason": "The officers asked"}
    with programme.app.uow() as uow:
        [row] = uow.session.scalars(select(ProcessMigration)).all()
        assert (row.status, row.rolled_back_by, row.rollback_reason) == ("rolled_back", ADMIN, "The officers asked")
    # the exchange goes on, on its first version
    programme.complete("validate_evidence", OFFICER, {"decision": "accept", "comment": "ok"})
    assert programme.open_specs() == ["approve_payment"]


def test_an_instance_that_moved_on_since_its_migration_is_not_rolled_back(programme: Programme) -> None:
    awaiting_validation(programme)
    version_id = deploy_changed(programme)
    migrate_instances(programme.app, programme.principal(ADMIN), version_id, None, "move")
    programme.complete("validate_evidence", OFFICER, {"decision": "accept", "comment": "ok"})
    before = programme.snapshot()

    report = rollback_instances(programme.app, programme.principal(ADMIN), version_id, [programme.instance_id], "undo")

    assert report.results[0].outcome == "refused"
    assert "it has moved on since it was migrated" in report.results[0].reasons[0]
    assert "migrate it to version 1 instead" in report.results[0].reasons[0]
    assert {k: v for k, v in programme.snapshot().items() if k != "events"} == \
        {k: v for k, v in before.items() if k != "events"}
    assert len(programme.events("process_rollback_refused")) == 1


def test_moving_back_by_a_second_migration_works_where_a_rollback_cannot(programme: Programme) -> None:
    """An instance moved on since its move is taken back by migrating it to the older version."""
    awaiting_validation(programme)
    first = programme.instance().definition_id
    version_id = deploy_changed(programme)
    migrate_instances(programme.app, programme.principal(ADMIN), version_id, None, "move")
    programme.complete("validate_evidence", OFFICER, {"decision": "accept", "comment": "ok"})
    report = migrate_instances(programme.app, programme.principal(ADMIN), first, [programme.instance_id], "back")
    assert report.results[0].outcome == "moved"
    with programme.app.uow() as uow:
        assert uow.session.scalar(select(ProcessInstance.definition_id).where(
            ProcessInstance.id == programme.instance_id)) == first
        assert uow.session.scalar(select(func.count(HumanTask.id)).where(
            HumanTask.instance_id == programme.instance_id, HumanTask.status == "open")) == 1
        assert uow.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "process_migrated")) == 2


def test_a_step_whose_id_changed_is_aligned_by_the_flows_around_it(programme: Programme) -> None:
    """Spiff aligns a renamed element by its neighbours: the instance moves, and the dry run says so."""
    awaiting_validation(programme)
    renamed = changed("exchange.bpmn")
    for old, new in ((b'"gw_validation"', b'"gw_evidence_accepted"'), (b"_gw_validation<", b"_gw_evidence_accepted<"),
                     (b"_gw_validation\"", b"_gw_evidence_accepted\""), (b"flow_gw_validation_to", b"flow_gw_evidence_accepted_to")):
        renamed = renamed.replace(old, new)
    out = deploy_version(programme.app, programme.principal(ADMIN), renamed, "e.bpmn", "a clearer gateway id")
    assert ("gw_validation", "changed", "gw_evidence_accepted") in {(c.step, c.change, c.to_step) for c in out.changes}
    report = migrate_instances(programme.app, programme.principal(ADMIN), out.version.id, None, "move")
    assert report.results[0].outcome == "moved"
    programme.complete("validate_evidence", OFFICER, {"decision": "accept", "comment": "ok"})
    assert programme.open_specs() == ["approve_payment"]
