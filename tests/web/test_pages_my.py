"""The applicant's pages through the web (TestClient): the application form with each wrong field shown
beside it and nothing written, a submission showing its eligibility in words, the suggested offers
with a preference saved, a markup name shown escaped, /my with the exchange's timeline and decisions;
another organisation's application not found."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from tests.web.test_pages_oversight import PASSWORD, post, signed_in, text_of
from tests.workflows.builders import HOST, OUTSIDER, VISITOR, Programme, programme  # noqa: F401 - the fixture
from workflows.db.models import Application, Organisation
from workflows.services.access import SYSTEM
from workflows.services.accounts import set_password

FORM = {"call": "CXP-TEST-01", "role": "visitor", "format": "exchange_visit", "date_from": "2027-02-01",
        "date_to": "2027-03-01", "sectors": "digital", "wished_countries": "AT", "motivation": "Learn pilot lines.",
        "declaration_given": "yes", "audit_rights_accepted": "yes", "action": "submit"}


def applications(prog: Programme) -> int:
    with prog.app.uow() as uow:
        return int(uow.session.scalar(select(func.count(Application.id))) or 0)


def client_of(prog: Programme, username: str) -> Any:
    set_password(prog.app, SYSTEM, username, PASSWORD)
    return signed_in(prog.app, username)


def test_a_visitor_applies_in_the_browser_form_and_sees_its_eligibility_and_offers(programme: Programme) -> None:  # noqa: F811
    with programme.app.uow() as uow:
        uow.session.get(Organisation, programme.host_org_id).legal_name = "<b>Helix</b> Cluster"
        uow.commit()
    web = client_of(programme, VISITOR)
    page = web.get("/my/applications/new")
    assert page.status_code == 200 and "CXP-TEST-01" in page.text
    assert '<option value="CXP-TEST-01" selected>' not in page.text
    chosen = web.get("/my/applications/new", params={"call": "CXP-TEST-01"})  # "Apply to this call" on /calls
    assert '<option value="CXP-TEST-01" selected>' in chosen.text
    before = applications(programme)
    bad = post(web, "/my/applications/new", "/my/applications/new",
               data={**FORM, "format": "conference_fair", "date_from": "2027-01-04", "declaration_given": ""})
    assert bad.status_code == 422
    said = text_of(bad.text)
    assert "does not allow conference_fair" in said and "is in the past" in said and "declaration on honour" in said
    assert 'id="f-format-error"' in bad.text
    assert "Learn pilot lines." in bad.text and applications(programme) == before
    sent = post(web, "/my/applications/new", "/my/applications/new", data=FORM, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    shown = web.get(sent.headers["location"])
    said = text_of(shown.text)
    assert "Eligible: an officer of the partnership assesses it" in said
    assert "&lt;b&gt;Helix&lt;/b&gt; Cluster" in shown.text and "<b>Helix</b>" not in shown.text
    assert "in a country the visitor wished (AT)" in said
    application_id = int(sent.headers["location"].rsplit("/", 1)[1])
    saved = post(web, f"/my/applications/{application_id}/preferences", sent.headers["location"],
                 data={"offers": str(programme.host_application_id)}, follow_redirects=False)
    assert saved.status_code == 303
    assert 'checked' in web.get(sent.headers["location"]).text
    mine = text_of(web.get("/my").text)
    assert "Nova Cluster Brussels" in mine and f"Application {application_id}" in mine and "Eligibility" in mine


def test_an_ineligible_applicant_reads_the_reason_and_what_to_do(programme: Programme) -> None:  # noqa: F811
    with programme.app.uow() as uow:
        org = uow.session.get(Organisation, programme.outsider_org_id)
        org.org_type, org.cluster_member = "sme", False
        uow.commit()
    web = client_of(programme, OUTSIDER)
    sent = post(web, "/my/applications/new", "/my/applications/new", data=FORM)
    said = text_of(sent.text)
    assert "Not eligible" in said and "A visiting SME must be a member of a cluster" in said
    assert "What to do: Join a cluster" in said


def test_another_organisations_application_is_not_found(programme: Programme) -> None:  # noqa: F811
    web = client_of(programme, VISITOR)
    sent = post(web, "/my/applications/new", "/my/applications/new", data=FORM, follow_redirects=False)
    other = client_of(programme, HOST)
    assert other.get(sent.headers["location"]).status_code == 404
    assert "Nova Cluster" not in other.get("/my").text


def test_an_email_link_opens_the_task_it_announces_after_signing_in(programme: Programme) -> None:  # noqa: F811
    from urllib.parse import quote

    from starlette.testclient import TestClient

    from tasks.portal import act_path
    from tests.workflows.builders import evidence
    from workflows.web.app import create_app

    prog = programme.awaiting_evidence()
    ref = prog.exchange_ref
    link = act_path(ref, "submit_evidence")
    assert link == f"/my/act?subject={ref}&task=submit_evidence"
    task = prog.open_task("submit_evidence")
    anonymous = TestClient(create_app(application=prog.app), base_url="https://testserver").get(
        link, follow_redirects=False)   # signed out: sign in first, then the task
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/?next=" + quote(link, safe="/")
    visitor = client_of(prog, VISITOR)
    opened = visitor.get(link, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == f"/tasks/{task.id}"
    # the task done, the same link leads to the exchange on the visitor's page
    prog.complete("submit_evidence", VISITOR, evidence())
    assert visitor.get(link, follow_redirects=False).headers["location"] == f"/my#ex-{ref}"
    # another organisation learns nothing: its own page, for a reference that exists or not
    outsider = client_of(prog, OUTSIDER)
    assert outsider.get(link, follow_redirects=False).headers["location"] == "/my"
    assert visitor.get("/my/act?subject=<script>", follow_redirects=False).status_code == 422
