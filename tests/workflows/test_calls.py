"""A call's budget (workflows/services/calls.py), on SQLite and PostgreSQL: raised or lowered by an
administrator with a reason, never below what is committed and paid; a grant that starts to wait
tells the administrators; raising the budget approves the waiting grants in their order, in the same
transaction, through the engine, and tells their applicants and officers; a cancellation's released
commitment goes to the next waiting grant. Every refusal is one sentence naming the field and changes
nothing; a refused person is audited."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.workflows.builders import (
    ADMIN,
    BRUSSELS,
    DEPARTURE,
    HOST,
    OFFICER,
    OUTSIDER,
    SOUTH_OFFICER,
    VISITOR,
    Programme,
    accept_evidence,
    accept_match,
    commitment,
    evidence,
    programme,  # noqa: F401 - the fixture
    signature,
)
from workflows.db.models import Application, Call, Claim, Exchange, MatchProposal
from workflows.services import Invalid, NotFound, Refused
from workflows.services.calls import change_budget
from workflows.services.exchanges import cancel_exchange
from workflows.services.lifecycle import deliver, instance_for, submit_application

REASON = "Co-funding confirmed by the partners."


def _call(prog: Programme) -> Call:
    with prog.app.uow() as uow:
        call = uow.session.get(Call, prog.call_id)
        uow.session.expunge_all()
        return call


def _set_budget(prog: Programme, amount: str) -> None:
    with prog.app.uow() as uow:
        uow.session.get(Call, prog.call_id).budget = Decimal(amount)
        uow.commit()


def _claim(prog: Programme, exchange_id: int) -> Claim:
    with prog.app.uow() as uow:
        claim = uow.session.scalars(select(Claim).where(Claim.exchange_id == exchange_id)).one()
        uow.session.expunge_all()
        return claim


def _second_visitor(prog: Programme) -> tuple[int, int, str]:
    """The outsider organisation's own exchange with the same host, to its evidence: (instance, exchange, ref)."""
    with prog.app.uow() as uow:
        application = Application(
            call_id=prog.call_id, organisation_id=prog.outsider_org_id, partnership_id=prog.north_id, role="visitor",
            format="exchange_visit", date_from=date(2027, 2, 1), date_to=date(2027, 3, 1), sectors=["digital"],
            wished_countries=["AT"], motivation="Peers abroad.", declaration_given=True, audit_rights_accepted=True,
            submitted_at=uow.now())
        uow.session.add(application)
        uow.session.flush()
        instance = submit_application(prog.app, uow, application)
        uow.commit()
        instance_id, exchange_id = instance.id, instance.subject_id
    prog.complete("assess_application", OFFICER, {"decision": "approve", "comment": "ok"}, instance_id)
    with prog.app.uow() as uow:
        exchange = uow.session.get(Exchange, exchange_id)
        proposal = MatchProposal(call_id=prog.call_id, round=1, visitor_application_id=exchange.visitor_application_id,
                                 host_application_id=prog.host_application_id, score=Decimal("0.8"), explanation={},
                                 status="sent", created_at=uow.now())
        uow.session.add(proposal)
        uow.session.flush()
        deliver(prog.app, uow, instance_for(uow, "exchange", exchange_id), "match_proposed", {
            "exchange_id": exchange_id, "proposal_id": proposal.id, "host_application_id": prog.host_application_id,
            "host_org_id": prog.host_org_id, "host_partnership_id": prog.south_id, "host_name": "Helix", "score": "0.8"})
        uow.commit()
        ref = exchange.ref
    for spec, who, data in (("visitor_accept_match", OUTSIDER, accept_match()), ("host_accept_match", HOST, accept_match()),
                            ("agree_commitment", OUTSIDER, commitment()),
                            ("sign_commitment_visitor", OUTSIDER, signature()), ("sign_commitment_host", HOST, signature()),
                            ("sign_commitment_visitor_officer", OFFICER, signature()),
                            ("sign_commitment_host_officer", SOUTH_OFFICER, signature())):
        prog.complete(spec, who, data, instance_id)
    return instance_id, exchange_id, ref


