"""The staff workspace finished (issue 20) in a real chromium: an officer opens the evidence files of
an exchange and downloads one; finance checks corrected bank details beside the rejected account and
the bank's reason; an officer declares a conflict of interest and reads the incidents. Each page is
checked with axe-core (no serious or critical violation), at 1280 and 390 px (nothing scrolls
sideways), and photographed."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser.conftest import axe_violations
from tests.workflows.builders import ATTENDANCE_PDF, FINANCE, OFFICER, VISITOR, Programme, build_programme
from tests.workflows.test_payments_bank import approved, pain002, released_batch
from workflows.services import access, accounts
from workflows.services.access import principal_by_name
from workflows.services.payments import import_status

PASSWORD = "password123"
CORRECTED_IBAN = "BE68539007547034"  # the visitor's account was BE71 0961 2345 6769 (GOOD_IBAN)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the browser tests are about the pages, not the database."""
    return f"sqlite:///{tmp_path}/cxp.db"


@pytest.fixture
def programme(app: Any) -> Programme:
    """North's exchange paid into an account the bank rejected (AC04), corrected by the visitor: the
    finance officer's verify_bank_details task waits."""
    prog = approved(build_programme(app))
    batch = released_batch(prog)["batch"]
    import_status(app, pain002(batch, prog.exchange_ref, "AC04"), "PSR-1.xml", principal_by_name(app, FINANCE))
    prog.complete("correct_bank_details", VISITOR, {"iban": CORRECTED_IBAN, "bic": None,
                                                    "account_holder": "Nova Cluster Brussels asbl"})
    for user in (OFFICER, FINANCE):
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
    screenshot(page, f"workspace-{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
    screenshot(page, f"workspace-{name}-390")
    page.set_viewport_size({"width": 1280, "height": 800})


def sign_in(page: Any, url: str, username: str, next_path: str) -> None:
    page.goto(f"{url}/?next={next_path}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def test_an_officer_opens_and_downloads_the_evidence_of_an_exchange(
        page: Any, live_server: Any, programme: Programme, screenshot: Any, tmp_path: Path) -> None:
    sign_in(page, live_server.url, OFFICER, f"/exchanges/{programme.exchange_ref}")
    link = page.get_by_role("link", name="attendance.pdf")
    assert link.is_visible()
    checked(page, screenshot, "exchange-evidence")
    with page.expect_download() as caught:
        link.click()
    download = caught.value
    assert download.suggested_filename == "attendance.pdf"
    saved = tmp_path / "got.pdf"
    download.save_as(saved)
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == hashlib.sha256(ATTENDANCE_PDF).hexdigest()


def test_finance_checks_the_corrected_account_beside_the_rejected_one(
        page: Any, live_server: Any, programme: Programme, screenshot: Any) -> None:
    task = programme.open_task("verify_bank_details")
    sign_in(page, live_server.url, FINANCE, f"/tasks/{task.id}")
    rejected = page.locator(".rejected-account")
    corrected = page.locator(".corrected-account")
    assert "AC04" in rejected.inner_text() and "Rejected by the bank" in rejected.inner_text()
    assert "BE71 0961 2345 6769" in rejected.inner_text() and "Closed account number" in rejected.inner_text()
    assert "BE68 5390 0754 7034" in corrected.inner_text() and "Nova Cluster Brussels asbl" in corrected.inner_text()
    left, right = rejected.bounding_box(), corrected.bounding_box()
    assert abs(left["y"] - right["y"]) < 2 and left["x"] < right["x"]  # side by side at 1280 px
    checked(page, screenshot, "verify-bank-details")


def test_an_officer_declares_a_conflict_and_reads_the_incidents(
        page: Any, live_server: Any, programme: Programme, screenshot: Any) -> None:
    sign_in(page, live_server.url, OFFICER, "/conflicts")
    page.get_by_role("button", name="Declare").click()
    page.get_by_text("Organisation: choose one").wait_for()
    checked(page, screenshot, "conflicts-error")
    page.get_by_label("Organisation").select_option(label="Helix Cluster Vienna (AT)")
    page.get_by_label("Reason").fill("I sit on its board.")
    page.get_by_role("button", name="Declare").click()
    page.get_by_text("Your conflict of interest with Helix Cluster Vienna is recorded").wait_for()
    checked(page, screenshot, "conflicts")
    page.get_by_role("link", name="Incidents").click()
    page.get_by_role("heading", name="Incidents").wait_for()
    checked(page, screenshot, "incidents")
