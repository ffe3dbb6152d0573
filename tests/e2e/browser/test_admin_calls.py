"""An administrator in a real chromium: creates a call with two events — sending the form with two
mistakes first, each shown beside its field with what was typed kept — publishes it and finds it on
its page, on the public calls page and in `GET /api/calls/{code}`;
then raises the budget of a call whose grant waits for budget and sees it approved at once. Every page
is checked with axe-core (no serious or critical violation) and at 390 px (no sideways scrolling).
Screenshots: var/screenshots/admin-calls-*.png."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.browser.conftest import axe_violations
from tests.workflows.builders import ADMIN, OFFICER, VISITOR, Programme, accept_evidence, build_programme, evidence
from workflows.db.models import Call
from workflows.services import access, accounts

PASSWORD = "password123"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the browser tests are about the pages, not the database."""
    return f"sqlite:///{tmp_path}/cxp.db"


@pytest.fixture
def programme(app: Any) -> Programme:
    """A call (CXP-TEST-01) whose only grant waits for budget, and the administrator's password."""
    prog = build_programme(app).awaiting_evidence()
    prog.complete("submit_evidence", VISITOR, evidence())
    with app.uow() as uow:
        uow.session.scalars(select(Call)).one().budget = Decimal("500.00")
        uow.commit()
    prog.complete("validate_evidence", OFFICER, accept_evidence())
    assert prog.exchange().status == "waiting_budget"
    accounts.set_password(app, access.SYSTEM, ADMIN, PASSWORD)
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
    screenshot(page, f"admin-calls-{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
    screenshot(page, f"admin-calls-{name}-390")
    page.set_viewport_size({"width": 1280, "height": 800})


def sign_in(page: Any, url: str, next_path: str) -> None:
    page.goto(f"{url}/?next={next_path}")
    page.fill("#username", ADMIN)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def fill_call(page: Any, closes_on: str, budget: str) -> None:
    page.fill("#f-code", "CXP-2027-07")
    page.fill("#f-title", "Summer exchanges 2027")
    page.select_option("#f-lead_partnership", "CXP-NORTH")
    page.check("#f-partnership-CXP-SOUTH")
    page.fill("#f-opens_on", "2027-02-01")
    page.fill("#f-closes_on", closes_on)
    page.fill("#f-matching_deadline", "2027-05-28T18:00")
    page.fill("#f-budget", budget)
    for n, (kind, title, start, end, place) in enumerate([
            ("virtual_marketplace", "#1 Summer marketplace", "2027-02-08", "2027-03-12", "online"),
            ("joint_learning_event", "Learning days in Vienna", "2027-04-20", "2027-04-21", "Vienna")]):
        page.select_option(f"#f-events-{n}-kind", kind)
        page.fill(f"#f-events-{n}-title", title)
        page.fill(f"#f-events-{n}-starts_on", start)
        page.fill(f"#f-events-{n}-ends_on", end)
        page.fill(f"#f-events-{n}-place", place)


def test_an_administrator_creates_a_call_with_two_events_after_its_field_errors_and_publishes_it(
        page: Any, live_server: Any, screenshot: Any) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server.url, "/admin")
    checked(page, screenshot, "glance")
    page.get_by_role("link", name="New call").first.click()
    page.wait_for_url("**/admin/calls/new")

    fill_call(page, closes_on="2027-01-25", budget="lots")                        # two mistakes first
    page.get_by_role("button", name="Save the draft").click()
    assert "The call was not saved" in page.inner_text("#call-form-errors")
    assert "2027-01-25 is not after the opening on 2027-02-01" in page.inner_text("#f-closes_on-error")
    assert "'lots' is not an amount in euros" in page.inner_text("#f-budget-error")
    assert page.get_attribute("#f-budget", "aria-invalid") == "true"
    assert page.input_value("#f-events-1-place") == "Vienna" and page.input_value("#f-budget") == "lots"
    checked(page, screenshot, "new-errors")

    page.fill("#f-closes_on", "2027-03-31")
    page.fill("#f-budget", "24000.00")
    page.get_by_role("button", name="Save the draft").click()
    page.wait_for_url("**/admin/calls/CXP-2027-07")
    assert "is saved as a draft" in page.inner_text(".flashes")
    events = page.inner_text("#events-table")
    assert "#1 Summer marketplace" in events and "Learning days in Vienna" in events
    checked(page, screenshot, "draft")

    page.fill("#f-publish-note", "Budget and rule set 2026.1 checked.")
    page.get_by_role("button", name="Publish CXP-2027-07").click()
    page.wait_for_url("**/admin/calls/CXP-2027-07")
    assert "is published: its process started" in page.inner_text(".flashes")
    assert "Open" in page.inner_text("h1") and page.locator("#call-form").count() == 0  # the clock is past 1 Feb
    history = page.inner_text("#history-table")
    assert "published the call" in history and "Budget and rule set 2026.1 checked." in history
    checked(page, screenshot, "published")

    # published, it is public: in the JSON and on the public pages, with its two events
    public = page.request.get(f"{live_server.url}/api/calls/CXP-2027-07")
    assert public.status == 200 and public.json()["code"] == "CXP-2027-07"
    page.goto(f"{live_server.url}/calls")
    page.click("main a[href='/calls/CXP-2027-07']")
    page.wait_for_url("**/calls/CXP-2027-07")
    shown = page.inner_text("main")
    assert "Summer exchanges 2027" in shown and "Vienna" in shown
    checked(page, screenshot, "public-call")
    assert errors == []


def test_an_administrator_raises_a_budget_and_sees_the_waiting_grant_approved(
        page: Any, live_server: Any, programme: Programme, screenshot: Any) -> None:
    sign_in(page, live_server.url, "/admin")
    waiting = page.locator("#glance-calls tr[data-call='CXP-TEST-01']")
    assert "EUR 1,100.00 (1)" in waiting.inner_text()
    waiting.get_by_role("link", name="EUR 1,100.00 (1)").click()
    page.wait_for_url("**/admin/calls/CXP-TEST-01#budget")
    row = page.locator(f"#waiting-table tr[data-exchange='{programme.exchange_ref}']")
    assert "Nova Cluster Brussels" in row.inner_text()
    checked(page, screenshot, "waiting")

    page.fill("#f-budget", "1000")                                                 # not enough to be useful? fine,
    page.fill("#f-budget-reason", "")                                              # but no reason: shown
    page.get_by_role("button", name="Change the budget").click()
    assert "changing a call's budget needs a reason" in page.inner_text("#f-budget-reason-error")

    page.fill("#f-budget", "2000.00")
    page.fill("#f-budget-reason", "The partners confirmed their co-funding.")
    page.get_by_role("button", name="Change the budget").click()
    page.wait_for_url("**/admin/calls/CXP-TEST-01#budget")
    flash = page.inner_text(".flashes")
    assert "EUR 2,000.00 (was EUR 500.00)" in flash and f"1 waiting grant(s) approved: {programme.exchange_ref}" in flash
    assert page.locator("#waiting-table").count() == 0
    assert "raised the budget from EUR 500.00 to EUR 2000.00" in page.inner_text("#history-table")
    checked(page, screenshot, "approved")

    page.goto(f"{live_server.url}/exchanges/{programme.exchange_ref}")
    assert "committed" in page.inner_text("main")
