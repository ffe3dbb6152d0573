"""Who may complete a task (lane, partnership, organisation, R-4EYES) and with what data: a refusal is
a clear sentence, is audited, and changes nothing else; invalid form data names the field."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.workflows.builders import (
    FINANCE,
    OFFICER,
    OUTSIDER,
    SECOND_OFFICER,
    SOUTH_OFFICER,
    VISITOR,
    Programme,
    accept_evidence,
    approve,
    as_user,  # noqa: F401
    commitment,
    evidence,
    programme,
)
from workflows.db.models import Claim
from workflows.services import NotFound, PermissionDenied, ServiceError
from workflows.services.inbox import claim, complete_task


def refused(programme: Programme, spec: str, username: str, data: dict) -> str:  # noqa: F811
    """Try to complete `spec` as `username`: the refusal's message, after checking nothing else changed
    and that exactly one `task_refused` event naming the user and the reason was committed."""
    task = programme.open_task(spec)
    before = programme.snapshot()
    refusals = len(programme.events("task_refused"))
    with pytest.raises(PermissionDenied) as caught:
        complete_task(programme.app, task.id, as_user(programme.app, username), data)
    after = programme.snapshot()
    assert after["events"] == before["events"] + 1
    assert {**after, "events": before["events"]} == before
    events = programme.events("task_refused")
    assert len(events) == refusals + 1
    event = events[-1]
    assert (event.actor, event.task, event.instance_id) == (username, spec, programme.instance_id)
    assert event.data_after == {"human_task": task.id, "reason": str(caught.value)}
    return str(caught.value)


def hidden(programme: Programme, spec: str, username: str, data: dict) -> str:  # noqa: F811
    """Try to complete `spec` as `username`, who may not see it: `NotFound` as for an id that does not
    exist (HTTP 404), nothing written, not even a refusal (there is nothing to tell them about)."""
    task = programme.open_task(spec)
    before = programme.snapshot()
    with pytest.raises(NotFound) as caught:
        complete_task(programme.app, task.id, as_user(programme.app, username), data)
    assert str(caught.value) == f"task {task.id} does not exist"
    assert programme.snapshot() == before
    return str(caught.value)


def test_an_officer_of_another_partnership_does_not_see_the_task_and_a_finance_user_is_refused_it(
        programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    hidden(programme, "assess_application", SOUTH_OFFICER, approve())
    assert refused(programme, "assess_application", FINANCE, approve()).endswith(
        "belongs to the Officer lane (officer); finance.north is finance")

    task = programme.open_task("assess_application")
    with pytest.raises(NotFound, match=f"task {task.id} does not exist"):
        claim(programme.app, task.id, as_user(programme.app, SOUTH_OFFICER))
    assert programme.open_task("assess_application").assignee_id is None
    assert [e.actor for e in programme.events("task_refused")] == [FINANCE]


def test_an_applicant_of_another_organisation_does_not_see_the_task(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().propose_match()
    hidden(programme, "visitor_accept_match", OUTSIDER, {"accept": True})


def test_a_task_claimed_by_one_officer_is_refused_to_another(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    claim(programme.app, programme.open_task("assess_application").id, as_user(programme.app, OFFICER))
    message = refused(programme, "assess_application", SECOND_OFFICER, approve())
    assert "claimed by someone else" in message
    programme.complete("assess_application", OFFICER, approve())
    assert programme.exchange().status == "awaiting_match"


def test_an_officer_with_a_conflict_of_interest_cannot_assess_the_application(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    programme.declare_conflict(SECOND_OFFICER, programme.visitor_org_id)
    message = refused(programme, "assess_application", SECOND_OFFICER, approve())
    assert "conflict of interest" in message and str(programme.visitor_org_id) in message
    programme.complete("assess_application", OFFICER, approve())
    assert programme.open_specs() == []


def test_the_officer_who_validated_the_evidence_cannot_approve_the_payment(programme: Programme) -> None:  # noqa: F811
    programme.awaiting_evidence()
    programme.complete("submit_evidence", VISITOR, evidence())
    programme.complete("validate_evidence", OFFICER, accept_evidence())
    assert programme.open_specs() == ["approve_payment"]

    message = refused(programme, "approve_payment", OFFICER, {"decision": "approve"})
    assert "You validated the evidence of this claim" in message

    programme.complete("approve_payment", SECOND_OFFICER, {"decision": "approve"})
    with programme.app.uow() as uow:
        grant = uow.session.scalars(select(Claim).where(Claim.exchange_id == programme.exchange_id)).one()
        assert (grant.status, grant.validated_by, grant.approved_by) == (
            "approved", programme.users[OFFICER], programme.users[SECOND_OFFICER])
        assert str(grant.amount) == "1100.00"
    assert programme.exchange().status == "awaiting_payment"


# ---- form data -------------------------------------------------------------------------------------
def form_refused(programme: Programme, spec: str, username: str, data: dict) -> str:  # noqa: F811
    task = programme.open_task(spec)
    before = programme.snapshot()
    with pytest.raises(ServiceError) as caught:
        complete_task(programme.app, task.id, as_user(programme.app, username), data)
    assert not isinstance(caught.value, PermissionDenied)
    assert programme.snapshot() == before
    return str(caught.value)


def test_invalid_assessment_data_is_refused_naming_each_field(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    message = form_refused(programme, "assess_application", OFFICER, {"decision": "reject"})
    assert message == ("invalid data for task assess_application: "
                       "comment: is required when the decision is not approve")
    message = form_refused(programme, "assess_application", OFFICER, {"decision": "maybe", "mood": "good"})
    assert "decision: " in message and "mood: is not a field of this form" in message


def test_invalid_dates_and_evidence_are_refused_naming_the_field(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().matched()
    data = commitment()
    data["departure"] = "2027-02-01"
    message = form_refused(programme, "agree_commitment", VISITOR, data)
    assert "departure: must be after the arrival date" in message

    programme.committed().visited()
    data = evidence()
    data["documents"] = [d for d in data["documents"] if d["kind"] != "attendance_certificate"]
    data["feedback_rating"] = 9
    message = form_refused(programme, "submit_evidence", VISITOR, data)
    assert "documents: must include the host's attendance certificate" in message
    assert "feedback_rating: " in message



def test_an_outsider_is_refused_before_the_form_is_checked_and_the_refusal_is_audited(programme):
    """Someone with no right to a task learns nothing about its form, and the attempt is audited."""
    from workflows.services import PermissionDenied

    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    refused_before = len(programme.events("task_refused"))
    with pytest.raises(PermissionDenied):
        programme.complete("assess_application", FINANCE, {"decision": "nonsense"})
    assert len(programme.events("task_refused")) == refused_before + 1
    assert programme.open_task("assess_application").id == task.id
