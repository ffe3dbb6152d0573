"""The finance, audit, reports and administration pages through the web (TestClient): each page for
its role, another partnership's batch not found, the release refused under R-4EYES in words, a form
without its CSRF token refused, a bad bank file or a bad new user answered by a sentence."""
from __future__ import annotations

import re
from datetime import UTC
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from benchmarks.payment_batch import seed_approved_claims
from workflows.app import App
from workflows.db.models import Claim, Partnership, User
from workflows.db.process_models import AuditEvent, PaymentBatch
from workflows.services.access import SYSTEM
from workflows.services.accounts import set_password
from workflows.services.payments import create_batch
from workflows.web.app import create_app

PASSWORD = "password123"
FINANCE, SOUTH_FINANCE, APPROVER = "finance.cxp-north", "finance.cxp-south", "fin.approver"
AUDITOR, ADMIN = "ada.auditor", "sam.admin"


def _add(app: App, username: str, role: str, partnership: str | None = None) -> int:
    with app.uow() as uow:
        pid = (uow.session.scalars(select(Partnership.id).where(Partnership.code == partnership)).one()
               if partnership else None)
        user = User(username=username, display_name=username.replace(".", " ").title(),
                    email=f"{username}@example.org", role=role, partnership_id=pid)
        uow.session.add(user)
        uow.commit()
        return user.id


@pytest.fixture
def batch(app: App) -> str:
    """A created batch of five CXP-NORTH claims; CXP-SOUTH has a finance user of its own; one finance
    user of CXP-NORTH approved one of the batch's payments."""
    seed_approved_claims(app, 5, partnership_code="CXP-NORTH")
    seed_approved_claims(app, 1, partnership_code="CXP-SOUTH", ref_offset=50)
    approver = _add(app, APPROVER, "finance", "CXP-NORTH")
    with app.uow() as uow:
        uow.session.scalars(select(Claim).order_by(Claim.id)).first().approved_by = approver
        uow.commit()
    _add(app, AUDITOR, "auditor")
    _add(app, ADMIN, "administrator")
    for name in (FINANCE, SOUTH_FINANCE, APPROVER, AUDITOR, ADMIN, "approver.cxp-north"):
        set_password(app, SYSTEM, name, PASSWORD)
    return create_batch(app, "CXP-NORTH")["batch"]


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def signed_in(app: App, username: str) -> TestClient:
    client = TestClient(create_app(application=app), base_url="https://testserver")
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/payments",
                                         "csrf_token": token_of(client.get("/").text)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


def post(client: TestClient, url: str, page: str, **kwargs: Any) -> Any:
    """A form post with the token of the page the form is on, as a browser sends it."""
    data = {"csrf_token": token_of(client.get(page).text), **kwargs.pop("data", {})}
    return client.post(url, data=data, **kwargs)


def release(client: TestClient, batch: str, confirm: str = "yes") -> Any:
    """Release the batch as its page's form does: the confirmation ticked, its count and sum posted."""
    page = client.get(f"/payments/{batch}").text
    found = {name: re.search(rf'name="{name}" value="([^"]*)"', page) for name in ("n_tx", "control_sum")}
    data = {name: m[1] for name, m in found.items() if m} | ({"confirm": confirm} if confirm else {})
    return post(client, f"/payments/{batch}/release", f"/payments/{batch}", data=data)


def text_of(html: str) -> str:
    """The page as a person reads it (tags dropped, whitespace folded)."""
    inline = re.sub(r"</?(a|code|span|strong|em)\b[^>]*>", "", html)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", inline))
    return text.replace("&#39;", "'").replace("&amp;", "&").replace("&#34;", '"')


# ---- finance -------------------------------------------------------------------------------------

