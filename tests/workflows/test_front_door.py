"""One front door: every use case takes a principal and asks the access module. A record the principal
may not see is not found (as an id that does not exist, HTTP 404) and nothing is written; one they see
but may not act on is refused and the refusal audited; an auditor reads everything and changes nothing."""
from __future__ import annotations

from datetime import UTC, datetime, timezone
from decimal import Decimal

import pytest

from reports.bankfiles import make_camt054
from tasks.forms import FormError
from tests.workflows.builders import (  # noqa: F401 - the fixture
    ADMIN,
    AUDITOR,
    FINANCE,
    HOST,
    OFFICER,
    OUTSIDER,
    SECOND_OFFICER,
    SOUTH_OFFICER,
    VISITOR,
    Programme,
    accept_evidence,
    approve,
    as_user,
    evidence,
    programme,
)
from workflows.services import Invalid, NotFound, Refused
from workflows.services.bank_feedback import import_status
from workflows.services.exchange_search import exchange_detail, search_exchanges
from workflows.services.inbox import claim, complete_task, form_invalid, list_tasks, reassign, unclaim
from workflows.services.payments import batch_detail, create_batch, list_batches, release_batch
from workflows.services.views import instance_view, resolve_instance

AT = datetime(2027, 2, 20, 7, 30, tzinfo=UTC)


def approved(prog: Programme) -> Programme:
    prog.awaiting_evidence()
    prog.complete("submit_evidence", VISITOR, evidence())
    prog.complete("validate_evidence", OFFICER, accept_evidence())
    prog.complete("approve_payment", SECOND_OFFICER, {"decision": "approve", "comment": None})
    return prog


