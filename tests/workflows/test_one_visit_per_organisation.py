"""R-ELIG across calls: one live visitor application and one visit per organisation; the call's
formats and the audit rights; matching never proposes an organisation twice; officers' overrides."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from tests.workflows.builders import BRUSSELS, OFFICER, Programme, programme  # noqa: F401
from workflows.db.models import Application, Call, Exchange, MatchProposal, Organisation
from workflows.db.process_models import AuditEvent
from workflows.programme import Programme as Records
from workflows.services.lifecycle import submit_application


def apply(prog: Programme, call_id: int | None = None, org_id: int | None = None, **fields) -> Exchange:
    """A visitor application submitted through the real service; its exchange after eligibility."""
    values = dict(role="visitor", format="exchange_visit", date_from=date(2027, 2, 1), date_to=date(2027, 3, 1),
                  sectors=["digital"], wished_countries=["AT"], motivation="Peers abroad.",
                  declaration_given=True, audit_rights_accepted=True)
    values.update(fields)
    with prog.app.uow() as uow:
        org = uow.session.get(Organisation, org_id or prog.visitor_org_id)
        application = Application(call_id=call_id or prog.call_id, organisation_id=org.id,
                                  partnership_id=org.partnership_id, submitted_at=uow.now(), **values)
        uow.session.add(application)
        uow.session.flush()
        instance = submit_application(prog.app, uow, application)
        uow.commit()
        exchange_id = instance.subject_id
    return prog._get(Exchange, exchange_id)


def reasons(prog: Programme, exchange: Exchange) -> list[str]:
    app = prog._get(Application, exchange.visitor_application_id)
    return [r["code"] for r in app.eligibility["reasons"]]


def second_call(prog: Programme) -> int:
    with prog.app.uow() as uow:
        first = uow.session.get(Call, prog.call_id)
        call = Call(code="CXP-TEST-02", title="Second call", lead_partnership_id=prog.north_id,
                    opens_on=date(2027, 1, 11), closes_on=date(2027, 6, 30),
                    matching_deadline=datetime(2027, 8, 27, 18, 0, tzinfo=BRUSSELS), budget=Decimal("5000.00"),
                    rule_set_version="2026.1", formats=["exchange_visit", "conference_fair"], status="open",
                    partnerships=list(first.partnerships))
        uow.session.add(call)
        uow.commit()
        return call.id


def test_a_second_application_in_the_same_call_is_refused_while_the_first_is_open(programme: Programme):
    first = apply(programme)
    second = apply(programme)
    assert programme._get(Exchange, first.id).status == "eligible"
    assert second.status == "ineligible" and reasons(programme, second) == ["DUPLICATE_APPLICATION"]


def test_an_application_in_another_call_is_refused_while_the_first_is_open(programme: Programme):
    apply(programme)
    other = apply(programme, call_id=second_call(programme))
    assert reasons(programme, other) == ["DUPLICATE_APPLICATION"]


def test_an_organisation_that_visited_is_refused_in_a_later_call(programme: Programme):
    programme.submit_visitor_application().assessed().matched()
    later = apply(programme, call_id=second_call(programme))
    assert reasons(programme, later) == ["ALREADY_VISITED"]


def test_after_a_rejection_the_organisation_may_apply_again(programme: Programme):
    first = apply(programme)
    programme.instance_id = _instance_of(programme, first.id)
    programme.complete("assess_application", OFFICER, {"decision": "reject", "comment": "Out of scope."})
    assert programme._get(Exchange, first.id).status == "rejected"
    assert apply(programme).status == "eligible"


def _instance_of(prog: Programme, exchange_id: int) -> int:
    from workflows.db.process_models import ProcessInstance

    with prog.app.uow() as uow:
        return uow.session.scalars(select(ProcessInstance.id).where(
            ProcessInstance.subject_type == "exchange", ProcessInstance.subject_id == exchange_id)).one()


def test_a_format_the_call_does_not_allow_is_refused(programme: Programme):
    exchange = apply(programme, format="conference_fair")
    assert reasons(programme, exchange) == ["FORMAT_NOT_ALLOWED"]


def test_an_application_without_audit_rights_is_refused(programme: Programme):
    exchange = apply(programme, audit_rights_accepted=False)
    assert reasons(programme, exchange) == ["NO_AUDIT_RIGHTS"]


def _records(uow) -> Records:  # type: ignore[no-untyped-def]
    return Records(uow.session, uow.now(), lambda actor, action, **kw: uow.audit(actor, action, **kw))


def test_matching_never_proposes_an_organisation_with_a_pending_proposal_elsewhere(programme: Programme):
    first = apply(programme)
    other_call = second_call(programme)
    with programme.app.uow() as uow:  # the same organisation waits for a match in both calls
        for exchange_id, call_id in ((first.id, programme.call_id), (None, other_call)):
            if exchange_id is None:
                app = Application(call_id=call_id, organisation_id=programme.visitor_org_id,
                                  partnership_id=programme.north_id, role="visitor", date_from=date(2027, 2, 1),
                                  date_to=date(2027, 3, 1), sectors=["digital"], submitted_at=uow.now(),
                                  status="awaiting_match", declaration_given=True, audit_rights_accepted=True)
                uow.session.add(app)
            else:
                uow.session.get(Application, first.visitor_application_id).status = "awaiting_match"
        uow.session.flush()
        uow.session.add(MatchProposal(call_id=programme.call_id, round=1, score=Decimal("1"), explanation={},
                                      visitor_application_id=first.visitor_application_id,
                                      host_application_id=programme.host_application_id, status="sent",
                                      created_at=uow.now()))
        uow.session.flush()
        visitors, _hosts, _rs = _records(uow).matching_pool(other_call)
        assert visitors == []


def test_an_officers_override_to_a_host_in_the_visitors_country_is_refused(programme: Programme):
    exchange = programme.submit_visitor_application().assessed().exchange()  # waiting for a match
    with programme.app.uow() as uow:
        s = uow.session
        s.get(Application, exchange.visitor_application_id).status = "awaiting_match"
        same_country = Application(call_id=programme.call_id, organisation_id=programme.outsider_org_id,
                                   partnership_id=programme.north_id, role="host", date_from=date(2027, 1, 25),
                                   date_to=date(2027, 4, 30), sectors=["digital"], capacity=2, status="published",
                                   submitted_at=uow.now(), declaration_given=True, audit_rights_accepted=True)
        s.add(same_country)
        s.flush()
        s.add(MatchProposal(call_id=programme.call_id, round=1, score=Decimal("50"), explanation={},
                            visitor_application_id=exchange.visitor_application_id,
                            host_application_id=programme.host_application_id, status="proposed",
                            created_at=uow.now()))
        s.flush()
        sent = _records(uow).release_proposals(programme.call_id, 1, set(), [
            {"visitor_application_id": exchange.visitor_application_id, "host_application_id": same_country.id}],
            by=programme.users[OFFICER])
        uow.commit()
    assert [p["host_application_id"] for p in sent] == [programme.host_application_id]
    refused = programme.events("match_override_refused")
    assert [r["code"] for r in refused[0].data_after["reasons"]] == ["SAME_COUNTRY"]


def test_an_officers_feasible_override_replaces_the_proposal_before_it_is_sent(programme: Programme):
    exchange = programme.submit_visitor_application().assessed().exchange()  # waiting for a match
    with programme.app.uow() as uow:
        s = uow.session
        s.get(Application, exchange.visitor_application_id).status = "awaiting_match"
        other_host = Organisation(legal_id="AT200000009", legal_name="Graz Cluster", org_type="cluster_organisation",
                                  cluster_member=True, country="AT", city="Graz", latitude=47.07, longitude=15.44,
                                  sectors=["digital"], contact_email="g@graz.example", partnership_id=programme.south_id)
        s.add(other_host)
        s.flush()
        offer = Application(call_id=programme.call_id, organisation_id=other_host.id, partnership_id=programme.south_id,
                            role="host", date_from=date(2027, 1, 25), date_to=date(2027, 4, 30), sectors=["digital"],
                            capacity=1, status="published", submitted_at=uow.now(), declaration_given=True,
                            audit_rights_accepted=True)
        s.add(offer)
        s.flush()
        sent = _records(uow).release_proposals(programme.call_id, 1, set(), [
            {"visitor_application_id": exchange.visitor_application_id, "host_application_id": offer.id}],
            by=programme.users[OFFICER])
        uow.commit()
        offer_id = offer.id
    assert [p["host_application_id"] for p in sent] == [offer_id]
    overridden = programme.events("match_overridden")[0].data_after
    assert overridden["host_application_id"] == offer_id and overridden["by"] == programme.users[OFFICER]
    with programme.app.uow() as uow:
        assert uow.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "match_override_refused")).all() == []


def test_a_proposal_for_an_exchange_that_no_longer_waits_for_one_expires(programme: Programme):
    exchange = apply(programme)  # waits for its assessment, not for a match (a deadline passed, say)
    with programme.app.uow() as uow:
        uow.session.add(MatchProposal(call_id=programme.call_id, round=1, score=Decimal("50"), explanation={},
                                      visitor_application_id=exchange.visitor_application_id,
                                      host_application_id=programme.host_application_id, status="proposed",
                                      created_at=uow.now()))
        uow.session.flush()
        assert _records(uow).release_proposals(programme.call_id, 1, set()) == []
        assert uow.session.scalars(select(MatchProposal.status)).all() == ["expired"]
        uow.commit()
    assert programme.events("proposal_expired")[0].subject == exchange.ref
