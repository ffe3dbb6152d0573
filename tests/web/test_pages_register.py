"""Registration in the browser (TestClient, no sign-in): the form lists the chosen country's cities
and regions after "List the cities"; each wrong field is shown beside it and nothing is written; a
markup name is shown escaped; the emailed link verifies the address once, then the applicant signs in
and is told why it may not apply yet."""
from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.test_pages_oversight import post, text_of, token_of
from tests.workflows.builders import Programme, programme  # noqa: F401 - the fixture
from workflows.db.models import Organisation
from workflows.web.app import create_app

BRUSSELS_ID = 2800866
FORM = {"legal_name": "<i>Tiber</i> Cluster", "legal_id": "BE0999000111", "org_type": "cluster_organisation",
        "country": "BE", "subdivision": "", "city_id": str(BRUSSELS_ID), "sectors": "digital, health",
        "cluster_member": "yes", "contact_email": "contact@tiber.example", "partnership": "CXP-NORTH",
        "name": "Tina Tiber", "email": "tina@tiber.example", "username": "tina",
        "password": "a long enough password", "action": "register"}


def anonymous(prog: Programme) -> TestClient:
    return TestClient(create_app(application=prog.app), base_url="https://testserver")


def organisations(prog: Programme) -> int:
    with prog.app.uow() as uow:
        return int(uow.session.scalar(select(func.count(Organisation.id))) or 0)


def test_the_form_lists_the_cities_of_the_chosen_country(programme: Programme) -> None:  # noqa: F811
    web = anonymous(programme)
    page = web.get("/register")
    assert page.status_code == 200 and "Choose the country first" in page.text
    assert '<label for="f-city_id">' in page.text and '<label for="f-country">' in page.text
    listed = post(web, "/register", "/register", data={**FORM, "action": "cities", "password": "secret-not-shown"})
    assert listed.status_code == 200 and f'<option value="{BRUSSELS_ID}">Brussels</option>' in listed.text
    assert "Vienna" not in listed.text and "secret-not-shown" not in listed.text
    assert organisations(programme) == 3                                   # listing registers nothing


def test_wrong_fields_are_shown_beside_each_and_nothing_is_written(programme: Programme) -> None:  # noqa: F811
    web = anonymous(programme)
    before = organisations(programme)
    bad = post(web, "/register", "/register", data={**FORM, "legal_id": "BE100000001", "password": "short",
                                                   "city_id": "2761369", "contact_email": "nope"})
    assert bad.status_code == 422
    for field, words in (("legal_id", "already registered"), ("password", "at least"),
                         ("city_id", "Vienna is in AT, not in BE"), ("contact_email", "not an email address")):
        found = re.search(rf'<p class="field-error" id="f-{field}-error">(.*?)</p>', bad.text, re.S)
        assert found and words in text_of(found.group(1)), field
        assert re.search(rf'id="f-{field}"[^>]*aria-invalid="true"', bad.text), field
    assert "&lt;i&gt;Tiber&lt;/i&gt; Cluster" in bad.text                # the name kept, escaped
    assert organisations(programme) == before


def test_registered_then_verified_by_the_link_the_applicant_signs_in_and_is_told_why_not_yet(programme: Programme) -> None:  # noqa: F811
    web = anonymous(programme)
    done = post(web, "/register", "/register", data=FORM)
    assert done.status_code == 201 and "contact@tiber.example" in done.text and "48 hours" in done.text
    [mail] = programme.emails("registration_verify")
    link = mail.context["link"]
    path = link[link.index("/verify"):]
    verified = web.get(path)
    assert verified.status_code == 200 and "ClusterXchange North assesses the registration" in text_of(verified.text)
    assert "&lt;i&gt;Tiber&lt;/i&gt; Cluster" in verified.text
    again = web.get(path)
    assert again.status_code == 422 and "used already" in text_of(again.text)
    signed = web.post("/login", data={"username": "tina", "password": FORM["password"], "next": "/my/applications/new",
                                      "csrf_token": token_of(web.get("/").text)}, follow_redirects=False)
    assert signed.status_code == 303
    application = post(web, "/my/applications/new", "/my/applications/new", data={
        "call": "CXP-TEST-01", "role": "visitor", "format": "exchange_visit", "date_from": "2027-02-01",
        "date_to": "2027-03-01", "sectors": "digital", "motivation": "Learn.", "declaration_given": "yes",
        "audit_rights_accepted": "yes", "action": "submit"})
    assert application.status_code == 403
    assert "waits for the partnership's assessment" in text_of(application.text)


