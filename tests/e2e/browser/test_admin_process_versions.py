"""An administrator in a real chromium deploys a changed exchange process — a file with a problem
first, its problem shown beside the file field, then the good one — and migrates a running exchange
to it after a dry run; the exchange's diagram then shows the new version, and its page the versions it
ran. Screenshots at 1280 and 390 px (var/screenshots/admin-processes-*.png)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.bpmn.changes import changed_process, without_form
from tests.workflows.builders import ADMIN, VISITOR, Programme, build_programme, evidence
from workflows.services import access, accounts

PASSWORD = "password123"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the browser tests are about the pages, not the database."""
    return f"sqlite:///{tmp_path}/cxp.db"


@pytest.fixture
def programme(app: Any) -> Programme:
    """An exchange whose evidence waits for the officer's validation."""
    prog = build_programme(app).awaiting_evidence()
    prog.complete("submit_evidence", VISITOR, evidence())
    accounts.set_password(app, access.SYSTEM, ADMIN, PASSWORD)
    return prog


@pytest.fixture
def web_app(programme: Programme) -> Any:
    from workflows.web.app import create_app

    return create_app(application=programme.app)


def both_widths(page: Any, screenshot: Any, name: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    screenshot(page, f"admin-processes-{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
    screenshot(page, f"admin-processes-{name}-390")
    page.set_viewport_size({"width": 1280, "height": 800})


def upload(page: Any, name: str, content: bytes, reason: str) -> None:
    page.set_input_files("#bpmn-file", files=[{"name": name, "mimeType": "application/xml", "buffer": content}])
    page.fill("#deploy-reason", reason)
    page.get_by_role("button", name="Check and deploy").click()


def test_an_administrator_deploys_a_changed_exchange_and_migrates_a_running_one_after_a_dry_run(
        page: Any, live_server: Any, programme: Programme, screenshot: Any) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/?next=/admin")
    page.fill("#username", ADMIN)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin")
    page.get_by_role("link", name="Deploy a new version, migrate running instances", exact=False).click()
    page.wait_for_url("**/admin/processes")

    upload(page, "exchange-broken.bpmn", without_form(), "A renamed validation")     # a problem first
    error = page.locator("#bpmn-file-error")
    assert "user task 'validate_all_evidence' has no form" in error.inner_text()
    assert page.get_attribute("#bpmn-file", "aria-invalid") == "true"
    assert page.input_value("#deploy-reason") == "A renamed validation"
    both_widths(page, screenshot, "deploy-error")

    upload(page, "exchange-v2.bpmn", changed_process("exchange"), "Officers decide extensions alone")
    page.wait_for_url("**/admin/processes/*")
    assert "is deployed: new instances start on it" in page.inner_text(".flashes")
    changes = page.locator("#changes + .table-wrap table")
    assert "host_consent_extension" in changes.inner_text() and "milestone_visit_started" in changes.inner_text()
    version_url = page.url

    candidate = page.locator(f"#candidate-{programme.instance_id}")
    assert candidate.is_checked()
    page.get_by_role("button", name="Dry run").click()
    row = page.locator(f"#report-table tr[data-instance='{programme.instance_id}']")
    assert "Can move" in row.inner_text() and "validate_evidence" in row.inner_text()
    assert page.locator(f"#move-{programme.instance_id}").is_checked()
    both_widths(page, screenshot, "dry-run")

    page.fill("#migrate-reason", "The evidence check has a new name")
    page.get_by_role("button", name="Migrate the chosen instances").click()
    page.locator("#report").get_by_text("Migration: 1 of 1 moved").wait_for()
    assert "Moved" in page.locator(f"#report-table tr[data-instance='{programme.instance_id}']").inner_text()
    assert "1 instance(s) moved to version 2" in page.inner_text(".flashes")

    page.goto(version_url)
    history = page.locator("#history-section")
    assert "Migrated (from v1)" in history.inner_text() and programme.exchange_ref in history.inner_text()
    both_widths(page, screenshot, "version")

    history.get_by_role("link", name=programme.exchange_ref).click()
    page.wait_for_url(f"**/instances/{programme.instance_id}")
    page.wait_for_function("document.querySelector('.bpmn-diagram').dataset.state === 'ready'")
    diagram = page.locator(".bpmn-diagram")
    assert diagram.locator(".djs-element[data-element-id='milestone_visit_started']").count() == 1
    assert diagram.locator(".djs-element[data-element-id='host_consent_extension']").count() == 0
    active = diagram.locator(".djs-element.cxp-active[data-element-id='validate_evidence']")
    assert active.count() == 1, "the task it waits on is coloured active on the new version's diagram"
    assert "moved from version 1 to version 2" in page.inner_text(".version-history")
    assert "Check the evidence and the attended days" in page.inner_text(".open-tasks")
    both_widths(page, screenshot, "instance")
    assert errors == []