def test_finance_sees_its_partnerships_batches_with_sum_lines_and_files(app, batch):
    client = signed_in(app, FINANCE)

    listing = client.get("/payments?status=created")
    assert listing.status_code == 200 and batch in listing.text
    assert "CXP-SOUTH" not in listing.text and "5 batched" in text_of(listing.text)
    assert client.get("/payments?status=released").text.count('href="/payments/CXP-') == 0
    detail = client.get(f"/payments/{batch}")
    assert detail.status_code == 200 and "Release to the bank" in detail.text
    assert re.search(r"EUR [\d,]+\.\d\d", text_of(detail.text)) and "EX-000001" in detail.text
    xml = client.get(f"/payments/{batch}/pain001.xml")
    assert xml.status_code == 200 and xml.content.startswith(b"<?xml")
    assert xml.headers["content-disposition"] == f'attachment; filename="{batch}.xml"'
    csv = client.get(f"/payments/{batch}/summary.csv")
    assert csv.headers["content-type"].startswith("text/csv") and "attachment" in csv.headers["content-disposition"]


def test_a_finance_user_of_another_partnership_gets_the_not_found_page_for_the_batch(app, batch):
    client = signed_in(app, SOUTH_FINANCE)

    for url in (f"/payments/{batch}", f"/payments/{batch}/pain001.xml"):
        answer = client.get(url)
        assert answer.status_code == 404 and "Not found" in answer.text and "<html" in answer.text
    assert batch not in client.get("/payments").text


def test_releasing_a_batch_with_a_payment_one_approved_is_refused_in_words_and_audited(app, batch):
    client = signed_in(app, APPROVER)

    answer = release(client, batch)

    assert answer.status_code == 200 and str(answer.url).endswith(f"/payments/{batch}")
    assert "The batch was not released: You approved a payment in this batch" in text_of(answer.text)
    with app.uow() as uow:
        assert uow.session.scalars(select(PaymentBatch.status)).first() == "created"
        assert uow.session.scalars(select(AuditEvent.actor).where(
            AuditEvent.action == "batch_release_refused")).all() == [APPROVER]


def test_a_finance_user_who_approved_none_releases_the_batch(app, batch):
    client = signed_in(app, FINANCE)

    page = client.get(f"/payments/{batch}").text
    assert re.search(r"I release 5 transfers for a total of EUR [\d,]+\.\d\d to the bank", text_of(page))
    unconfirmed = release(client, batch, confirm="")
    assert unconfirmed.status_code == 422 and "Tick the box to confirm releasing 5 transfer(s)" in unconfirmed.text
    with app.uow() as uow:
        assert uow.session.scalars(select(PaymentBatch.status)).first() == "created"
    stale = post(client, f"/payments/{batch}/release", f"/payments/{batch}",
                 data={"confirm": "yes", "n_tx": "4", "control_sum": "1.00"})
    assert stale.status_code == 409 and "The batch changed since you confirmed it" in text_of(stale.text)

    answer = release(client, batch)

    assert f"Batch {batch} is released to the bank by {FINANCE}: 5 transfer(s)" in text_of(answer.text)
    assert "Release to the bank" not in answer.text
    sum_confirmed = re.search(r'name="control_sum" value="([^"]*)"', page)[1]
    again = post(client, f"/payments/{batch}/release", f"/payments/{batch}",
                 data={"confirm": "yes", "n_tx": "5", "control_sum": sum_confirmed})
    assert "is released, not awaiting release" in text_of(again.text)


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(app, batch):
    client = signed_in(app, FINANCE)

    answer = client.post(f"/payments/{batch}/release", data={})

    assert answer.status_code == 403 and "security token" in answer.text
    with app.uow() as uow:
        assert uow.session.scalars(select(PaymentBatch.status)).first() == "created"


