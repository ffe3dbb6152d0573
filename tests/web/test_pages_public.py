"""The public pages through the web (TestClient), without signing in: /calls with each call's windows,
events, partnerships and rules in words, never a draft; /calls/{code} (404 for a draft); /offers with
its filters, pages and a wrong filter shown beside its field (422); markup in an organisation's name
shown escaped; no email anywhere; the navigation of an anonymous visitor, and the applicant's link to
apply."""
from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.api.public_data import DRAFT, HIDDEN, MARKUP, PublicData, add_public_data
from tests.web.test_pages_oversight import PASSWORD, signed_in, text_of
from tests.workflows.builders import OFFICER, VISITOR, Programme, programme  # noqa: F401 - the fixture
from workflows.services.access import SYSTEM
from workflows.services.accounts import set_password
from workflows.web.app import create_app

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


@pytest.fixture
def data(programme: Programme) -> PublicData:  # noqa: F811
    return add_public_data(programme, 25)


@pytest.fixture
def anonymous(programme: Programme) -> TestClient:  # noqa: F811
    return TestClient(create_app(application=programme.app), base_url="https://testserver")


def test_anyone_sees_the_open_calls_with_their_rules_in_words_and_no_draft(anonymous: TestClient,
                                                                           data: PublicData) -> None:
    page = anonymous.get("/calls")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Test call CXP-TEST-01" in text and "Open for applications" in text
    assert "Mon 11 Jan 2027 – Fri 5 Mar 2027" in text  # dates as dates
    assert "ClusterXchange North (Belgium) lead" in text and "ClusterXchange South (Austria)" in text
    assert "EUR 1,100.00 for a host in Austria" in text and "halved" in text and "at least 3 working days" in text
    assert "27 offers with places left" in text
    assert "Spring matchmaking days (Virtual marketplace) · Tue 2 Feb 2027 – Thu 4 Feb 2027 · online" in text
    assert DRAFT not in page.text and "A draft nobody may see" not in page.text
    nav = page.text.split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
    assert [href for href in re.findall(r'href="([^"]+)"', nav)] == ["/calls", "/offers", "/register", "/"]
    assert 'aria-current="page">Calls' in nav and "Sign out" not in page.text


def test_one_call_has_its_events_and_its_caps_and_a_draft_is_not_found(anonymous: TestClient,
                                                                        data: PublicData) -> None:
    page = anonymous.get("/calls/cxp-test-01")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "EUR 950.00" in text and "Any other eligible country" in text and "Register your organisation" in text
    assert 'id="apply-link"' not in page.text  # only a signed-in applicant is offered the form
    assert 'href="/offers?call=CXP-TEST-01"' in page.text
    for code in (DRAFT, "NO-SUCH-CALL"):
        missing = anonymous.get(f"/calls/{code}")
        assert missing.status_code == 404 and "no published call" in missing.text


def test_a_signed_in_applicant_gets_the_link_to_apply_and_an_officer_does_not(programme: Programme,  # noqa: F811
                                                                              data: PublicData) -> None:
    for username in (VISITOR, OFFICER):
        set_password(programme.app, SYSTEM, username, PASSWORD)
    applicant = signed_in(programme.app, VISITOR).get("/calls/CXP-TEST-01").text
    assert 'href="/my/applications/new?call=CXP-TEST-01"' in applicant and "Apply to this call" in applicant
    assert 'href="/calls"' in applicant and 'href="/offers"' in applicant and "Sign out" in applicant
    listing = signed_in(programme.app, VISITOR).get("/calls").text
    assert '<a class="button primary" href="/my/applications/new?call=CXP-TEST-01">Apply to CXP-TEST-01</a>' in listing
    assert "Apply to" not in signed_in(programme.app, OFFICER).get("/calls").text
    officer = signed_in(programme.app, OFFICER).get("/calls/CXP-TEST-01").text
    assert "Apply to this call" not in officer and "Register your organisation" not in officer


def test_the_offers_filter_and_page_and_show_a_markup_name_escaped(anonymous: TestClient, programme: Programme,  # noqa: F811
                                                                  data: PublicData) -> None:
    page = anonymous.get("/offers")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "27 offers with places left · page 1 of 2" in text and "Helix Cluster Vienna" in text
    assert "1 of 2" in text  # Helix: capacity 2, one visit matched
    assert HIDDEN not in text and "Draft Host Lisbon" not in text
    assert 'href="/offers?page=2"' in page.text
    austria = anonymous.get("/offers?country=AT&sector=digital").text
    rows = re.findall(r'<tr data-offer="(\d+)"', austria)
    assert str(programme.host_application_id) in rows and "Lyon" not in austria
    assert '<option value="AT" selected>Austria</option>' in austria
    assert all("Austria" in row for row in austria.split('<tr data-offer="')[1:])
    tourism = anonymous.get("/offers?sector=tourism&format=conference_fair&date_from=2027-06-10&date_to=2027-06-12")
    assert MARKUP not in tourism.text and "&lt;script&gt;alert(1)&lt;/script&gt; Évora &amp; Co" in tourism.text
    assert "Topics: wine routes" in text_of(tourism.text)  # the host's own words, named as its topics
    second = anonymous.get("/offers?country=AT&page_size=2&page=2").text
    assert 'href="/offers?country=AT&amp;page_size=2&amp;page=1"' in second  # the filters kept on the pager


def test_a_wrong_filter_is_shown_beside_its_field_and_nothing_is_listed(anonymous: TestClient,
                                                                         data: PublicData) -> None:
    page = anonymous.get("/offers?country=XX&date_from=2027-05-01&date_to=2027-04-01")
    assert page.status_code == 422
    assert 'id="o-country" name="country" aria-invalid="true" aria-describedby="o-country-error"' in page.text
    assert re.search(r'id="o-country-error">.*is not an ISO 3166-1 country code', page.text)
    assert re.search(r'id="o-date_to-error">.*2027-04-01 is before the first day of the range, 2027-05-01', page.text)
    assert 'value="2027-05-01"' in page.text and "<tr data-offer" not in page.text


def test_no_email_or_personal_name_is_on_the_public_pages(anonymous: TestClient, data: PublicData) -> None:
    html = " ".join(anonymous.get(path).text for path in ("/calls", "/calls/CXP-TEST-01", "/offers?page_size=100"))
    assert EMAIL.findall(html) == []
    for secret in ("Vera Visitor", "Hans Host", "Olga Officer", "AT611904300234573201", "PT-MARK-1", "BE100000001"):
        assert secret not in html


def test_the_sign_in_page_points_to_the_calls_and_registration(anonymous: TestClient) -> None:
    page = anonymous.get("/").text
    assert 'href="/calls">calls open now</a>' in page and 'href="/register">register your organisation</a>' in page


def test_the_sign_in_gate_lets_the_public_routes_through_and_keeps_the_administrations() -> None:
    from workflows.web.api import routes
    from workflows.web.gate import SignInGate
    from workflows.web.pages import routes as page_routes

    gate = SignInGate(lambda *_: None, [("/api", r) for router in routes() for r in router.routes]
                      + [("", r) for router in page_routes() for r in router.routes])
    for path in ("/calls", "/calls/CXP-TEST-01", "/offers", "/api/calls", "/api/calls/CXP-TEST-01", "/api/offers"):
        assert gate.required("GET", path) is None, path
    assert gate.required("POST", "/api/calls") == "bearer" and gate.required("PATCH", "/api/calls/X") == "bearer"
