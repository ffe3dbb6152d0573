"""The programme administration's pages through the web (TestClient): a call created from its form
(each wrong field shown beside it, 422, nothing written; events in rows), published, its budget changed
(a wrong amount beside its field), closed early; rule sets side by side with a file that breaks a rule
shown in words; partnerships and organisations; the programme at a glance on /admin; an officer gets
the 403 page (audited) and an auditor reads without a form to act."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.web.test_pages_oversight import PASSWORD, post, signed_in, text_of
from tests.workflows.builders import ADMIN, AUDITOR, OFFICER, Programme, programme  # noqa: F401
from workflows.db.models import Call
from workflows.db.process_models import AuditEvent
from workflows.services.access import SYSTEM
from workflows.services.accounts import set_password

FORM = {"code": "CXP-2027-WEB", "title": "Web call", "lead_partnership": "CXP-NORTH", "partnerships": ["CXP-SOUTH"],
        "opens_on": "2027-02-01", "closes_on": "2027-03-31", "matching_deadline": "2027-05-28T18:00",
        "budget": "15000.00", "formats": ["exchange_visit"], "rule_set_version": "2026.1",
        "events-0-kind": "virtual_marketplace", "events-0-title": "#1 Marketplace", "events-0-starts_on": "2027-02-08",
        "events-0-ends_on": "2027-03-12", "events-0-place": "online",
        "events-1-kind": "joint_learning_event", "events-1-title": "Learning day", "events-1-starts_on": "2027-04-20",
        "events-1-ends_on": "2027-04-21", "events-1-place": "Vienna"}


@pytest.fixture
def prog(programme: Programme) -> Programme:  # noqa: F811
    for name in (ADMIN, AUDITOR, OFFICER):
        set_password(programme.app, SYSTEM, name, PASSWORD)
    return programme


def _codes(prog: Programme) -> list[str]:
    with prog.app.uow() as uow:
        return sorted(uow.session.scalars(select(Call.code)))


def test_a_call_is_created_from_its_form_field_errors_first_then_published_and_its_budget_changed(
        prog: Programme) -> None:
    client = signed_in(prog.app, ADMIN)
    bad = {**FORM, "closes_on": "2027-01-20", "budget": "12,5", "events-1-ends_on": "2027-04-19"}
    answer = post(client, "/admin/calls/new", "/admin/calls/new", data=bad)
    page = text_of(answer.text)
    assert answer.status_code == 422 and "The call was not saved" in page
    assert "2027-01-20 is not after the opening on 2027-02-01" in page
    assert "'12,5' is not an amount in euros" in page
    assert 'id="f-closes_on" name="closes_on" value="2027-01-20"' in answer.text     # what was typed is kept
    assert _codes(prog) == ["CXP-TEST-01"]
    more = post(client, "/admin/calls/new", "/admin/calls/new", data={**bad, "action": "add_row"})
    assert more.status_code == 200 and 'name="events-4-title"' in more.text          # a row more to fill in

    created = post(client, "/admin/calls/new", "/admin/calls/new", data=FORM, follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"] == "/admin/calls/CXP-2027-WEB"
    detail = client.get("/admin/calls/CXP-2027-WEB")
    text = text_of(detail.text)
    assert "is saved as a draft" in text and "Learning day" in text and "Change the draft" in text
    published = post(client, "/admin/calls/CXP-2027-WEB/publish", "/admin/calls/CXP-2027-WEB",
                     data={"reason": "All checked."})
    text = text_of(published.text)
    assert "is published: its process started" in text and "Change the draft" not in text
    assert "published the call" in text and "All checked." in text

    wrong = post(client, "/admin/calls/CXP-2027-WEB/budget", "/admin/calls/CXP-2027-WEB",
                 data={"budget": "-3", "reason": ""})
    text = text_of(wrong.text)
    assert wrong.status_code == 422 and "EUR -3 is not a positive amount" in text
    raised = post(client, "/admin/calls/CXP-2027-WEB/budget", "/admin/calls/CXP-2027-WEB",
                  data={"budget": "18000", "reason": "A sponsor joined."})
    text = text_of(raised.text)
    assert "The budget of CXP-2027-WEB is EUR 18,000.00 (was EUR 15,000.00)." in text
    assert "raised the budget from EUR 15000.00 to EUR 18000.00" in text and "A sponsor joined." in text

    no_reason = post(client, "/admin/calls/CXP-2027-WEB/close", "/admin/calls/CXP-2027-WEB", data={"reason": ""})
    assert no_reason.status_code == 422 and "closing a call early needs a reason" in text_of(no_reason.text)
    closed = post(client, "/admin/calls/CXP-2027-WEB/close", "/admin/calls/CXP-2027-WEB",
                  data={"reason": "Merged with the spring call."})
    assert "Call CXP-2027-WEB is closed" in text_of(closed.text) and "Close the call early" not in closed.text


def test_the_programme_at_a_glance_and_the_calls_list(prog: Programme) -> None:
    client = signed_in(prog.app, ADMIN)
    admin = client.get("/admin")
    text = text_of(admin.text)
    assert admin.status_code == 200 and "The programme at a glance" in text
    assert 'href="/admin/calls/CXP-TEST-01"' in admin.text and "EUR 30,000.00" in text
    assert "No incident; nothing stuck" in text and "No batch yet." in text
    listing = client.get("/admin/calls")
    assert listing.status_code == 200 and 'data-call="CXP-TEST-01"' in listing.text


def test_rule_sets_side_by_side_and_a_file_that_breaks_a_rule(prog: Programme) -> None:
    client = signed_in(prog.app, ADMIN)
    page = client.get("/admin/rule-sets?compare=2025.1&compare=2026.1")
    assert page.status_code == 200
    row = page.text[page.text.index('data-setting="thresholds.AT"'):][:400]
    assert 'class="differs"' in row and "1000.00" in row and "1100.00" in row
    same = page.text[page.text.index('data-setting="cap"'):]
    assert "differs" not in same[:same.index("</tr>")]
    bad = post(client, "/admin/rule-sets", "/admin/rule-sets", data={"note": "too much"},
               files={"file": ("r.json", b'{"version": "2027.9", "base": "2026.1", "cap": "1500.00"}',
                               "application/json")})
    assert bad.status_code == 422
    assert "cap: EUR 1500.00 is above the programme's cap of EUR 1100.00" in text_of(bad.text)
    good = post(client, "/admin/rule-sets", "/admin/rule-sets", data={"note": "Poland"},
                files={"file": ("r.json", b'{"version": "2027.9", "base": "2026.1", "thresholds": {"PL": "850.00"}}',
                                "application/json")})
    assert good.status_code == 200 and "Rule set 2027.9 is stored." in text_of(good.text)


def test_partnerships_and_organisations_from_their_pages(prog: Programme) -> None:
    client = signed_in(prog.app, ADMIN)
    bad = post(client, "/admin/partnerships", "/admin/partnerships", data={
        "code": "CXP-EAST", "name": "East", "country": "PL", "debtor_name": "East",
        "debtor_iban": "PL61 1090 1014 0000 0712 1981 2875"})
    assert bad.status_code == 422 and "wrong check digits" in text_of(bad.text)
    good = post(client, "/admin/partnerships", "/admin/partnerships", data={
        "code": "CXP-EAST", "name": "East", "country": "PL", "debtor_name": "East",
        "debtor_iban": "PL61 1090 1014 0000 0712 1981 2874"})
    assert "Partnership CXP-EAST is created." in text_of(good.text)
    edit = client.get("/admin/partnerships?edit=CXP-EAST")
    assert 'name="editing" value="CXP-EAST"' in edit.text
    found = client.get("/admin/organisations?q=orbit")
    assert found.status_code == 200 and 'data-organisation="BE100000003"' in found.text
    off = post(client, "/admin/organisations/BE100000003/deactivate", "/admin/organisations",
               data={"reason": "Dissolved.", "back": "/admin/organisations?q=orbit"})
    assert "Orbit Cluster Ghent is deactivated." in text_of(off.text) and "Dissolved." in text_of(off.text)


@pytest.mark.parametrize("path", ["/admin/calls", "/admin/calls/CXP-TEST-01", "/admin/organisations",
                                  "/admin/partnerships", "/admin/calls/new"])
def test_an_officer_gets_the_403_page_and_the_refusal_is_audited(prog: Programme, path: str) -> None:
    client = signed_in(prog.app, OFFICER)
    answer = client.get(path)
    assert answer.status_code == 403 and "officer1.north is officer and may not" in text_of(answer.text)
    with prog.app.uow() as uow:
        refusals = set(uow.session.scalars(select(AuditEvent.actor).where(
            AuditEvent.action.in_(("access_refused", "admin_change_refused")))))
    assert OFFICER in refusals


def test_an_auditor_reads_a_call_without_a_form_to_act(prog: Programme) -> None:
    client = signed_in(prog.app, AUDITOR)
    page: Any = client.get("/admin/calls/CXP-TEST-01")
    assert page.status_code == 200 and "Budget" in page.text
    assert 'id="budget-form"' not in page.text and 'id="close-form"' not in page.text
    assert client.get("/admin/rule-sets").status_code == 200 and 'id="rule-set-form"' not in \
        client.get("/admin/rule-sets").text


def test_the_user_list_is_searched_and_paged_and_a_name_with_markup_is_shown_escaped(prog: Programme) -> None:
    from workflows.services.access import principal_by_name
    from workflows.services.accounts import add_user

    admin = principal_by_name(prog.app, ADMIN)
    for n in range(60):
        add_user(prog.app, admin, f"reader{n:02}", f"Reader <b>{n}</b>", f"r{n}@cx.example", "auditor")
    client = signed_in(prog.app, ADMIN)
    first = client.get("/admin", params={"q": "reader", "role": "auditor"})
    page = text_of(first.text)
    assert first.status_code == 200 and "60 users matching “reader”, page 1 of 2" in page
    assert "reader49" in page and "reader50" not in page and "Reader &lt;b&gt;7&lt;/b&gt;" in first.text
    assert '<a href="/admin?q=reader&amp;role=auditor&amp;state=all&amp;page=2#users" rel="next">' in first.text
    second = text_of(client.get("/admin", params={"q": "reader", "role": "auditor", "page": 2}).text)
    assert "reader50" in second and "reader59" in second and "reader49" not in second
    assert "No user found" in text_of(client.get("/admin", params={"q": "nobody-like-this"}).text)
    assert client.get("/admin", params={"role": "wizard"}).status_code == 422
