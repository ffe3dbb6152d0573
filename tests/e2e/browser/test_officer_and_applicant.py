"""An officer and an applicant at work in a real chromium: the officer filters the inbox, claims an
assessment, sends it with a field error, sees the error next to the field, then completes it; the
visitor of a matched exchange uploads an evidence PDF and sees its hash. Screenshots at 1280 and 390
px of each page (var/screenshots/work-*.png)."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from tests.workflows.builders import OFFICER, VISITOR, Programme, build_programme
from workflows.services import access, accounts

PASSWORD = "password123"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the browser tests are about the pages, not the database."""
    return f"sqlite:///{tmp_path}/cxp.db"


@pytest.fixture
def programme(app: Any) -> Programme:
    prog = build_programme(app).submit_visitor_application()
    for user in (OFFICER, VISITOR):
        accounts.set_password(app, access.SYSTEM, user, PASSWORD)
    return prog


@pytest.fixture
def web_app(programme: Programme) -> Any:
    from workflows.web.app import create_app

    return create_app(application=programme.app)


def sign_in(page: Any, url: str, username: str) -> None:
    page.goto(url + "/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/tasks")


def both_widths(page: Any, screenshot: Any, name: str) -> None:
    """Screenshots at 1280 and 390 px; at 390 the page itself never scrolls sideways."""
    page.set_viewport_size({"width": 1280, "height": 800})
    screenshot(page, f"work-{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
    screenshot(page, f"work-{name}-390")
    page.set_viewport_size({"width": 1280, "height": 800})


def test_an_officer_filters_claims_and_completes_an_assessment_after_a_field_error(
        page: Any, live_server: Any, programme: Programme, screenshot: Any) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server.url, OFFICER)
    page.select_option("#f-process", "exchange")
    page.fill("#f-task", "assess_application")
    page.click("text=Apply filters")
    page.wait_for_url("**task=assess_application**")
    row = page.locator("tr[id^=task-row-]")
    assert row.count() == 1
    both_widths(page, screenshot, "inbox")
    row.get_by_role("button", name="Claim").click()  # htmx swaps the row
    page.wait_for_selector("tr[id^=task-row-] .row-note")
    assert "you" in row.inner_text() and row.get_by_role("button", name="Release").is_visible()
    row.locator("a").first.click()
    page.wait_for_selector("#task-form")
    page.select_option("#field-decision", "reject")
    page.click("#task-form button[type=submit]")
    page.wait_for_selector("#field-comment-error")
    assert "required" in page.inner_text("#field-comment-error")
    assert page.get_attribute("#field-comment", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.className") == "form-errors"
    both_widths(page, screenshot, "task-error")
    page.select_option("#field-decision", "approve")
    page.fill("#field-comment", "Eligible and well motivated.")
    page.click("#task-form button[type=submit]")
    page.wait_for_url("**/tasks")
    assert "is done" in page.inner_text(".flashes")
    page.goto(f"{live_server.url}/instances/{programme.instance_id}")
    page.wait_for_selector("#diagram[data-state='ready']")
    both_widths(page, screenshot, "instance")
    assert errors == []


def test_the_visitor_uploads_an_evidence_pdf_and_sees_its_hash(
        page: Any, live_server: Any, programme: Programme, screenshot: Any, tmp_path: Path) -> None:
    pdf = tmp_path / "attendance.pdf"
    pdf.write_bytes(PDF)
    programme.assessed().matched()
    sign_in(page, live_server.url, VISITOR)
    both_widths(page, screenshot, "my-tasks")
    page.click("nav.mainnav >> text=My exchanges")
    page.click(f"text={programme.exchange_ref}")
    page.set_input_files("#evidence-file", str(pdf))
    page.select_option("#evidence-kind", "attendance_certificate")
    page.click(".upload-form button[type=submit]")
    page.wait_for_selector("#upload-hash")
    assert page.inner_text("#upload-hash") == hashlib.sha256(PDF).hexdigest()
    both_widths(page, screenshot, "exchange")
