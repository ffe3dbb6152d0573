"""An anonymous visitor in a real chromium: opens /calls from the navigation, a call, then /offers,
filters them by country with the keyboard alone, pages on, and sends a wrong filter (shown beside its
field). Every page is checked with axe-core
(no serious or critical violation) and at 390 px (nothing scrolls sideways: the offers' table scrolls
inside its wrapper). Screenshots: var/screenshots/public-*.png."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.api.public_data import MARKUP, add_public_data
from tests.e2e.browser.conftest import axe_violations
from tests.workflows.builders import Programme, build_programme


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the browser tests are about the pages, not the database."""
    return f"sqlite:///{tmp_path}/cxp.db"


@pytest.fixture
def programme(app: Any) -> Programme:
    prog = build_programme(app)
    add_public_data(prog, 25)
    return prog


@pytest.fixture
def web_app(programme: Programme) -> Any:
    from workflows.web.app import create_app

    return create_app(application=programme.app)


def checked(page: Any, screenshot: Any, name: str) -> None:
    """axe-core finds no serious or critical problem; at 390 px nothing scrolls sideways; screenshots."""
    found = axe_violations(page)
    assert found == [], f"{name}: {found}"
    screenshot(page, f"public-{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
    screenshot(page, f"public-{name}-390")
    page.set_viewport_size({"width": 1280, "height": 800})


def test_an_anonymous_visitor_browses_the_calls_and_filters_the_offers_by_keyboard(
        page: Any, live_server: Any, programme: Programme, screenshot: Any) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"{live_server.url}/")
    page.click("nav.mainnav >> text=Calls")
    page.wait_for_url("**/calls")
    assert "Test call" in page.inner_text("main") and "EUR 1,100.00" in page.inner_text("main")
    checked(page, screenshot, "calls")

    page.click("#call-CXP-TEST-01 a")
    page.wait_for_url("**/calls/CXP-TEST-01")
    assert "Any other eligible country" in page.inner_text("#caps-table")
    checked(page, screenshot, "call")

    page.goto(f"{live_server.url}/offers")
    page.focus("#o-country")
    page.keyboard.type("Austria")  # a focused select picks the option typed
    assert page.input_value("#o-country") == "AT"
    page.focus("form.filters button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/offers?country=AT**")
    rows = page.locator("#offers-table tbody tr")
    assert rows.count() >= 1 and all("Austria" in t for t in rows.all_inner_texts())
    checked(page, screenshot, "offers-austria")

    page.goto(f"{live_server.url}/offers?sector=tourism&date_from=2027-06-01&date_to=2027-06-30&page_size=2")
    assert MARKUP in page.inner_text("#offers-table")  # markup shown as text, never run
    page.focus("a[rel=next]")
    page.keyboard.press("Enter")
    page.wait_for_url("**page=2**")
    assert "page 2 of" in page.inner_text("#o-summary")
    checked(page, screenshot, "offers-page-2")

    wrong = page.goto(f"{live_server.url}/offers?date_from=2027-05-01&date_to=2027-04-01")
    assert wrong is not None and wrong.status == 422
    assert "is before the first day of the range" in page.inner_text("#o-date_to-error")
    checked(page, screenshot, "offers-wrong-filter")
    assert errors == []
