"""An auditor's main job in a real chromium, on the small demo programme driven to its end: find a
paid exchange, open its process and see the path it took coloured on the diagram, read its history,
and verify that the audit trail was not altered."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from workflows.app import App
from workflows.db.models import Claim, Exchange
from workflows.settings import Settings


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    from workflows.demo.run import run_demo

    folder: Path = tmp_path_factory.mktemp("auditor-demo")
    app = App(Settings(database_url=f"sqlite:///{folder}/demo.db", files_dir=folder / "files"))
    run_demo(app, seed=7, size="small", progress=False)
    yield app
    app.close()


@pytest.fixture
def web_app(demo_app: App) -> Any:
    from workflows.web.app import create_app

    return create_app(application=demo_app)


def paid_exchange(app: App) -> str:
    with app.uow() as uow:
        return uow.session.scalars(select(Exchange.ref).join(Claim, Claim.exchange_id == Exchange.id)
                                   .where(Claim.status == "paid", Exchange.status == "closed")
                                   .order_by(Exchange.id)).first()


def test_an_auditor_opens_a_paid_exchange_sees_its_path_coloured_and_the_chain_verified(
        page: Any, live_server: Any, screenshot: Any, demo_app: App) -> None:
    ref = paid_exchange(demo_app)
    page.goto(f"{live_server.url}/?next=/exchanges")
    page.get_by_label("Username").fill("auditor")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/exchanges*")

    page.get_by_label("Reference, organisation or country").fill(ref)
    page.keyboard.press("Enter")
    page.get_by_role("link", name=ref).first.click()
    page.wait_for_url(f"{live_server.url}/exchanges/{ref}")
    screenshot(page, "auditor-exchange-1280")

    page.get_by_role("link", name="process", exact=False).first.click()
    page.wait_for_url(f"{live_server.url}/instances/*")
    diagram = page.locator(".bpmn-diagram")
    page.wait_for_function("document.querySelector('.bpmn-diagram').dataset.state === 'ready'")
    completed = page.locator(".bpmn-diagram .djs-element.cxp-completed")
    assert completed.count() >= 20, "the path a paid exchange took is coloured step by step"
    assert page.locator(".bpmn-diagram .djs-element.cxp-active").count() == 0
    assert diagram.get_attribute("data-state") == "ready"
    assert page.get_by_text("payment confirmed", exact=False).first.is_visible() or \
        page.get_by_text("paid", exact=False).first.is_visible()
    screenshot(page, "auditor-instance-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "auditor-instance-390")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("link", name="Audit").click()
    page.get_by_role("button", name="Verify the chain").click()
    page.locator("#verify-result").get_by_text("The chain is verified.").wait_for()
    screenshot(page, "auditor-verified-1280")
