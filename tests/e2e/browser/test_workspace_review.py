"""Matching review and the Commitment to Quality in a real chromium (issue 20, points 2 and 3): an
officer reviews a round, picks another host from the list, sees the refusal with its reasons, then
drops the pair; the visitor fills the three activities with their dates; a signer reads the
Commitment. Each page is checked with axe-core, at 1280 and 390 px, and photographed."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser.test_workspace import PASSWORD, checked, sign_in
from tests.web.test_pages_match_review import review_round
from tests.workflows.builders import HOST, OFFICER, VISITOR, Programme, build_programme, signature
from workflows.services import access, accounts


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the browser tests are about the pages, not the database."""
    return f"sqlite:///{tmp_path}/cxp.db"


@pytest.fixture
def programme(app: Any) -> Programme:
    prog = build_programme(app)
    for user in (OFFICER, VISITOR, HOST):
        accounts.set_password(app, access.SYSTEM, user, PASSWORD)
    return prog


@pytest.fixture
def web_app(programme: Programme) -> Any:
    from workflows.web.app import create_app

    return create_app(application=programme.app)


def test_an_officer_reviews_a_round_from_lists_and_reads_a_refusal_in_words(
        page: Any, live_server: Any, programme: Programme, screenshot: Any) -> None:
    task_id = review_round(programme)
    sign_in(page, live_server.url, OFFICER, f"/tasks/{task_id}")
    assert page.get_by_text("Sectors in common: digital").is_visible()
    checked(page, screenshot, "match-review")
    page.get_by_label("Another host for Nova Cluster Brussels").select_option(index=1)  # Ghent: the same country
    page.get_by_label("Send the remaining proposals").check()
    page.get_by_role("button", name="Complete the task").click()
    page.get_by_text("Not done, a change of host was refused").wait_for()
    assert page.get_by_text("visitor and host are in the same country").first.is_visible()
    checked(page, screenshot, "match-review-refused")
    page.get_by_label("Another host for Nova Cluster Brussels").select_option(index=0)
    page.get_by_label("Drop this pair").check()
    page.get_by_label("Send the remaining proposals").check()
    page.get_by_role("button", name="Complete the task").click()
    page.get_by_text("is done").wait_for()


def test_the_visitor_agrees_three_dated_activities_and_the_host_reads_the_commitment(
        page: Any, live_server: Any, programme: Programme, screenshot: Any) -> None:
    programme.submit_visitor_application().assessed().matched()
    task = programme.open_task("agree_commitment")
    sign_in(page, live_server.url, VISITOR, f"/tasks/{task.id}")
    page.locator("#field-arrival").fill("2027-02-07")
    page.locator("#field-departure").fill("2027-02-13")
    page.locator("#field-agenda").fill("Day 1 joint learning event; day 2 matchmaking; day 3 study visit.")
    for n, (kind, title, day) in enumerate([("joint_learning_event", "Digital twins", "2027-02-08"),
                                            ("matchmaking", "B2B meetings", "2027-02-09"),
                                            ("study_visit", "", "2027-02-10")], start=1):
        page.locator(f"#activity-{n}-kind").select_option(kind)
        page.locator(f"#activity-{n}-title").fill(title)
        page.locator(f"#activity-{n}-on").fill(day)
    page.get_by_role("button", name="Complete the task").click()
    page.locator("#activity-3-title-error").wait_for()
    checked(page, screenshot, "commitment-activities-error")
    page.locator("#activity-3-title").fill("Pilot lines")
    page.get_by_role("button", name="Complete the task").click()
    page.get_by_text("is done").wait_for()
    programme.complete("sign_commitment_visitor", VISITOR, signature("Vera Visitor"))
    sign = programme.open_task("sign_commitment_host")
    page.context.clear_cookies()
    sign_in(page, live_server.url, HOST, f"/tasks/{sign.id}")
    assert page.get_by_role("heading", name="The Commitment to Quality", exact=True).is_visible()
    assert page.get_by_text("Pilot lines").is_visible()
    checked(page, screenshot, "commitment-sign")