def test_the_officer_assesses_in_the_inbox_a_reason_required_beside_its_field(programme: Programme) -> None:  # noqa: F811
    from tests.web import test_pages_work as work
    from workflows.services import access, accounts

    web = anonymous(programme)
    post(web, "/register", "/register", data=FORM)
    link = programme.emails("registration_verify")[0].context["link"]
    assert web.get(link[link.index("/verify"):]).status_code == 200
    accounts.set_password(programme.app, access.SYSTEM, "officer1.north", work.PASSWORD)
    officer = work.sign_in(TestClient(create_app(application=programme.app)), "officer1.north")
    assert "Assess the registration" in officer.get("/tasks").text
    with programme.app.uow() as uow:
        from workflows.db.process_models import HumanTask

        task_id = uow.session.scalars(select(HumanTask.id).where(HumanTask.task_spec == "assess_registration")).one()
    page = officer.get(f"/tasks/{task_id}")
    assert "&lt;i&gt;Tiber&lt;/i&gt; Cluster" in page.text and "contact@tiber.example" in page.text
    assert 'for="field-reason"' in page.text and 'for="field-question"' in page.text
    refused = work.post(officer, f"/tasks/{task_id}", {"decision": "reject", "reason": ""}, f"/tasks/{task_id}")
    error = re.search(r'<p class="field-error" id="field-reason-error">(.*?)</p>', refused.text, re.S)
    assert refused.status_code == 422 and error and "required when rejecting" in error.group(1)
    done = work.post(officer, f"/tasks/{task_id}", {"decision": "approve"}, f"/tasks/{task_id}")
    assert done.status_code == 303
    assert programme.emails("registration_approved")[0].recipients == ["contact@tiber.example"]


def test_a_registered_applicant_signs_in_before_approval_and_my_page_answers(programme: Programme) -> None:  # noqa: F811
    web = anonymous(programme)
    post(web, "/register", "/register", data=FORM)
    signed = web.post("/login", data={"username": "tina", "password": FORM["password"], "next": "/my",
                                      "csrf_token": token_of(web.get("/").text)}, follow_redirects=False)
    assert signed.status_code == 303
    page = web.get("/my")
    assert page.status_code == 200 and "&lt;i&gt;Tiber&lt;/i&gt; Cluster" in page.text
    # where the registration stands, in words, and no button to apply before the approval
    assert "<dd>Pending verification</dd>" in page.text
    assert "This organisation may not apply yet: its registration is not verified yet" in page.text
    assert 'href="/my/applications/new"' not in page.text


def test_past_the_limit_per_address_the_page_says_when_to_try_again(programme: Programme) -> None:  # noqa: F811
    from tests.wall_clock import WallClock

    programme.app.wall_clock = WallClock()
    web = anonymous(programme)
    for n in range(programme.app.settings.registrations_per_hour):
        done = post(web, "/register", "/register", data={**FORM, "legal_id": f"BE09990001{n:02d}", "username": f"u{n}"})
        assert done.status_code == 201
    before = organisations(programme)
    refused = post(web, "/register", "/register", data={**FORM, "legal_id": "BE0999000199", "username": "late"})
    assert refused.status_code == 429 and "too many registrations" in text_of(refused.text)
    assert int(refused.headers["Retry-After"]) > 0 and organisations(programme) == before
    assert 'value="BE0999000199"' in refused.text                             # what was typed is kept
