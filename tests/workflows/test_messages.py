"""Requests that arrive during an exchange as BPMN messages: an extension moves the departure and the
visit-end timer; a cancellation still asks for evidence and ends without a grant; a message the
instance does not wait for is refused and changes nothing."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.workflows.builders import (
    ARRIVAL,
    BRUSSELS,
    DEPARTURE,
    FINANCE,
    HOST,
    OFFICER,
    OUTSIDER,
    VISITOR,
    Programme,
    accept_evidence,
    as_user,  # noqa: F401
    evidence,
    programme,
)
from workflows.db.models import Claim
from workflows.services import NotFound, PermissionDenied, ServiceError
from workflows.services.exchanges import cancel_exchange, request_extension

DURING_THE_VISIT = datetime(2027, 2, 8, 10, 0, tzinfo=BRUSSELS)


def evening(day) -> datetime:  # type: ignore[no-untyped-def]
    return datetime(day.year, day.month, day.day, 18, 0, tzinfo=BRUSSELS)


def test_an_extension_during_the_visit_moves_the_departure_and_the_visit_end(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().matched().committed()
    assert programme.instance().next_timer_at == evening(DEPARTURE)
    programme.advance_to(DURING_THE_VISIT)
    new_departure = DEPARTURE + timedelta(days=7)

    request_extension(programme.app, programme.exchange_ref, as_user(programme.app, VISITOR), new_departure, "A second matchmaking round.")
    # the host's consent is due the evening before the planned departure, not a fortnight later
    assert programme.open_task("host_consent_extension").due_at == evening(DEPARTURE - timedelta(days=1))
    programme.complete("host_consent_extension", HOST, {"consent": True, "comment": "Welcome."})
    assert programme.exchange().departure == DEPARTURE  # not before the officer decides
    programme.complete("decide_extension", OFFICER, {"approve": True, "comment": "Within one month."})

    assert programme.exchange().departure == new_departure
    assert programme.instance().next_timer_at == evening(new_departure)
    applied = programme.events("extension_applied")
    assert len(applied) == 1 and applied[0].data_before == {"departure": DEPARTURE.isoformat()}

    programme.advance_to(evening(DEPARTURE) + timedelta(days=1))
    assert programme.open_specs() == []
    assert programme.exchange().status == "visit_planned"
    programme.advance_to(evening(new_departure) + timedelta(minutes=1))
    assert programme.open_task("submit_evidence").due_at == evening(new_departure + timedelta(days=15))


def test_a_cancellation_ends_without_a_grant_as_cancelled(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().matched().committed()
    programme.advance_to(DURING_THE_VISIT)

    cancel_exchange(programme.app, programme.exchange_ref, as_user(programme.app, VISITOR), "Our delegate fell ill.")
    exchange = programme.exchange()
    assert exchange.cancelled and exchange.status == "awaiting_evidence"
    assert programme.open_specs() == ["submit_evidence"]  # the closing report is still asked for
    assert len(programme.events("exchange_cancelled")) == 1

    programme.complete("submit_evidence", VISITOR, evidence(attended=[ARRIVAL + timedelta(days=1)]))
    programme.complete("validate_evidence", OFFICER, accept_evidence())

    instance = programme.instance()
    assert (instance.status, instance.outcome) == ("completed", "end_closed_without_grant")
    assert programme.exchange().status == "cancelled"
    assert programme.open_specs() == []
    with programme.app.uow() as uow:
        grant = uow.session.scalars(select(Claim).where(Claim.exchange_id == programme.exchange_id)).one()
        assert (grant.status, str(grant.amount)) == ("released", "0.00")
    closing = programme.emails("exchange_closed")
    assert len(closing) == 1 and closing[0].context["amount"] == "0.00"


def test_a_message_the_instance_is_not_waiting_for_is_refused_and_changes_nothing(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    before = programme.snapshot()
    with pytest.raises(ServiceError) as caught:
        request_extension(programme.app, programme.exchange_ref, as_user(programme.app, VISITOR), DEPARTURE, "Too early to ask.")
    assert str(caught.value) == f"exchange {programme.exchange_ref} is not waiting for 'extension_requested' now"
    assert programme.snapshot() == before
    assert programme.events("extension_requested") == programme.events("cancellation_requested") == []
    # before the visit only an officer cancels: the applicant's attempt is refused and audited
    with pytest.raises(PermissionDenied, match="only the exchange's partnership officers may"):
        cancel_exchange(programme.app, programme.exchange_ref, as_user(programme.app, VISITOR), "Changed our minds.")
    assert [e.data_after["request"] for e in programme.events("request_refused")] == ["cancellation"]

    programme.complete("assess_application", OFFICER, {"decision": "reject", "comment": "Off topic."})
    assert programme.exchange().status == "rejected"
    with pytest.raises(ServiceError, match="has already ended \\(rejected\\); there is nothing to cancel"):
        cancel_exchange(programme.app, programme.exchange_ref, as_user(programme.app, OFFICER), "Too late.")


def test_requests_are_refused_to_outsiders_and_without_a_reason(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().matched().committed()
    programme.advance_to(DURING_THE_VISIT)
    before = programme.snapshot()
    with pytest.raises(NotFound, match=f"exchange {programme.exchange_ref} does not exist"):
        cancel_exchange(programme.app, programme.exchange_ref, as_user(programme.app, OUTSIDER), "Not mine to cancel.")
    assert programme.snapshot() == before  # an outsider learns nothing, and nothing is written
    with pytest.raises(PermissionDenied, match=f"finance.north may not act on exchange {programme.exchange_ref}"):
        cancel_exchange(programme.app, programme.exchange_ref, as_user(programme.app, FINANCE), "Not mine to cancel.")
    refusals = programme.events("request_refused")
    assert [(e.actor, e.data_after["request"]) for e in refusals] == [("finance.north", "cancellation")]
    before["events"] += 1  # the audited refusal is the only change
    with pytest.raises(ServiceError, match="^reason: "):
        cancel_exchange(programme.app, programme.exchange_ref, as_user(programme.app, VISITOR), "  ")
    with pytest.raises(ServiceError, match="^departure: 2027-02-12 is not after the planned departure 2027-02-13"):
        request_extension(programme.app, programme.exchange_ref, as_user(programme.app, VISITOR), DEPARTURE - timedelta(days=1), "Shorter.")
    assert programme.snapshot() == before
