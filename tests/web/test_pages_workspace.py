"""The staff workspace's actions in the browser's pages (issue 20, points 1 and 4), over the real
services: cancel an exchange, ask for and decide an extension, incidents, conflicts of interest with
R-4EYES refusing in words, evidence downloads, and the reports as files."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from tests.web.test_pages_work import PASSWORD, post, programme, sign_in, web  # noqa: F401
from tests.workflows.builders import (
    ATTENDANCE_PDF,
    AUDITOR,
    BRUSSELS,
    DEPARTURE,
    FINANCE,
    HOST,
    OFFICER,
    VISITOR,
    Programme,
    evidence,
)
from workflows.db.process_models import ProcessInstance
from workflows.services import access, accounts


@pytest.fixture
def auditor(programme: Programme) -> Programme:  # noqa: F811
    accounts.set_password(programme.app, access.SYSTEM, AUDITOR, PASSWORD)
    return programme


def test_an_officer_cancels_an_exchange_from_its_page_and_a_blank_reason_is_named(
        web: TestClient, programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    ref = programme.exchange_ref
    page = sign_in(web, OFFICER).get(f"/exchanges/{ref}")
    assert 'action="/exchanges/' + ref + '/cancel"' in page.text and "Cancel the exchange" in page.text
    blank = post(web, f"/exchanges/{ref}/cancel", {"reason": "  "}, f"/exchanges/{ref}")
    assert blank.status_code == 422 and 'id="cancel-reason-error"' in blank.text
    assert programme.exchange().status != "cancelled"
    done = post(web, f"/exchanges/{ref}/cancel", {"reason": "The visitor withdrew."}, f"/exchanges/{ref}")
    assert done.status_code == 303
    assert programme.exchange().status == "cancelled"
    assert "is cancelled" in web.get(done.headers["location"]).text


def test_an_officer_with_a_declared_conflict_is_refused_in_words(web: TestClient, programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    sign_in(web, OFFICER)
    page = web.get("/conflicts")
    assert page.status_code == 200 and "Nova Cluster Brussels (BE)" in page.text
    missing = post(web, "/conflicts", {"organisation": "", "reason": "My sister runs it."}, "/conflicts")
    assert missing.status_code == 422 and 'id="conflict-organisation-error"' in missing.text
    legal_id = "BE100000001"  # the visitor organisation
    declared = post(web, "/conflicts", {"organisation": legal_id, "reason": "My sister runs it."}, "/conflicts")
    assert declared.status_code == 303
    assert "Nova Cluster Brussels" in web.get("/conflicts").text
    assert programme.events("conflict_declared")[-1].data_after["reason"] == "My sister runs it."
    ref = programme.exchange_ref
    assert "Cancel the exchange" not in web.get(f"/exchanges/{ref}").text
    refused = post(web, f"/exchanges/{ref}/cancel", {"reason": "Try anyway."}, f"/exchanges/{ref}")
    assert refused.status_code == 403
    assert "conflict of interest with Nova Cluster Brussels" in refused.text
    from workflows.services import Refused
    from workflows.services.inbox import claim

    with pytest.raises(Refused, match=r"conflict of interest with Nova Cluster Brussels \(organisation 1\)"):
        claim(programme.app, programme.open_task("assess_application").id, programme.principal(OFFICER))


def test_the_visitor_asks_for_an_extension_and_an_officer_decides_it_on_the_exchange_page(
        web: TestClient, programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().matched().committed()
    programme.advance_to(datetime(2027, 2, 8, 10, 0, tzinfo=BRUSSELS))
    ref = programme.exchange_ref
    sign_in(web, VISITOR)
    assert "Ask to extend the visit" in web.get(f"/exchanges/{ref}").text
    too_long = post(web, f"/exchanges/{ref}/extension", {"departure": "2027-04-30", "reason": "More."},
                    f"/exchanges/{ref}")
    assert too_long.status_code == 422 and 'id="extension-departure-error"' in too_long.text
    new_departure = DEPARTURE + timedelta(days=7)
    asked = post(web, f"/exchanges/{ref}/extension", {"departure": new_departure.isoformat(),
                                                      "reason": "A second matchmaking round."}, f"/exchanges/{ref}")
    assert asked.status_code == 303
    programme.complete("host_consent_extension", HOST, {"consent": True, "comment": "Welcome."})
    officer = TestClient(web.app)
    sign_in(officer, OFFICER)
    page = officer.get(f"/exchanges/{ref}")
    assert "Decide the extension" in page.text and new_departure.isoformat() in page.text
    unsaid = post(officer, f"/exchanges/{ref}/extension/decision", {"comment": ""}, f"/exchanges/{ref}")
    assert unsaid.status_code == 422 and 'id="decision-approve-error"' in unsaid.text
    decided = post(officer, f"/exchanges/{ref}/extension/decision", {"approve": "approve", "comment": "Fine."},
                   f"/exchanges/{ref}")
    assert decided.status_code == 303 and programme.exchange().departure == new_departure


def test_an_open_incident_is_listed_on_the_incidents_page_and_on_its_exchange(
        web: TestClient, programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    with programme.app.uow() as uow:
        uow.session.execute(update(ProcessInstance).where(ProcessInstance.id == programme.instance_id).values(
            status="incident", incident={"task": "compute_grant", "error": "ValueError: no host country",
                                         "at": "2027-01-11T10:00:00+00:00"}))
        uow.commit()
    sign_in(web, OFFICER)
    inbox = web.get("/tasks").text
    assert 'href="/incidents"' in inbox  # the officers' navigation
    notice = inbox.split('id="incidents-notice"')[1].split("</p>")[0]  # and a notice in the inbox
    assert "1 process stopped on an error" in notice and programme.exchange_ref in notice
    assert "retry them" in notice
    auditor = sign_in(TestClient(web.app), AUDITOR).get("/tasks").text  # reads them, retries nothing
    assert "see the incidents</a>" in auditor.split('id="incidents-notice"')[1].split("</p>")[0]
    listing = web.get("/incidents")
    assert "Compute grant" in listing.text and "no host country" in listing.text
    assert f'action="/incidents/{programme.instance_id}/retry"' in listing.text
    assert "no host country" in web.get(f"/exchanges/{programme.exchange_ref}").text


def test_evidence_files_are_downloaded_as_attachments_by_officers_not_by_finance(
        web: TestClient, programme: Programme) -> None:  # noqa: F811
    programme.awaiting_evidence()
    programme.upload_cited(programme.exchange_ref or "", evidence())
    ref, digest = programme.exchange_ref, hashlib.sha256(ATTENDANCE_PDF).hexdigest()
    sign_in(web, OFFICER)
    assert f'href="/exchanges/{ref}/evidence/{digest}"' in web.get(f"/exchanges/{ref}").text
    got = web.get(f"/exchanges/{ref}/evidence/{digest}")
    assert got.status_code == 200 and got.content == ATTENDANCE_PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith('attachment; filename="attendance.pdf"')
    assert got.headers["cache-control"] == "no-store" and got.headers["x-content-type-options"] == "nosniff"
    finance = TestClient(web.app)
    sign_in(finance, FINANCE)
    assert f"/evidence/{digest}" not in finance.get(f"/exchanges/{ref}").text
    assert finance.get(f"/exchanges/{ref}/evidence/{digest}").status_code == 403


def test_the_reports_page_offers_each_report_as_a_file_to_whom_may_have_it(
        web: TestClient, auditor: Programme) -> None:
    sign_in(web, FINANCE)
    page = web.get("/reports")
    assert 'action="/reports/files/publication"' in page.text and '<option value="CXP-TEST-01">' in page.text
    xlsx = web.get("/reports/files/fstp?call=CXP-TEST-01&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert 'filename="fstp-CXP-TEST-01.xlsx"' in xlsx.headers["content-disposition"]
    publication = web.get("/reports/files/publication?year=2027&format=csv")
    assert publication.status_code == 200 and publication.headers["content-type"].startswith("text/csv")
    kpi = web.get("/reports/files/kpi?format=html")
    assert kpi.status_code == 200 and b"<html" in kpi.content[:500].lower()
    officer = TestClient(web.app)
    sign_in(officer, OFFICER)
    assert 'action="/reports/files/publication"' not in officer.get("/reports").text
    assert officer.get("/reports/files/publication?year=2027").status_code == 403
    reader = TestClient(web.app)
    sign_in(reader, AUDITOR)
    assert 'href="/audit/sample.csv?size=10&amp;seed=1"' in reader.get("/audit").text
    sample = reader.get("/audit/sample.csv?size=10&seed=1")
    assert sample.status_code == 200 and sample.text.splitlines()[0] == "exchange,reasons,seed"



def test_the_closing_report_page_uploads_a_file_and_ticks_it(web: TestClient, programme: Programme) -> None:  # noqa: F811
    programme.awaiting_evidence()
    task = programme.open_task("submit_evidence")
    client = sign_in(web, VISITOR)
    page = client.get(f"/tasks/{task.id}")
    assert 'id="upload-here"' in page.text and 'name="next" value="/tasks/' in page.text
    answer = post(client, f"/exchanges/{programme.exchange_ref}/evidence",
                  {"kind": "attendance_certificate", "next": f"/tasks/{task.id}"}, f"/tasks/{task.id}",
                  files={"file": ("certificate.pdf", ATTENDANCE_PDF, "application/pdf")})
    assert answer.status_code == 303 and answer.headers["location"].startswith(f"/tasks/{task.id}?uploaded=")
    back = client.get(answer.headers["location"])
    digest = hashlib.sha256(ATTENDANCE_PDF).hexdigest()
    assert f'name="document" value="{digest}" checked' in back.text and "ticked below" in back.text
    refused = post(client, f"/exchanges/{programme.exchange_ref}/evidence",
                   {"kind": "other", "next": f"/tasks/{task.id}"}, f"/tasks/{task.id}",
                   files={"file": ("notes.txt", b"just text", "text/plain")})
    assert refused.status_code == 303
    assert "notes.txt is not a PDF, PNG or JPEG file" in client.get(refused.headers["location"]).text
