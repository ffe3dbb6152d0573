"""Applicants apply in a real chromium (SPEC §13): a host offers to host and an officer publishes the
offer; a visitor applies, first with a date in the past (the message beside the field, nothing
written), then sees its eligibility in words, marks the new offer preferred; the matching round (run as
the test harness does) proposes that pair naming the preference, both accept, and /my shows the match
with its reasons. Every page is checked with axe-core (no serious or critical violation), at 390 px
(no sideways scrolling), and the form is completed with the keyboard. Screenshots my-*.png."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.e2e.browser.conftest import axe_violations
from tests.workflows.builders import (
    ADMIN,
    BRUSSELS,
    HOST,
    OFFICER,
    SOUTH_OFFICER,
    VISITOR,
    Programme,
    accept_match,
    approve,
    build_programme,
)
from workflows.db.models import Application, Exchange
from workflows.services import access, accounts
from workflows.services.lifecycle import instance_for, start

SAVED_APPLICATION = re.compile(r".*/my/applications/\d+$")  # not the form's own /my/applications/new

PASSWORD = "password123"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the browser tests are about the pages, not the database."""
    return f"sqlite:///{tmp_path}/cxp.db"


@pytest.fixture
def programme(app: Any) -> Programme:
    prog = build_programme(app)
    for user in (VISITOR, HOST):
        accounts.set_password(app, access.SYSTEM, user, PASSWORD)
    return prog


@pytest.fixture
def web_app(programme: Programme) -> Any:
    from workflows.web.app import create_app

    return create_app(application=programme.app)


def checked(page: Any, screenshot: Any, name: str) -> None:
    """axe-core finds no serious or critical problem; at 390 px nothing scrolls sideways; screenshots."""
    found = axe_violations(page)
    assert found == [], f"{name}: {found}"
    page.set_viewport_size({"width": 1280, "height": 800})
    screenshot(page, f"my-{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
    screenshot(page, f"my-{name}-390")
    page.set_viewport_size({"width": 1280, "height": 800})


def sign_in(page: Any, url: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{url}/?next=/my")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/my")


def tab_to(page: Any, selector: str, limit: int = 60) -> None:
    """Press Tab until `selector` has the focus (fails when it is not reachable by the keyboard)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement === document.querySelector({selector!r})"):
            return
    pytest.fail(f"{selector} cannot be reached with the Tab key")


def fill_by_keyboard(page: Any, values: dict[str, str], ticks: tuple[str, ...]) -> None:
    """Each text field reached with Tab and typed into; each tick reached with Tab and set with Space."""
    page.focus("#f-call")
    for selector, text in values.items():
        tab_to(page, selector)
        page.keyboard.press("Control+A")
        page.keyboard.type(text)
    for selector in ticks:
        tab_to(page, selector)
        page.keyboard.press("Space")


def applications(prog: Programme) -> int:
    with prog.app.uow() as uow:
        return int(uow.session.scalar(select(func.count(Application.id))) or 0)


def test_a_host_offers_a_visitor_applies_prefers_it_and_the_round_proposes_that_pair(
        page: Any, live_server: Any, programme: Programme, screenshot: Any) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # the host offers to host
    sign_in(page, live_server.url, HOST)
    checked(page, screenshot, "home-host")
    page.click("text=Offer to host")
    page.wait_for_selector("#application-form")
    page.fill("#f-date_from", "2027-02-01")
    page.fill("#f-date_to", "2027-04-30")
    fill_by_keyboard(page, {"#f-sectors": "digital", "#f-capacity": "1", "#f-topics": "pilot lines",
                            "#f-activities_offered": "study_visit, matchmaking"},
                     ("#f-declaration_given", "#f-audit_rights_accepted"))
    tab_to(page, "button[value=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(SAVED_APPLICATION)
    assert "approves the offer" in page.inner_text("main")
    offer = int(page.url.rsplit("/", 1)[1])
    checked(page, screenshot, "host-offer")
    with programme.app.uow() as uow:
        hosting = instance_for(uow, "application", offer).id
    programme.complete("approve_host", SOUTH_OFFICER, {"decision": "approve", "comment": "Clear offer."},
                       instance_id=hosting)

    # the visitor applies: first a date in the past, then right
    sign_in(page, live_server.url, VISITOR)
    page.click("text=Apply as a visitor")
    page.wait_for_selector("#application-form")
    before = applications(programme)
    page.fill("#f-date_from", "2027-01-04")
    page.fill("#f-date_to", "2027-03-01")
    fill_by_keyboard(page, {"#f-sectors": "digital", "#f-wished_countries": "AT",
                            "#f-motivation": "We want to learn <b>pilot lines</b> from peers."},
                     ("#f-declaration_given", "#f-audit_rights_accepted"))
    tab_to(page, "button[value=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#f-date_from-error")
    assert "is in the past" in page.inner_text("#f-date_from-error")
    assert page.get_attribute("#f-date_from", "aria-invalid") == "true"
    assert applications(programme) == before
    checked(page, screenshot, "apply-error")
    page.fill("#f-date_from", "2027-02-01")
    page.click("button[value=submit]")
    page.wait_for_url(SAVED_APPLICATION)
    main = page.inner_text("main")
    assert "Eligible: an officer of the partnership assesses it" in main
    application_id = int(page.url.rsplit("/", 1)[1])
    checked(page, screenshot, "application")
    page.check(f"#p-{offer}")
    page.click("text=Save my preferred offers")
    page.wait_for_selector(".flash-success")
    assert page.is_checked(f"#p-{offer}")

    # the officer assesses, the call's matching round proposes, both accept (as the harness does)
    with programme.app.uow() as uow:
        programme.exchange_id = uow.session.scalars(select(Exchange.id).where(
            Exchange.visitor_application_id == application_id)).one()
        programme.instance_id = instance_for(uow, "exchange", programme.exchange_id).id
    programme.complete("assess_application", OFFICER, approve())
    with programme.app.uow() as uow:
        call_id = start(programme.app, uow, "call", "call", programme.call_id,
                        {"call_id": programme.call_id, "partnership_id": programme.north_id}).id
        uow.commit()
    programme.complete("prepare_call", ADMIN, {"confirm": True}, instance_id=call_id)
    programme.advance_to(datetime(2027, 3, 6, 9, 0, tzinfo=BRUSSELS))
    programme.complete("review_proposals", OFFICER, {"confirm": True, "drop_proposals": [], "comment": "ok"},
                       instance_id=call_id)
    programme.complete("visitor_accept_match", VISITOR, accept_match())
    programme.complete("host_accept_match", HOST, accept_match())
    assert programme.exchange().host_application_id == offer

    page.goto(f"{live_server.url}/my")
    mine = page.inner_text("main")
    assert "preferred by the visitor" in mine and "Helix Cluster Vienna" in mine and "Matched" in mine
    checked(page, screenshot, "home-visitor")
    assert errors == []