@pytest.mark.parametrize("content, expected", [
    (b"%PDF-1.4 not a bank file", "is not an XML file"),
    (b"<Document><broken>", "nothing was imported"),
    (b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"/>', "nothing was imported"),
])
def test_a_garbage_bank_file_is_answered_by_a_sentence_not_a_500(app, batch, content, expected):
    client = signed_in(app, FINANCE)

    answer = post(client, "/payments/bank-files", "/payments", data={"batch": batch},
                  files={"file": ("garbage.xml", content, "application/xml")})

    assert answer.status_code == 422 and "The bank file was not imported" in answer.text
    assert expected in text_of(answer.text) and 'name="file"' in answer.text
    if expected == "nothing was imported":  # the file and its problem, not how it travelled
        assert "garbage.xml: " in text_of(answer.text) and "upload" not in text_of(answer.text).split("garbage.xml")[0][-40:]
        assert "testclient" not in answer.text


def test_the_bank_answer_is_imported_and_its_outcome_counted(app, batch):
    from datetime import datetime, timezone

    from reports.bankfiles import make_pain002

    client = signed_in(app, FINANCE)
    release(client, batch)
    report = make_pain002(batch, {"EX-000001": "AC04"}, "PSR-WEB-1", datetime(2027, 2, 20, tzinfo=UTC))

    answer = post(client, "/payments/bank-files", f"/payments/{batch}", data={"batch": batch},
                  files={"file": ("PSR-WEB-1.xml", report, "application/xml")})

    page = text_of(answer.text)
    assert answer.status_code == 200 and "Bank file imported" in page and f"answering batch {batch}" in page
    assert "rejected 1" in page and "EX-000001: returned (AC04)" in page
    assert "1 rejected" in text_of(client.get(f"/payments/{batch}").text)


# ---- audit ---------------------------------------------------------------------------------------

def test_the_auditor_verifies_the_chain_draws_a_sample_and_exports_an_audit_file(app, batch):
    client = signed_in(app, AUDITOR)

    sample = client.get("/audit?size=3&seed=7")
    picked = re.search(r"Seed 7: (\d+) of 6 exchanges picked", text_of(sample.text))
    assert sample.status_code == 200 and picked and int(picked[1]) >= 3  # random ones, and the risk-flagged
    assert sample.text.count("/audit-file.zip") == int(picked[1]) and 'href="/exchanges/EX-' in sample.text
    assert "random" in sample.text
    verified = post(client, "/audit/verify?size=3&seed=7", "/audit")
    assert verified.status_code == 200 and "The chain is verified" in verified.text
    assert re.search(r"\d+ events recomputed, \d+ anchors checked", text_of(verified.text))
    ref = re.search(r'/audit/exchanges/(EX-\d+)/audit-file.zip', sample.text)[1]
    zipped = client.get(f"/audit/exchanges/{ref}/audit-file.zip")
    assert zipped.status_code == 200 and zipped.content[:2] == b"PK"
    assert zipped.headers["content-disposition"].startswith("attachment")
    assert client.get("/audit/export?ref=EX-999999").status_code == 404


def test_a_tampered_event_is_named_on_the_audit_page(app, batch):
    from sqlalchemy import update

    from tests.workflows.test_audit_trail import drop_append_only_guard

    client = signed_in(app, AUDITOR)
    drop_append_only_guard(app)
    with app.uow() as uow:
        first = uow.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).first()
        uow.session.execute(update(AuditEvent).where(AuditEvent.id == first.id).values(actor="mallory"))
        uow.commit()

    answer = post(client, "/audit/verify", "/audit")

    assert "The chain does not verify" in answer.text and "first bad event is number" in text_of(answer.text)


def test_finance_is_refused_the_audit_pages(app, batch):
    client = signed_in(app, FINANCE)

    assert client.get("/audit").status_code == 403
    assert client.get("/audit/exchanges/EX-000001/audit-file.zip").status_code == 403


# ---- reports -------------------------------------------------------------------------------------

def test_the_dashboard_shows_headline_figures_tables_and_inline_svg_charts_without_style_attributes(app, batch):
    client = signed_in(app, AUDITOR)

    answer = client.get("/reports?period=2027-02")

    page = text_of(answer.text)
    assert answer.status_code == 200 and "2027-02, the whole programme" in page
    assert "Budget EUR " in page and "Remaining EUR " in page and "Exchanges by status" in page
    assert "<svg" in answer.text and "style=" not in answer.text and "<script>" not in answer.text
    assert 'id="partnership"' in answer.text


def test_an_auditor_picks_a_partnership_and_a_bad_month_is_named(app, batch):
    client = signed_in(app, AUDITOR)

    north = client.get("/reports?period=2027-02&partnership=CXP-NORTH")
    assert north.status_code == 200 and "partnership CXP-NORTH" in text_of(north.text)
    bad = client.get("/reports?period=Feb")
    assert bad.status_code == 422 and "is not a month written YYYY-MM" in text_of(bad.text)
    unknown = client.get("/reports?partnership=NOPE")
    assert unknown.status_code == 422 and "no partnership 'NOPE'" in text_of(unknown.text)