def _both_waiting(prog: Programme) -> tuple[tuple[int, int, str], tuple[int, int, str]]:
    """Two exchanges whose grants (EUR 1,100 each) both wait for budget: the programme's own first."""
    prog.submit_visitor_application().assessed().matched().committed()
    second = _second_visitor(prog)
    prog.advance_to(datetime(DEPARTURE.year, DEPARTURE.month, DEPARTURE.day, 20, 0, tzinfo=BRUSSELS))
    prog.complete("submit_evidence", VISITOR, evidence())
    prog.complete("submit_evidence", OUTSIDER, evidence(), second[0])
    _set_budget(prog, "10.00")
    prog.complete("validate_evidence", OFFICER, accept_evidence())
    prog.complete("validate_evidence", OFFICER, accept_evidence(), second[0])
    assert prog.instance_id is not None and prog.exchange_id is not None and prog.exchange_ref is not None
    return (prog.instance_id, prog.exchange_id, prog.exchange_ref), second


def test_an_administrator_raises_and_lowers_a_budget_each_change_audited_with_its_reason(programme: Programme) -> None:  # noqa: F811
    admin = programme.principal(ADMIN)
    raised = change_budget(programme.app, "CXP-TEST-01", admin, "31500.00", REASON)
    lowered = change_budget(programme.app, "CXP-TEST-01", admin, Decimal("28000"), "The second partner withdrew.")
    assert (raised.budget_before, raised.budget, raised.approved) == (Decimal("30000.00"), Decimal("31500.00"), [])
    assert (lowered.budget, lowered.after.left, lowered.after.committed) == (Decimal("28000.00"),) * 2 + (Decimal("0.00"),)
    assert _call(programme).budget == Decimal("28000.00")
    [up] = programme.events("call_budget_raised")
    [down] = programme.events("call_budget_lowered")
    assert (up.actor, up.subject, up.data_before, up.data_after["reason"]) == (
        ADMIN, "call:CXP-TEST-01", {"budget": "30000.00"}, REASON)
    assert (down.data_before, down.data_after["budget"], down.data_after["reason"]) == (
        {"budget": "31500.00"}, "28000.00", "The second partner withdrew.")


@pytest.mark.parametrize(("code", "user", "amount", "reason", "error", "message"), [
    ("CXP-TEST-01", ADMIN, "30000.00", REASON, Invalid, "budget: the budget of CXP-TEST-01 is EUR 30000.00 already"),
    ("CXP-TEST-01", ADMIN, "31000.005", REASON, Invalid, "budget: 31000.005 has more than two decimals"),
    ("CXP-TEST-01", ADMIN, "lots", REASON, Invalid, "budget: 'lots' is not an amount in euros"),
    ("CXP-TEST-01", ADMIN, "-5", REASON, Invalid, "budget: EUR -5 is not a positive amount"),
    ("CXP-TEST-01", ADMIN, "0", REASON, Invalid, "budget: EUR 0 is not a positive amount"),
    ("CXP-TEST-01", ADMIN, "NaN", REASON, Invalid, "budget: 'NaN' is not an amount in euros"),
    ("CXP-TEST-01", ADMIN, "31000.00", "  ", Invalid, "reason: changing a call's budget needs a reason"),
    ("CXP-NONE", ADMIN, "31000.00", REASON, NotFound, "call: no call 'CXP-NONE'"),
    ("CXP-TEST-01", OFFICER, "31000.00", REASON, Refused, "officer1.north is officer and may not change the budget"),
])
def test_a_refused_change_changes_nothing(programme: Programme, code: str, user: str, amount: str,  # noqa: F811
                                          reason: str, error: type, message: str) -> None:
    with pytest.raises(error) as raised:
        change_budget(programme.app, code, programme.principal(user), amount, reason)
    assert str(raised.value).startswith(message)
    if error is Invalid:
        assert [f.field for f in raised.value.fields] == [message.split(":")[0]]
    assert _call(programme).budget == Decimal("30000.00")
    assert programme.events("call_budget_raised") == programme.events("call_budget_lowered") == []
    refusals = programme.events("admin_change_refused")
    assert [(e.actor, e.subject) for e in refusals] == ([(OFFICER, "call:CXP-TEST-01")] if error is Refused else [])


