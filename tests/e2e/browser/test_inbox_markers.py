"""The inbox in a real chromium, at 1280 and 390 px: an officer sees the task's due and follow-up
dates and a Claim button; an auditor, who may never claim, sees the same row marked read only and no
Claim button."""
from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.browser.test_finance_and_audit import both_widths, sign_in, watch_csp
from tests.web.test_pages_work import AUDITOR, OFFICER, Programme, programme  # noqa: F401 - the fixture


@pytest.fixture
def web_app(programme: Programme) -> Any:  # noqa: F811
    from workflows.web.app import create_app

    programme.submit_visitor_application()
    return create_app(application=programme.app)


def _row(page: Any, prog: Programme) -> Any:
    task = prog.open_task("assess_application")
    return page.locator(f"#task-row-{task.id}")


def test_the_officer_sees_follow_up_and_claim_and_the_auditor_a_read_only_row(
        page: Any, live_server: Any, screenshot: Any, programme: Programme) -> None:  # noqa: F811
    violations = watch_csp(page)
    sign_in(page, live_server.url, OFFICER, "/tasks")
    row = _row(page, programme)
    assert "follow up" in row.inner_text()
    assert row.get_by_role("button", name="Claim", exact=False).count() == 1
    both_widths(page, screenshot, "inbox-officer")
    page.context.clear_cookies()

    sign_in(page, live_server.url, AUDITOR, "/tasks?role=officer")
    row = _row(page, programme)
    assert "read only" in row.inner_text() and "follow up" in row.inner_text()
    assert row.get_by_role("button", name="Claim", exact=False).count() == 0
    both_widths(page, screenshot, "inbox-auditor")
    assert violations == []