def test_an_officer_of_another_partnership_finds_no_task_instance_or_exchange_and_nothing_is_written(
        programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()  # no host yet: the south partnership has no part in it
    task, south = programme.open_task("assess_application"), as_user(programme.app, SOUTH_OFFICER)
    before = programme.snapshot()

    for attempt in (lambda: claim(programme.app, task.id, south), lambda: unclaim(programme.app, task.id, south),
                    lambda: complete_task(programme.app, task.id, south, approve()),
                    lambda: reassign(programme.app, task.id, south, SOUTH_OFFICER)):
        with pytest.raises(NotFound, match=f"^task {task.id} does not exist$"):
            attempt()
    with pytest.raises(NotFound, match=f"^instance {programme.instance_id} does not exist$"):
        instance_view(programme.app, south, programme.instance_id)
    with pytest.raises(NotFound, match=f"^exchange {programme.exchange_ref} does not exist$"):
        exchange_detail(programme.app, south, programme.exchange_ref)
    with programme.app.uow() as uow, pytest.raises(NotFound):
        resolve_instance(uow, south, programme.exchange_ref)
    assert search_exchanges(programme.app, south).total == 0
    assert list_tasks(programme.app, south).total == 0
    assert programme.snapshot() == before

    officer = as_user(programme.app, OFFICER)
    assert [t.id for t in list_tasks(programme.app, officer).tasks] == [task.id]
    assert instance_view(programme.app, officer, programme.instance_id).subject_ref == programme.exchange_ref
    assert [x.ref for x in search_exchanges(programme.app, officer, q=programme.exchange_ref.lower()).exchanges] == \
        [programme.exchange_ref]


def test_a_batch_is_seen_by_its_partnership_and_the_auditor_and_released_by_its_finance_user_only(
        programme: Programme) -> None:  # noqa: F811
    prog = approved(programme)
    msg_id = create_batch(prog.app, "CXP-NORTH")["batch"]

    south = as_user(prog.app, SOUTH_OFFICER)
    assert list_batches(prog.app, south) == []
    with pytest.raises(NotFound, match=f"payment batch {msg_id} does not exist"):
        batch_detail(prog.app, south, msg_id)
    with pytest.raises(NotFound):
        release_batch(prog.app, msg_id, south)
    assert prog.events("batch_release_refused") == []

    for reader in (OFFICER, FINANCE, AUDITOR, ADMIN):
        assert [b.batch for b in list_batches(prog.app, as_user(prog.app, reader))] == [msg_id]
        assert batch_detail(prog.app, as_user(prog.app, reader), msg_id).transfers[0].exchange == prog.exchange_ref
    for refused in (OFFICER, AUDITOR):
        with pytest.raises(Refused, match="is not a finance officer of the partnership"):
            release_batch(prog.app, msg_id, as_user(prog.app, refused))
    assert [e.actor for e in prog.events("batch_release_refused")] == [OFFICER, AUDITOR]
    assert list_batches(prog.app, as_user(prog.app, VISITOR)) == []

    released = release_batch(prog.app, msg_id, as_user(prog.app, FINANCE))
    assert (released.status, released.released_by) == ("released", FINANCE)
    detail = batch_detail(prog.app, as_user(prog.app, AUDITOR), msg_id)
    assert detail.model_dump(mode="json")["control_sum"] == "1100.00" and detail.released_by == FINANCE


def test_an_applicant_sees_their_own_organisations_exchanges_and_tasks_only(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().propose_match()
    visitor, host, outsider = (as_user(programme.app, u) for u in (VISITOR, HOST, OUTSIDER))

    assert [x.ref for x in search_exchanges(programme.app, visitor).exchanges] == [programme.exchange_ref]
    assert [x.ref for x in search_exchanges(programme.app, visitor, q="nova").exchanges] == [programme.exchange_ref]
    assert search_exchanges(programme.app, host).total == 0  # proposed, not matched: not theirs yet
    assert search_exchanges(programme.app, outsider).total == 0
    assert [t.task for t in list_tasks(programme.app, visitor).tasks] == ["visitor_accept_match"]
    assert list_tasks(programme.app, outsider).total == 0
    with pytest.raises(NotFound):
        instance_view(programme.app, outsider, programme.instance_id)
    assert instance_view(programme.app, visitor, programme.instance_id).id == programme.instance_id


def test_the_exchange_search_matches_reference_organisation_and_country(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().matched()
    auditor = as_user(programme.app, AUDITOR)
    for q in (programme.exchange_ref[-3:], "HELIX cluster", "at", "be"):
        found = search_exchanges(programme.app, auditor, q=q)
        assert [x.ref for x in found.exchanges] == [programme.exchange_ref], q
    assert search_exchanges(programme.app, auditor, q="nowhere").total == 0
    one = search_exchanges(programme.app, auditor, country="at", status=programme.exchange().status).exchanges[0]
    assert (one.visitor.name, one.visitor.country, one.host.country) == ("Nova Cluster Brussels", "BE", "AT")
    assert one.instance_id == programme.instance_id and one.visitor_partnership == "CXP-NORTH"
    with pytest.raises(Invalid) as raised:
        search_exchanges(programme.app, auditor, country="Austria")
    assert [f.loc for f in raised.value.fields] == [("country",)]


def test_an_auditor_reads_every_record_but_claiming_or_completing_is_refused_and_audited(
        programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    task, auditor = programme.open_task("assess_application"), as_user(programme.app, AUDITOR)

    view = instance_view(programme.app, auditor, programme.instance_id)
    assert [t.id for t in view.open_tasks] == [task.id] and view.history
    assert list_tasks(programme.app, auditor, role="officer").total == 1
    with pytest.raises(Refused, match="auditor is auditor"):
        claim(programme.app, task.id, auditor)
    with pytest.raises(Refused, match="auditor is auditor"):
        complete_task(programme.app, task.id, auditor, approve())
    with pytest.raises(Refused):
        unclaim(programme.app, task.id, auditor)
    assert [(e.actor, e.task) for e in programme.events("task_refused")] == [(AUDITOR, "assess_application")] * 3
    assert programme.open_task("assess_application").assignee_id is None


def test_an_officer_hands_a_task_to_a_colleague_of_the_partnership_and_it_is_audited(
        programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    task, officer = programme.open_task("assess_application"), as_user(programme.app, OFFICER)
    claim(programme.app, task.id, officer)

    handed = reassign(programme.app, task.id, officer, SECOND_OFFICER)
    assert (handed.task.assignee, handed.task.assignee_id) == (SECOND_OFFICER, programme.users[SECOND_OFFICER])
    assert handed.previous_assignee == OFFICER
    event, = programme.events("task_reassigned")
    assert (event.actor, event.data_before, event.data_after) == (
        OFFICER, {"assignee": OFFICER}, {"human_task": task.id, "assignee": SECOND_OFFICER})

    with pytest.raises(Refused, match="finance.north is not a officer of officer2.north's partnership"):
        reassign(programme.app, task.id, as_user(programme.app, SECOND_OFFICER), FINANCE)
    with pytest.raises(Refused, match="may not reassign"):
        reassign(programme.app, task.id, as_user(programme.app, AUDITOR), OFFICER)
    with pytest.raises(Refused, match="needs a officer"):
        reassign(programme.app, task.id, as_user(programme.app, ADMIN), VISITOR)
    assert len(programme.events("task_refused")) == 3
    with pytest.raises(Invalid) as raised:
        reassign(programme.app, task.id, officer, "nobody")
    assert [f.loc for f in raised.value.fields] == [("to",)]

    back = reassign(programme.app, task.id, as_user(programme.app, ADMIN), OFFICER)
    assert back.task.assignee == OFFICER and programme.open_task("assess_application").assignee_id == programme.users[OFFICER]
    programme.complete("assess_application", OFFICER, approve())


def test_invalid_form_data_keeps_each_field_with_list_indices_as_integers(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    with pytest.raises(Invalid) as raised:
        complete_task(programme.app, task.id, as_user(programme.app, OFFICER), {"decision": "reject"})
    assert [(f.loc, f.msg) for f in raised.value.fields] == [(("comment",), "is required when the decision is not approve")]
    assert str(raised.value).startswith("invalid data for task assess_application: comment: ")

    err = form_invalid(FormError("submit_evidence", [{"field": "documents.0.sha256", "message": "is not a hash"},
                                                     {"field": "", "message": "the form is empty"}]))
    assert [(f.loc, f.msg) for f in err.fields] == [(("documents", 0, "sha256"), "is not a hash"),
                                                    ((), "the form is empty")]


def test_the_instance_names_its_completed_and_active_bpmn_steps_while_running_and_once_closed(
        programme: Programme) -> None:  # noqa: F811
    programme.awaiting_evidence()
    running = instance_view(programme.app, as_user(programme.app, OFFICER), programme.instance_id)
    assert {"start", "assess_application"} <= set(running.completed_step_ids)
    assert "submit_evidence" in running.active_step_ids and "submit_evidence" not in running.completed_step_ids
    assert running.incident_step_ids == []
    assert not any(s in ("Start", "End", "Root") or "." in s for s in running.completed_step_ids + running.active_step_ids)

    prog = programme
    prog.complete("submit_evidence", VISITOR, evidence())
    prog.complete("validate_evidence", OFFICER, accept_evidence())
    prog.complete("approve_payment", SECOND_OFFICER, {"decision": "approve", "comment": None})
    msg_id = create_batch(prog.app, "CXP-NORTH")["batch"]
    release_batch(prog.app, msg_id, as_user(prog.app, FINANCE))
    import_status(prog.app, make_camt054([(prog.exchange_ref, Decimal("1100.00"))], "NTF-1", AT, "BE68539007547034",
                                         original_msg_id=msg_id), "NTF-1.xml", as_user(prog.app, FINANCE))
    closed = instance_view(prog.app, as_user(prog.app, AUDITOR), prog.instance_id)
    assert closed.status == "completed" and closed.active_step_ids == []
    assert {"start", "assess_application", "validate_evidence", "approve_payment", "end_closed"} <= \
        set(closed.completed_step_ids)
    assert closed.model_dump(mode="json")["history"][0]["action"] == "process_started"