def test_the_budget_is_never_lowered_below_what_is_committed_and_paid(programme: Programme) -> None:  # noqa: F811
    programme.awaiting_evidence()
    programme.complete("submit_evidence", VISITOR, evidence())
    programme.complete("validate_evidence", OFFICER, accept_evidence())        # EUR 1,100 committed
    with pytest.raises(Invalid, match=r"^budget: EUR 1000.00 is below what is committed \(EUR 1100.00\) and paid "
                                      r"\(EUR 0.00\): the budget must be at least EUR 1100.00$"):
        change_budget(programme.app, "CXP-TEST-01", programme.principal(ADMIN), "1000.00", REASON)
    exact = change_budget(programme.app, "CXP-TEST-01", programme.principal(ADMIN), "1100.00", REASON)
    assert exact.after.left == Decimal("0.00") and exact.after.committed == Decimal("1100.00")


def test_a_waiting_grant_tells_the_administrators_and_a_raise_approves_it_in_the_same_transaction(
        programme: Programme) -> None:  # noqa: F811
    programme.awaiting_evidence()
    programme.complete("submit_evidence", VISITOR, evidence())
    _set_budget(programme, "10.00")
    programme.complete("validate_evidence", OFFICER, accept_evidence())
    assert programme.exchange().status == "waiting_budget" and programme.open_specs() == []
    assert programme.instance().waiting_messages == ["budget_available"]
    [alert] = programme.emails("grant_waiting_budget")
    assert alert.recipients == ["support@cx.local"] and alert.context["exchange_ref"] == programme.exchange_ref
    assert alert.context["remaining"] == "10.00" and alert.context["amount"] == "1100.00"

    short = change_budget(programme.app, "CXP-TEST-01", programme.principal(ADMIN), "600.00", REASON)
    assert short.approved == [] and short.after.waiting_grants == 1 and short.after.waiting == Decimal("1100.00")
    assert programme.exchange().status == "waiting_budget" and programme.emails("grant_committed") == []

    enough = change_budget(programme.app, "CXP-TEST-01", programme.principal(ADMIN), "1500.00", REASON)
    assert enough.approved == [programme.exchange_ref]
    assert (enough.after.committed, enough.after.left, enough.after.waiting_grants) == (
        Decimal("1100.00"), Decimal("400.00"), 0)
    assert programme.exchange().status == "committed" and programme.open_specs() == ["approve_payment"]
    assert _claim(programme, programme.exchange_id or 0).status == "committed"
    told = {tuple(m.recipients) for m in programme.emails("grant_committed")}
    assert told == {("contact@nova.example",), ("o1@cx.local", "o2@cx.local")}
    assert len(programme.emails("grant_waiting_budget")) == 1  # told once, when it started to wait
    from workflows.mail import render_email

    for message in programme.emails("grant_waiting_budget") + programme.emails("grant_committed"):
        subject, text, _ = render_email(message.template, message.context)
        assert programme.exchange_ref in subject and "EUR 1,100.00" in text


def test_waiting_grants_are_approved_in_the_order_they_started_waiting(programme: Programme) -> None:  # noqa: F811
    first, second = _both_waiting(programme)
    assert len(programme.emails("grant_waiting_budget")) == 2
    admin = programme.principal(ADMIN)
    one = change_budget(programme.app, "CXP-TEST-01", admin, "1110.00", REASON)   # room for one grant only
    assert one.approved == [first[2]]
    assert (_claim(programme, first[1]).status, _claim(programme, second[1]).status) == ("committed", "waiting_budget")
    two = change_budget(programme.app, "CXP-TEST-01", admin, "2200.00", REASON)
    assert two.approved == [second[2]] and two.after.left == Decimal("0.00")
    assert programme.open_specs(second[0]) == ["approve_payment"]


def test_a_cancellation_gives_its_commitment_to_the_next_waiting_grant(programme: Programme) -> None:  # noqa: F811
    first, second = _both_waiting(programme)
    change_budget(programme.app, "CXP-TEST-01", programme.principal(ADMIN), "1100.00", REASON)
    assert _claim(programme, first[1]).status == "committed"
    cancel_exchange(programme.app, first[2], programme.principal(OFFICER), "The visitor's company closed.")
    assert _claim(programme, first[1]).status == "released"
    assert _claim(programme, second[1]).status == "committed"
    assert programme.open_specs(second[0]) == ["approve_payment"]
