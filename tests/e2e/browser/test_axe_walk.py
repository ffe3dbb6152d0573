"""Issue 20 point 11: every role's pages in a real chromium, each checked with axe-core with nothing left
out (no serious or critical violation, status badges' contrast and the diagram included), at 390 px
(nothing scrolls sideways: wide tables scroll inside their own box, which the keyboard reaches; the
payments' tables read as one card per row). One programme, paid and then
returned by the bank, so that the pages show badges of every colour, a batch, an incident-free diagram
and the finance officer's task. Screenshots: var/screenshots/axe-<role>-<page>-390.png."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.browser.conftest import axe_violations
from tests.workflows.builders import ADMIN, AUDITOR, FINANCE, OFFICER, VISITOR, Programme, build_programme
from tests.workflows.test_payments_bank import approved, pain002, released_batch
from workflows.db.process_models import HumanTask
from workflows.services import access, accounts
from workflows.services.access import principal_by_name
from workflows.services.payments import import_status

PASSWORD = "password123"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the browser tests are about the pages, not the database."""
    return f"sqlite:///{tmp_path}/cxp.db"


@pytest.fixture
def programme(app: Any) -> Programme:
    prog = approved(build_programme(app))
    prog.batch = released_batch(prog)["batch"]  # type: ignore[attr-defined]
    import_status(app, pain002(prog.batch, prog.exchange_ref, "AC04"), "PSR-1.xml",  # type: ignore[attr-defined]
                  principal_by_name(app, FINANCE))
    for user in (OFFICER, FINANCE, AUDITOR, ADMIN, VISITOR):
        accounts.set_password(app, access.SYSTEM, user, PASSWORD)
    return prog


@pytest.fixture
def web_app(programme: Programme) -> Any:
    from workflows.web.app import create_app

    return create_app(application=programme.app)


def walk(browser: Any, url: str, username: str, paths: list[str], screenshot: Any) -> list[str]:
    """Sign in as `username`, open each path; the problems found, one line each."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB",
                                  timezone_id="Europe/Brussels")
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems = []
    try:
        page.goto(f"{url}/")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        for path in paths:
            answer = page.goto(f"{url}{path}")
            assert answer is not None
            if answer.status != 200:
                problems.append(f"{username} {path}: HTTP {answer.status}")
                continue
            if page.locator("#diagram").count():
                page.wait_for_selector("#diagram[data-state=ready]")
            # axe-core at 390 px only: what it finds at 1280 (contrast, names, nesting) it finds there
            # too, and the narrow page adds what only it has (boxes that scroll sideways)
            page.set_viewport_size({"width": 390, "height": 844})
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 390:
                problems.append(f"{username} {path}: {width} px wide at 390 px")
            if path.startswith("/payments"):  # the payments' tables read as cards: no column hides sideways
                hidden = page.evaluate("[...document.querySelectorAll('.table-wrap')]"
                                       ".filter(w => w.scrollWidth > w.clientWidth + 1).length")
                if hidden:
                    problems.append(f"{username} {path}: {hidden} table(s) scroll sideways at 390 px")
            name = path.strip("/").replace("/", "-").split("?")[0] or "home"
            screenshot(page, f"axe-{username.split('.')[0]}-{name}-390")
            problems += [f"{username} {path} at 390 px: {found}" for found in axe_violations(page)]
            page.set_viewport_size({"width": 1280, "height": 800})
    finally:
        context.close()
    return problems


def test_every_role_s_pages_pass_axe_core_and_read_at_390_px(
        browser: Any, live_server: Any, programme: Programme, screenshot: Any) -> None:
    ref = programme.exchange_ref
    instance = programme.instance_id
    batch = programme.batch  # type: ignore[attr-defined]
    with programme.app.uow() as uow:
        visitor_task = uow.session.scalars(select(HumanTask.id).where(
            HumanTask.task_spec == "correct_bank_details", HumanTask.status == "open")).one()
    walks = {
        OFFICER: ["/tasks", f"/exchanges?q={ref}", f"/exchanges/{ref}", f"/instances/{instance}", "/incidents",
                  "/conflicts", "/reports"],
        FINANCE: ["/tasks", "/payments", f"/payments/{batch}"],
        AUDITOR: ["/audit", f"/exchanges/{ref}", f"/instances/{instance}", "/reports"],
        ADMIN: ["/admin", "/admin?q=north&role=officer", "/admin/calls", "/admin/organisations", "/admin/partnerships",
                "/admin/rule-sets", "/admin/processes"],
        VISITOR: ["/my", f"/tasks/{visitor_task}", "/my/applications/new"],
    }
    problems = [problem for user, paths in walks.items()
                for problem in walk(browser, live_server.url, user, paths, screenshot)]
    assert problems == [], "\n".join(problems)
