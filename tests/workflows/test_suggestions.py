"""Suggested matches and preferences on SQLite and PostgreSQL, end to end through the services: a host
applies with an offer and an officer publishes it, a visitor applies, sees the offers ranked by the
solver's score with its parts, marks the new offer preferred; the call's matching round proposes that
pair naming the preference, and both accept."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from tests.workflows.builders import (  # noqa: F401 - the fixture
    ADMIN,
    BRUSSELS,
    HOST,
    OFFICER,
    OUTSIDER,
    SOUTH_OFFICER,
    VISITOR,
    Programme,
    accept_match,
    approve,
    as_user,
    programme,
)
from tests.workflows.test_applications import host_form, visitor_form
from workflows.db.models import Exchange, MatchProposal
from workflows.db.process_models import HumanTask, OutboxMessage
from workflows.mail import render_email
from workflows.services import Invalid, NotFound, ServiceError
from workflows.services.applications import create_application
from workflows.services.lifecycle import instance_for, start
from workflows.services.my_pages import where_to_act
from workflows.services.suggestions import set_preferences, suggested_offers


def publish_offer(prog: Programme, username: str, **changes: object) -> int:
    offer = create_application(prog.app, as_user(prog.app, username), host_form(**changes))
    with prog.app.uow() as uow:
        hosting = instance_for(uow, "application", offer.id).id
    prog.complete("approve_host", SOUTH_OFFICER, {"decision": "approve", "comment": "Clear offer."}, instance_id=hosting)
    return offer.id


def test_the_preferred_offer_is_proposed_with_the_preference_among_its_reasons(programme: Programme) -> None:  # noqa: F811
    offer = publish_offer(programme, HOST, sectors=["digital"], capacity=1)
    visitor = as_user(programme.app, VISITOR)
    applied = create_application(programme.app, visitor, visitor_form())
    ranked = suggested_offers(programme.app, visitor, applied.id)
    assert {s.offer for s in ranked} == {programme.host_application_id, offer}
    first = ranked[0]
    assert first.score == sum(first.parts.values()) and set(first.parts) == {
        "sector", "country_wish", "date_overlap", "region_bonus", "preferred"}
    assert first.country == "AT" and "in a country the visitor wished (AT)" in first.reasons
    assert [s.score for s in ranked] == sorted((s.score for s in ranked), reverse=True)

    marked = set_preferences(programme.app, visitor, applied.id, [offer])
    assert marked.preferred_offers == [offer]
    ranked = suggested_offers(programme.app, visitor, applied.id)
    assert ranked[0].offer == offer and ranked[0].preferred and ranked[0].parts["preferred"] > 0

    with programme.app.uow() as uow:
        programme.exchange_id = uow.session.scalars(select(Exchange.id).where(
            Exchange.visitor_application_id == applied.id)).one()
        programme.instance_id = instance_for(uow, "exchange", programme.exchange_id).id
    programme.complete("assess_application", OFFICER, approve())
    with programme.app.uow() as uow:
        call = start(programme.app, uow, "call", "call", programme.call_id,
                     {"call_id": programme.call_id, "partnership_id": programme.north_id})
        uow.commit()
        call_id = call.id
    programme.complete("prepare_call", ADMIN, {"confirm": True}, instance_id=call_id)
    programme.advance_to(datetime(2027, 3, 6, 9, 0, tzinfo=BRUSSELS))       # the call closed: the matching round
    programme.complete("review_proposals", OFFICER, {"confirm": True, "drop_proposals": [], "comment": "ok"},
                       instance_id=call_id)
    with programme.app.uow() as uow:
        proposal = uow.session.scalars(select(MatchProposal).where(
            MatchProposal.visitor_application_id == applied.id)).one()
        assert proposal.host_application_id == offer and proposal.status == "sent"
        assert "preferred by the visitor" in proposal.explanation["reasons"]
        mails = {m.recipients[0]: m.context for m in uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "match_proposed"))}
    assert set(mails) == {"contact@nova.example", "contact@helix.example"}      # both sides are told
    visitor_mail = mails["contact@nova.example"]
    ref = programme.exchange().ref
    assert visitor_mail["partner_organisation"] == "Helix Cluster Vienna"
    # each side's link opens its own task to answer, which waits for it by the time the mail is read
    assert visitor_mail["portal_path"] == f"/my/act?subject={ref}&task=visitor_accept_match"
    assert mails["contact@helix.example"]["portal_path"] == f"/my/act?subject={ref}&task=host_accept_match"
    with programme.app.uow() as uow:
        waiting = dict(uow.session.execute(select(HumanTask.task_spec, HumanTask.id).where(
            HumanTask.instance_id == programme.instance_id, HumanTask.status == "open")).tuples().all())
    assert where_to_act(programme.app, as_user(programme.app, VISITOR), ref, "visitor_accept_match") \
        == f"/tasks/{waiting['visitor_accept_match']}"
    assert where_to_act(programme.app, as_user(programme.app, HOST), ref, "host_accept_match") \
        == f"/tasks/{waiting['host_accept_match']}"
    # another organisation's user learns nothing of it: its own page
    assert where_to_act(programme.app, as_user(programme.app, OUTSIDER), ref, "visitor_accept_match") == "/my"
    assert "preferred by the visitor" in visitor_mail["reasons"]
    subject, text, _ = render_email("match_proposed", visitor_mail)
    assert subject.startswith("Exchange EX-") and "preferred by the visitor" in text
    programme.complete("visitor_accept_match", VISITOR, accept_match())
    programme.complete("host_accept_match", HOST, accept_match())
    assert programme.exchange().status == "matched" and programme.exchange().host_application_id == offer
    with programme.app.uow() as uow:
        answers = {m.recipients[0]: m.context for m in uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "match_answered"))}
    assert set(answers) == {"contact@nova.example", "contact@helix.example"}
    assert answers["contact@nova.example"]["accepted"] is True
    _, text, _ = render_email("match_answered", answers["contact@helix.example"])
    assert "both accepted" in text and "sign the commitment" in text


def test_preferences_name_each_wrong_offer_by_its_item_number_and_write_nothing(programme: Programme) -> None:  # noqa: F811
    visitor = as_user(programme.app, VISITOR)
    applied = create_application(programme.app, visitor, visitor_form())
    with pytest.raises(Invalid) as refused:
        set_preferences(programme.app, visitor, applied.id, [programme.host_application_id, applied.id,
                                                             programme.host_application_id])
    assert [(f.loc, f.msg.split(":")[0]) for f in refused.value.fields] == [(("offers", 1), "item 2"),
                                                                            (("offers", 2), "item 3")]
    with pytest.raises(Invalid, match="at most 3"):
        set_preferences(programme.app, visitor, applied.id, [programme.host_application_id] * 4)
    assert suggested_offers(programme.app, visitor, applied.id)[0].preferred is False
    with pytest.raises(NotFound):
        set_preferences(programme.app, as_user(programme.app, HOST), applied.id, [])
    offer = create_application(programme.app, as_user(programme.app, HOST), host_form())
    with pytest.raises(ServiceError, match="suggestions are for visitors"):
        suggested_offers(programme.app, as_user(programme.app, HOST), offer.id)
