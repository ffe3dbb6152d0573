"""Calls as an administrator manages them (workflows/services/call_admin.py), on SQLite and PostgreSQL:
a draft created with its events and every field checked with a message naming it (nothing written),
changed while a draft, published (the `call` process starts and its preparation is completed by the
administrator: the officers are emailed, the windows frozen), closed early with a reason (the
applications not yet matched end and are told, the matched ones go on, the process ends cleanly), and
each change on the call's history with who, when and why; refusals audited."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from tests.workflows.builders import ADMIN, AUDITOR, OFFICER, OUTSIDER, Programme, programme  # noqa: F401
from workflows.db.models import Application, Call, Exchange
from workflows.db.process_models import HumanTask, ProcessInstance
from workflows.services import Conflict, Invalid, Refused
from workflows.services.call_admin import close_call, create_call, publish_call, update_call
from workflows.services.call_views import call_detail, list_calls
from workflows.services.doctor import stuck_instances


def new_call(**changes: Any) -> dict[str, Any]:
    call = {
        "code": "CXP-2027-09", "title": "Autumn exchanges 2027", "lead_partnership": "CXP-NORTH",
        "partnerships": ["CXP-SOUTH"], "opens_on": "2027-02-01", "closes_on": "2027-03-31",
        "matching_deadline": "2027-05-28T18:00:00+02:00", "budget": "25000.00", "formats": ["exchange_visit"],
        "rule_set_version": "2026.1",
        "events": [{"kind": "virtual_marketplace", "title": "#1 Marketplace", "starts_on": "2027-02-08",
                    "ends_on": "2027-03-12", "place": "online"},
                   {"kind": "joint_learning_event", "title": "Learning day", "starts_on": "2027-04-20",
                    "ends_on": "2027-04-21", "place": "Vienna"}],
    }
    call.update(changes)
    return call


def _calls(prog: Programme) -> list[str]:
    with prog.app.uow() as uow:
        return sorted(uow.session.scalars(select(Call.code)))


def test_an_administrator_creates_a_draft_with_two_events_and_it_is_on_its_history(programme: Programme) -> None:  # noqa: F811
    out = create_call(programme.app, programme.principal(ADMIN), new_call())
    call = out.call
    assert (call.code, call.status, call.editable, call.partnerships) == ("CXP-2027-09", "draft", True,
                                                                        ["CXP-NORTH", "CXP-SOUTH"])
    assert [(e.kind, e.place) for e in call.events] == [("virtual_marketplace", "online"),
                                                         ("joint_learning_event", "Vienna")]
    assert out.instance_id is None and str(out.budget.left) == "25000.00"
    assert [(h.actor, h.action, h.what) for h in out.history] == [(ADMIN, "call_created", "created the call as a draft")]
    rows = {r.call.code: r for r in list_calls(programme.app, programme.principal(AUDITOR))}
    assert rows["CXP-2027-09"].call.status == "draft" and rows["CXP-TEST-01"].budget.budget == 30000


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"closes_on": "2027-01-31"}, "closes_on", "2027-01-31 is not after the opening on 2027-02-01"),
    ({"matching_deadline": "2027-03-20T18:00:00+01:00"}, "matching_deadline", "2027-03-20 is not after the call closes"),
    ({"matching_deadline": "2027-05-28T18:00:00"}, "matching_deadline", "needs a time zone"),
    ({"budget": "-10"}, "budget", "EUR -10 is not a positive amount"),
    ({"budget": "100.555"}, "budget", "100.555 has more than two decimals"),
    ({"budget": "many"}, "budget", "'many' is not an amount in euros"),
    ({"formats": ["space_trip"]}, "formats.0", "Input should be 'exchange_visit', 'conference_fair'"),
    ({"formats": []}, "formats", "choose at least one format"),
    ({"partnerships": ["CXP-MOON"]}, "partnerships.0", "'CXP-MOON' is no partnership (known: CXP-NORTH, CXP-SOUTH)"),
    ({"lead_partnership": "CXP-X"}, "lead_partnership", "'CXP-X' is no partnership"),
    ({"rule_set_version": "1999.1"}, "rule_set_version", "'1999.1' is no rule set version (known: 2025.1, 2026.1)"),
    ({"code": "CXP-TEST-01"}, "code", "CXP-TEST-01 is already the code of another call"),
    ({"code": "cxp 2027"}, "code", "use upper-case letters, digits and hyphens only"),
    ({"closes_on": "2027-01-05", "opens_on": "2027-01-01"}, "closes_on", "2027-01-05 is in the past (today is 2027-01-11)"),
    ({"events": [{"kind": "matchmaking", "title": "B2B", "starts_on": "2027-01-20", "ends_on": "2027-01-21"}]},
     "events.0.starts_on", "2027-01-20 is before the call opens on 2027-02-01"),
    ({"events": [{"kind": "matchmaking", "title": "B2B", "starts_on": "2027-03-02", "ends_on": "2027-03-01"}]},
     "events.0.ends_on", "2027-03-01 is before the event starts on 2027-03-02"),
    ({"events": [{"kind": "matchmaking", "title": "B2B", "starts_on": "2027-03-02", "ends_on": "2027-06-01"}]},
     "events.0.ends_on", "2027-06-01 is after the matching deadline (2027-05-28)"),
    ({"events": [{"kind": "party", "title": "B2B", "starts_on": "2027-03-02", "ends_on": "2027-03-03"}]},
     "events.0.kind", "Input should be 'virtual_marketplace'"),
    ({"colour": "blue"}, "colour", "is not a field of a call"),
])
def test_each_wrong_field_is_named_and_nothing_is_written(programme: Programme, changes: dict[str, Any],  # noqa: F811
                                                         field: str, message: str) -> None:
    with pytest.raises(Invalid) as raised:
        create_call(programme.app, programme.principal(ADMIN), new_call(**changes))
    named = {f.field: f.msg for f in raised.value.fields}
    assert field in named and named[field].startswith(message), named
    assert _calls(programme) == ["CXP-TEST-01"] and programme.events("call_created") == []


def test_several_wrong_fields_are_named_at_once(programme: Programme) -> None:  # noqa: F811
    with pytest.raises(Invalid) as raised:
        create_call(programme.app, programme.principal(ADMIN), new_call(
            closes_on="2027-01-20", partnerships=["CXP-MOON"], rule_set_version="0.0"))
    assert {f.field for f in raised.value.fields} == {"closes_on", "partnerships.0", "rule_set_version"}


def test_a_draft_is_changed_and_a_published_call_keeps_its_windows(programme: Programme) -> None:  # noqa: F811
    admin = programme.principal(ADMIN)
    create_call(programme.app, admin, new_call())
    changed = update_call(programme.app, admin, "CXP-2027-09", {"title": "Autumn exchanges", "events": [
        {"kind": "matchmaking", "title": "B2B day", "starts_on": "2027-03-02", "ends_on": "2027-03-02",
         "place": "Graz"}]})
    assert changed.call.title == "Autumn exchanges" and [e.title for e in changed.call.events] == ["B2B day"]
    assert changed.history[-1].what == "changed events, title"
    with pytest.raises(Invalid, match="^closes_on: 2027-02-15 is not after"):
        update_call(programme.app, admin, "CXP-2027-09", {"opens_on": "2027-03-01", "closes_on": "2027-02-15"})
    with pytest.raises(Invalid, match="nothing changes"):
        update_call(programme.app, admin, "CXP-2027-09", {"title": "Autumn exchanges"})
    publish_call(programme.app, admin, "CXP-2027-09")
    with pytest.raises(Conflict, match="CXP-2027-09 is published: its windows, formats, rule set and events no longer"):
        update_call(programme.app, admin, "CXP-2027-09", {"closes_on": "2027-04-30"})


def test_publishing_starts_the_call_process_and_emails_the_officers(programme: Programme) -> None:  # noqa: F811
    admin = programme.principal(ADMIN)
    create_call(programme.app, admin, new_call())
    out = publish_call(programme.app, admin, "CXP-2027-09", "Budget and rule set checked.")
    assert out.call.status == "published" and not out.call.editable and out.call.published_at is not None
    assert out.instance_id is not None
    with programme.app.uow() as uow:
        instance = uow.session.get(ProcessInstance, out.instance_id)
        prepared = uow.session.scalars(select(HumanTask).where(HumanTask.instance_id == out.instance_id)).one()
        assert (instance.process_id, instance.status, instance.next_timer_at is not None) == ("call", "running", True)
        assert (prepared.task_spec, prepared.status, prepared.completed_by) == (
            "prepare_call", "completed", programme.users[ADMIN])
    [mail] = programme.emails("call_published")
    assert mail.recipients == ["o1@cx.local", "o2@cx.local", "os@cx.local"]
    published = next(h for h in out.history if h.action == "call_published")
    assert (published.actor, published.reason) == (ADMIN, "Budget and rule set checked.")
    with pytest.raises(Conflict, match="is published already"):
        publish_call(programme.app, admin, "CXP-2027-09")


def test_only_an_administrator_creates_publishes_or_closes_and_each_refusal_is_on_the_history(
        programme: Programme) -> None:  # noqa: F811
    create_call(programme.app, programme.principal(ADMIN), new_call())
    for user in (OFFICER, AUDITOR, OUTSIDER):
        with pytest.raises(Refused, match=f"^{user} is .* and may not publish call CXP-2027-09"):
            publish_call(programme.app, programme.principal(user), "CXP-2027-09")
    with pytest.raises(Refused):
        create_call(programme.app, programme.principal(OFFICER), new_call(code="CXP-X-1"))
    with pytest.raises(Refused):
        close_call(programme.app, programme.principal(OFFICER), "CXP-2027-09", "no")
    detail = call_detail(programme.app, programme.principal(ADMIN), "CXP-2027-09")
    refused = [h for h in detail.history if h.action == "admin_change_refused"]
    assert [h.actor for h in refused] == [OFFICER, AUDITOR, OUTSIDER, OFFICER]
    assert detail.call.status == "draft"
    with pytest.raises(Refused):
        call_detail(programme.app, programme.principal(OFFICER), "CXP-2027-09")


def test_closing_early_ends_the_applications_not_yet_matched_and_the_matched_ones_go_on(
        programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().matched()           # matched: goes on
    with programme.app.uow() as uow:                                      # a second visitor, only assessed
        application = Application(call_id=programme.call_id, organisation_id=programme.outsider_org_id,
                                  partnership_id=programme.north_id, role="visitor", date_from=date(2027, 2, 1),
                                  date_to=date(2027, 3, 1), sectors=["digital"], wished_countries=["AT"],
                                  declaration_given=True, audit_rights_accepted=True, submitted_at=uow.now())
        uow.session.add(application)
        uow.session.flush()
        from workflows.services.lifecycle import submit_application

        waiting = submit_application(programme.app, uow, application)
        uow.commit()
        waiting_id, waiting_exchange = waiting.id, waiting.subject_id
    with pytest.raises(Invalid, match="^reason: closing a call early needs a reason"):
        close_call(programme.app, programme.principal(ADMIN), "CXP-TEST-01", " ")

    out = close_call(programme.app, programme.principal(ADMIN), "CXP-TEST-01", "The programme's funding ended.")
    assert (out.status, out.continuing) == ("closed", [programme.exchange_ref])
    with programme.app.uow() as uow:
        ended = uow.session.get(Exchange, waiting_exchange)
        instance = uow.session.get(ProcessInstance, waiting_id)
        assert (ended.status, instance.status, instance.outcome) == ("not_matched", "completed", "end_call_closed")
        assert uow.session.get(Application, ended.visitor_application_id).status == "call_closed"
        assert uow.session.scalar(select(Call.closed_reason)) == "The programme's funding ended."
        assert stuck_instances(uow)["stuck"] == []
        assert out.ended == [ended.ref]
    assert programme.exchange().status == "matched" and programme.open_specs() == ["agree_commitment"]
    told = {m.recipients[0] for m in programme.emails("call_closed_early")}
    assert told == {"contact@orbit.example", "o1@cx.local"}
    from workflows.mail import render_email

    texts = [render_email(m.template, m.context)[1] for m in programme.emails("call_closed_early")]
    assert all("The programme's funding ended." in t for t in texts)
    assert any(f"go on to their own end (matched or beyond): {programme.exchange_ref}" in t for t in texts)
    with pytest.raises(Conflict, match="closed already"):
        close_call(programme.app, programme.principal(ADMIN), "CXP-TEST-01", "again")


def test_a_published_call_closed_before_it_opens_ends_its_process(programme: Programme) -> None:  # noqa: F811
    admin = programme.principal(ADMIN)
    create_call(programme.app, admin, new_call())
    published = publish_call(programme.app, admin, "CXP-2027-09")
    out = close_call(programme.app, admin, "CXP-2027-09", "Merged into the spring call.")
    assert (out.status, out.ended, out.continuing) == ("closed", [], [])
    detail = call_detail(programme.app, admin, "CXP-2027-09")
    with programme.app.uow() as uow:
        instance = uow.session.get(ProcessInstance, published.instance_id)
        assert (instance.status, instance.outcome) == ("completed", "end_closed_early")
    assert [h.action for h in detail.history][-1] in ("process_completed", "process_terminated", "call_closed_early")
    closing = next(h for h in detail.history if h.action == "call_closed_early")
    assert (closing.actor, closing.reason) == (ADMIN, "Merged into the spring call.")
