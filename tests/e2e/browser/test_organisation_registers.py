"""An organisation registers itself in a real chromium (SPEC §13): the form completed with the keyboard
(the city picked from the chosen country's list), the verification link read from the email the SMTP
server received (the demo's mail sink on loopback), opened once; an officer approves the registration
in the inbox; then the applicant applies as a visitor and reads its eligibility. Pages checked with axe-core and at 390 px
(test_applicant_applies.checked). Screenshots my-register-*.png."""
from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser.test_applicant_applies import PASSWORD, SAVED_APPLICATION, checked, fill_by_keyboard, tab_to
from tests.workflows.builders import OFFICER, Programme, build_programme
from workflows.services import access, accounts


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the browser tests are about the pages, not the database."""
    return f"sqlite:///{tmp_path}/cxp.db"


@pytest.fixture
def programme(app: Any) -> Programme:
    prog = build_programme(app)
    accounts.set_password(app, access.SYSTEM, OFFICER, PASSWORD)
    return prog


@pytest.fixture
def web_app(programme: Programme) -> Any:
    from workflows.web.app import create_app

    return create_app(application=programme.app)


@pytest.fixture
def sink(programme: Programme, tmp_path: Path) -> Any:
    from workflows.demo.mailsink import MailSink

    mail = MailSink(tmp_path / "sink", "programme@clusterxchange.local").start()
    yield mail
    mail.stop()


def link_in_the_mail(programme: Programme, sink: Any) -> str:
    """Deliver the outbox to the SMTP server, and read the link of the verification email it received."""
    from workflows.services.outbox_delivery import deliver_pending

    assert deliver_pending(programme.app, smtp=sink.smtp)["sent"]
    for path in sorted(sink.folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if "Verify the address" in str(message["Subject"]):
            body = message.get_body(preferencelist=("plain",))
            found = re.search(r"https?://\S+/verify\?token=[A-Za-z0-9_-]+", body.get_content() if body else "")
            assert found, "the verification email has no link"
            return found.group(0)
    pytest.fail("no verification email reached the SMTP server")


def test_an_organisation_registers_verifies_is_approved_and_may_apply(
        page: Any, live_server: Any, programme: Programme, sink: Any, screenshot: Any) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/register")
    checked(page, screenshot, "register")
    page.select_option("#f-country", "BE")
    tab_to(page, "#list-cities")
    page.keyboard.press("Enter")
    page.wait_for_selector("#f-city_id option[value='2800866']", state="attached")
    page.select_option("#f-city_id", "2800866")
    page.focus("#f-legal_name")
    page.keyboard.type("<b>Tiber</b> Cluster")
    for selector, text in (("#f-legal_id", "BE0999000111"), ("#f-sectors", "digital"),
                           ("#f-contact_email", "contact@tiber.example"), ("#f-name", "Tina Tiber"),
                           ("#f-email", "tina@tiber.example"), ("#f-username", "tina"),
                           ("#f-password", "short")):
        tab_to(page, selector)
        page.keyboard.type(text)
    tab_to(page, "button[value=register]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#f-password-error")
    assert "at least" in page.inner_text("#f-password-error")
    checked(page, screenshot, "register-error")
    page.fill("#f-password", PASSWORD)
    page.click("button[value=register]")
    page.wait_for_selector("text=Check your email")
    checked(page, screenshot, "register-sent")

    link = link_in_the_mail(programme, sink)
    page.goto(link.replace(programme.app.settings.public_url, live_server.url))
    assert "Address verified" in page.inner_text("main")
    checked(page, screenshot, "register-verified")

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/?next=/tasks")
    page.fill("#username", OFFICER)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/tasks")
    page.click("a[href^='/tasks/']:has-text('Assess the registration')")
    page.wait_for_selector("#field-decision")
    assert "<b>Tiber</b> Cluster" in page.inner_text("main")                # shown as typed, never as markup
    checked(page, screenshot, "register-assess")
    page.select_option("#field-decision", "approve")
    page.click("main form button[type=submit] >> nth=-1")
    page.wait_for_url("**/tasks")

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/?next=/my/applications/new")
    page.fill("#username", "tina")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/my/applications/new")
    page.wait_for_selector("#application-form")
    # and applies as a visitor, reading its eligibility at once
    page.fill("#f-date_from", "2027-02-01")
    page.fill("#f-date_to", "2027-03-01")
    fill_by_keyboard(page, {"#f-sectors": "digital", "#f-wished_countries": "AT",
                            "#f-motivation": "Learn how peers run pilot lines."},
                     ("#f-declaration_given", "#f-audit_rights_accepted"))
    page.click("button[value=submit]")
    page.wait_for_url(SAVED_APPLICATION)
    assert "Eligible: an officer of the partnership assesses it" in page.inner_text("main")
    checked(page, screenshot, "register-applied")
    assert errors == []