def test_finance_reads_its_own_partnerships_kpis_without_a_partnership_picker(app, batch):
    client = signed_in(app, FINANCE)

    answer = client.get("/reports")

    assert answer.status_code == 200 and "partnership CXP-NORTH" in text_of(answer.text)
    assert 'id="partnership"' not in answer.text
    assert client.get("/reports?partnership=CXP-SOUTH").status_code == 403


# ---- administration ------------------------------------------------------------------------------

def test_the_administrator_sees_calls_users_and_process_versions(app, batch):
    client = signed_in(app, ADMIN)

    answer = client.get("/admin")

    page = text_of(answer.text)
    assert answer.status_code == 200 and "BENCH-CXP-NORTH-0" in page and "EUR 99,999,999.00" in page
    assert FINANCE in page and "exchange" in page and re.search(r"[0-9a-f]{16}…", page)


def test_adding_a_user_with_a_bad_role_shows_the_error_next_to_the_field_and_writes_nothing(app, batch):
    client = signed_in(app, ADMIN)

    answer = post(client, "/admin/users", "/admin", data={
        "username": "new.person", "display_name": "New Person", "email": "new@example.org", "role": "wizard"})

    assert answer.status_code == 422
    role_field = re.search(r'<div class="field field-select has-error">.*?</div>', answer.text, re.S)[0]
    assert 'id="field-role-error"' in role_field and "is not a role" in role_field
    assert 'value="new.person"' in answer.text  # what was typed is kept
    with app.uow() as uow:
        assert uow.session.scalar(select(User.id).where(User.username == "new.person")) is None


def test_the_administrator_adds_a_finance_user_and_disables_them(app, batch):
    client = signed_in(app, ADMIN)

    added = post(client, "/admin/users", "/admin", data={
        "username": "new.finance", "display_name": "New Finance", "email": "nf@example.org", "role": "finance",
        "partnership": "CXP-SOUTH", "organisation": "", "password": PASSWORD})
    assert "User new.finance (finance) is added." in text_of(added.text)
    missing = post(client, "/admin/users", "/admin", data={
        "username": "other.finance", "display_name": "Other", "email": "of@example.org", "role": "finance"})
    assert missing.status_code == 422 and 'id="field-partnership-error"' in missing.text

    disabled = post(client, "/admin/users/new.finance/disable", "/admin")

    assert "User new.finance is disabled" in text_of(disabled.text)
    with app.uow() as uow:
        assert uow.session.scalars(select(User.active).where(User.username == "new.finance")).one() is False


@pytest.mark.parametrize("username", [AUDITOR, FINANCE])
def test_anyone_but_an_administrator_gets_the_403_page_and_the_refusal_is_audited(app, batch, username):
    client = signed_in(app, username)

    answer = client.get("/admin")

    assert answer.status_code == 403 and "Not allowed" in answer.text and "may not list the partnerships" in answer.text
    with app.uow() as uow:
        assert username in uow.session.scalars(select(AuditEvent.actor).where(
            AuditEvent.action == "access_refused")).all()


def test_an_administrator_sees_no_bank_upload_and_an_import_they_post_is_refused(app, batch):
    """Bank-file import is finance's lane (issue 18, point 5): the page hides the form from an
    administrator, and a post anyway is refused (403, audited), nothing imported."""
    assert "Import the bank's answer" in signed_in(app, FINANCE).get(f"/payments/{batch}").text
    client = signed_in(app, ADMIN)
    for page in ("/payments", f"/payments/{batch}"):
        answer = client.get(page)
        assert answer.status_code == 200 and "Import the bank's answer" not in answer.text
    refused = post(client, "/payments/bank-files", "/payments", data={"batch": batch},
                   files={"file": ("status.xml", b"<Document/>", "application/xml")})
    assert refused.status_code == 403 and "only a finance officer imports bank files" in text_of(refused.text)
    assert "Import the bank's answer" not in refused.text
