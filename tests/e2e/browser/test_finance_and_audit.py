"""The finance, audit, reports and administration pages in a real chromium: finance releases a batch
and imports the bank's answer; an auditor verifies the chain and draws a sample, then reads the KPI
dashboard; an administrator's page. Each page is photographed at 1280 and 390 px wide, and no page
breaks the Content-Security-Policy."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from reports.bankfiles import make_pain002
from tests.web.test_pages_oversight import ADMIN, AUDITOR, FINANCE, PASSWORD, batch  # noqa: F401 - fixture

Shot = Callable[[Any, str], Path]


@pytest.fixture
def web_app(app: Any, batch: str) -> Any:  # noqa: F811 - the module's database: a created batch
    from workflows.web.app import create_app

    return create_app(application=app)


def watch_csp(page: Any) -> list[str]:
    """The Content-Security-Policy violations the page reports while the test runs."""
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    return found


def sign_in(page: Any, url: str, username: str, next_url: str) -> None:
    page.goto(f"{url}/?next={next_url}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}{next_url}*")


def both_widths(page: Any, screenshot: Shot, name: str) -> None:
    screenshot(page, f"{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, f"{name}-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"{name} is wider than a phone"
    page.set_viewport_size({"width": 1280, "height": 800})


def test_finance_releases_a_batch_and_imports_the_banks_answer(page, live_server, screenshot, batch, tmp_path):  # noqa: F811
    violations = watch_csp(page)
    sign_in(page, live_server.url, FINANCE, "/payments")
    assert page.get_by_role("link", name=batch).is_visible()
    both_widths(page, screenshot, "payments-list")

    page.get_by_role("link", name=batch).click()
    release = page.get_by_role("button", name=re.compile(r"^Release \d+ transfers? \(EUR [\d,.]+\)$"))
    release.click()  # without the confirmation ticked: refused, the page says what to confirm
    page.get_by_text("Tick the box to confirm releasing").wait_for()
    both_widths(page, screenshot, "payments-batch-confirm-release")
    page.get_by_label(re.compile(r"I release \d+ transfers? for a total of EUR")).check()
    page.get_by_role("button", name=re.compile(r"^Release \d+ transfers?")).click()
    page.get_by_text(f"Batch {batch} is released to the bank by {FINANCE}:").wait_for()
    both_widths(page, screenshot, "payments-batch-released")

    answer = tmp_path / "PSR-BROWSER-1.xml"
    answer.write_bytes(make_pain002(batch, {"EX-000002": "AC04"}, "PSR-BROWSER-1",
                                    datetime(2027, 2, 20, tzinfo=UTC)))
    page.get_by_label("Bank file (pain.002 status report or camt.054 notification, XML)").set_input_files(str(answer))
    page.get_by_role("button", name="Import").click()
    page.get_by_role("heading", name="Bank file imported").wait_for()
    assert page.get_by_role("link", name="EX-000002").is_visible()
    both_widths(page, screenshot, "payments-import-result")

    page.get_by_role("link", name=batch).click()
    assert page.locator("tr.rejected").count() == 1
    assert violations == []


def test_an_auditor_verifies_the_chain_draws_a_sample_and_reads_the_kpis(page, live_server, screenshot):
    violations = watch_csp(page)
    sign_in(page, live_server.url, AUDITOR, "/audit")
    page.get_by_label("Seed", exact=True).fill("7")
    page.get_by_role("button", name="Draw the sample").click()
    page.get_by_text("Seed 7:").wait_for()
    assert page.locator("#sample tbody tr").count() >= 1

    page.get_by_role("button", name="Verify the chain").click()
    page.locator("#verify-result").get_by_text("The chain is verified.").wait_for()
    assert page.locator("#sample tbody tr").count() >= 1  # the sample kept beside the verification
    both_widths(page, screenshot, "audit")

    page.get_by_role("link", name="Reports").click()
    page.get_by_label("Month").fill("2027-02")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("heading", name="Headline figures").wait_for()
    assert page.locator("figure.chart svg").count() >= 1
    both_widths(page, screenshot, "reports")
    assert violations == []


def test_the_administrators_page(page, live_server, screenshot):
    violations = watch_csp(page)
    sign_in(page, live_server.url, ADMIN, "/admin")
    page.locator("#add-user-form").get_by_label("Role").select_option("finance")
    page.get_by_role("button", name="Add the user").click()
    page.locator("#field-username-error").wait_for()  # nothing but the role given: the errors beside the fields
    both_widths(page, screenshot, "admin-add-user-errors")
    assert violations == []


def test_an_administrator_reads_the_payments_without_the_bank_upload(page, live_server, screenshot, batch):  # noqa: F811
    """Bank files are finance's lane (issue 18, point 5): the administrator reads the batches, and the
    page offers no import of the bank's answer."""
    violations = watch_csp(page)
    sign_in(page, live_server.url, ADMIN, f"/payments/{batch}")
    assert page.get_by_role("heading", name="Import the bank's answer").count() == 0
    assert page.get_by_text(batch).first.is_visible()
    both_widths(page, screenshot, "payments-batch-admin")
    assert violations == []
