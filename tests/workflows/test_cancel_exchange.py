"""An officer cancels a running exchange at any stage before its payment (issue 10, point 2): the
process ends as `end_cancelled`, nothing is left waiting, and what the exchange held is released."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.workflows.builders import (
    FINANCE,
    OFFICER,
    SECOND_OFFICER,
    VISITOR,
    Programme,
    accept_evidence,
    as_user,  # noqa: F401
    evidence,
    programme,
)
from workflows.db.models import Application, Claim, MatchProposal
from workflows.db.process_models import HumanTask
from workflows.services import PermissionDenied, ServiceError
from workflows.services.exchanges import cancel_exchange


def assert_cancelled(prog: Programme) -> None:
    instance = prog.instance()
    assert (instance.status, instance.outcome) == ("completed", "end_cancelled")
    assert instance.next_timer_at is None and instance.waiting_messages == [] and instance.incident is None
    assert prog.exchange().status == "cancelled" and prog.open_specs() == []
    terminated = prog.events("process_terminated")[-1]
    assert terminated.instance_id == prog.instance_id and terminated.data_after["outcome"] == "end_cancelled"


def test_an_officer_cancels_an_exchange_waiting_for_a_match(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed()
    result = cancel_exchange(programme.app, programme.exchange_ref, as_user(programme.app, OFFICER), "The organisation withdrew.")
    assert result.model_dump() == {"exchange": programme.exchange_ref, "action": "cancelled",
                                   "stage": "awaiting_match", "status": "cancelled"}
    assert_cancelled(programme)
    event = programme.events("exchange_cancelled")[0]
    assert (event.actor, event.data_after) == (OFFICER, {"reason": "The organisation withdrew.",
                                                         "stage": "awaiting_match"})
    application = programme._get(Application, programme.exchange().visitor_application_id)
    assert application.status == "cancelled"


def test_cancelling_while_the_match_waits_for_answers_withdraws_the_proposal(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().propose_match()
    assert programme.open_specs() == ["host_accept_match", "visitor_accept_match"]
    cancel_exchange(programme.app, programme.exchange_ref, as_user(programme.app, OFFICER), "The host closed its lab.")
    assert_cancelled(programme)
    with programme.app.uow() as uow:
        assert uow.session.scalars(select(MatchProposal.status)).all() == ["withdrawn"]
        statuses = uow.session.scalars(select(HumanTask.status).where(
            HumanTask.instance_id == programme.instance_id, HumanTask.task_spec.like("%accept_match"))).all()
    assert sorted(statuses) == ["cancelled", "cancelled"]


def test_cancelling_after_the_budget_commitment_releases_it(programme: Programme) -> None:  # noqa: F811
    programme.awaiting_evidence()
    programme.complete("submit_evidence", VISITOR, evidence())
    programme.complete("validate_evidence", OFFICER, accept_evidence())
    assert programme.open_specs() == ["approve_payment"]
    cancel_exchange(programme.app, programme.exchange_ref, as_user(programme.app, SECOND_OFFICER), "Double funding found.")
    assert_cancelled(programme)
    with programme.app.uow() as uow:
        claim = uow.session.scalars(select(Claim)).one()
        assert (claim.status, claim.status_reason) == ("released", "cancelled: Double funding found.")


def test_an_approved_payment_cannot_be_cancelled(programme: Programme) -> None:  # noqa: F811
    programme.awaiting_evidence()
    programme.complete("submit_evidence", VISITOR, evidence())
    programme.complete("validate_evidence", OFFICER, accept_evidence())
    programme.complete("approve_payment", SECOND_OFFICER, {"decision": "approve", "comment": None})
    before = programme.snapshot()
    with pytest.raises(ServiceError, match="its payment is approved"):
        cancel_exchange(programme.app, programme.exchange_ref, as_user(programme.app, OFFICER), "Too late.")
    assert programme.snapshot() == before


def test_applicants_outsiders_and_conflicted_officers_are_refused_and_audited(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed()
    programme.declare_conflict(SECOND_OFFICER, programme.visitor_org_id)
    before = programme.snapshot()
    for who, match in ((VISITOR, "only the exchange's partnership officers"), (FINANCE, "may not act"),
                       (SECOND_OFFICER, "conflict of interest")):
        with pytest.raises(PermissionDenied, match=match):
            cancel_exchange(programme.app, programme.exchange_ref, as_user(programme.app, who), "No.")
    assert [e.actor for e in programme.events("request_refused")] == [VISITOR, FINANCE, SECOND_OFFICER]
    after = programme.snapshot()
    assert after["events"] == before["events"] + 3
    assert {k: v for k, v in after.items() if k != "events"} == {k: v for k, v in before.items() if k != "events"}
    assert programme.instance().status == "running"

