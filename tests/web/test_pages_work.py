"""The work pages of officers and applicants over the real services (TestClient, a real SQLite file):
the inbox, the task page and its form, the instance page, the exchanges and the evidence upload."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.workflows.builders import (
    AUDITOR,
    FINANCE,
    HOST,
    OFFICER,
    OUTSIDER,
    SOUTH_OFFICER,
    VISITOR,
    Programme,
    build_programme,
    evidence,
)
from workflows.db.process_models import AuditEvent, HumanTask
from workflows.services import access, accounts
from workflows.web.filters import date

PASSWORD = "password123"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def programme(app: Any) -> Programme:
    prog = build_programme(app)
    for user in (OFFICER, SOUTH_OFFICER, FINANCE, VISITOR, HOST, OUTSIDER, AUDITOR):
        accounts.set_password(app, access.SYSTEM, user, PASSWORD)
    return prog


@pytest.fixture
def web(programme: Programme) -> TestClient:
    from workflows.web.app import create_app

    return TestClient(create_app(application=programme.app))


def token(page_html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_html).group(1)


def sign_in(client: TestClient, username: str) -> TestClient:
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/tasks",
                                         "csrf_token": token(client.get("/").text)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


def post(client: TestClient, url: str, data: dict[str, Any], page: str, **kwargs: Any) -> Any:
    return client.post(url, data={**data, "csrf_token": token(client.get(page).text)}, follow_redirects=False,
                       **kwargs)


def completed_events(prog: Programme) -> int:
    with prog.app.uow() as uow:
        return len(list(uow.session.scalars(
            AuditEvent.__table__.select().where(AuditEvent.action == "task_completed"))))


def assignee(prog: Programme, task_id: int) -> int | None:
    with prog.app.uow() as uow:
        return uow.session.get(HumanTask, task_id).assignee_id


# --- the inbox -----------------------------------------------------------------------------------

def test_the_officer_inbox_lists_the_assessment_with_its_count_due_date_and_claim_button(
        web: TestClient, programme: Programme) -> None:
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    page = sign_in(web, OFFICER).get("/tasks")
    assert page.status_code == 200
    assert f'href="/tasks/{task.id}"' in page.text and programme.exchange_ref in page.text
    assert "task=assess_application" in page.text and '<span class="count">1</span>' in page.text
    assert "Mon 25 Jan 2027, 10:00 CET" in page.text  # ten working days later, in the user's zone
    assert f'action="/tasks/{task.id}/claim"' in page.text
    assert task.follow_up_at is not None and f"follow up {date(task.follow_up_at)}" in page.text
    assert "read only" not in page.text


def test_an_auditor_sees_the_inbox_read_only_without_a_claim_button(web: TestClient, programme: Programme) -> None:
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    page = sign_in(web, AUDITOR).get("/tasks?role=officer")
    assert page.status_code == 200 and f'href="/tasks/{task.id}"' in page.text
    assert f'action="/tasks/{task.id}/claim"' not in page.text and "read only" in page.text


def test_filters_are_get_parameters_and_an_empty_result_says_so(web: TestClient, programme: Programme) -> None:
    programme.submit_visitor_application()
    client = sign_in(web, OFFICER)
    assert "assess_application" in client.get("/tasks?task=assess_application&process=exchange").text
    empty = client.get("/tasks?task=validate_evidence&status=mine&sort=-created&due_before=2027-02-01")
    assert empty.status_code == 200 and "No task matches these filters" in empty.text
    assert client.get("/tasks?due_before=2027-01-15").text.count("task-row-") == 0
    assert client.get("/tasks?due_before=2027-01-25").text.count('id="task-row-') == 0
    assert client.get("/tasks?due_before=2027-01-26").text.count('id="task-row-') == 1
    assert client.get("/tasks?status=nonsense").status_code == 422


def test_an_overdue_task_is_highlighted(web: TestClient, programme: Programme) -> None:
    programme.submit_visitor_application()
    programme.advance(timedelta(days=15))  # past Mon 25 Jan, ten working days after it opened
    page = sign_in(web, OFFICER).get("/tasks?status=overdue")
    assert 'class="overdue"' in page.text and "overdue-label" in page.text


def test_an_empty_applicant_inbox_is_called_my_tasks_and_explains_itself(web: TestClient, programme: Programme) -> None:
    page = sign_in(web, OUTSIDER).get("/tasks")
    assert "<h1>My tasks</h1>" in page.text and "Nothing to do right now" in page.text


def test_claim_by_a_plain_post_redirects_back_and_by_htmx_swaps_the_row(web: TestClient, programme: Programme) -> None:
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    client = sign_in(web, OFFICER)
    answer = post(client, f"/tasks/{task.id}/claim", {"next": "/tasks?status=mine"}, "/tasks")
    assert answer.status_code == 303 and answer.headers["location"] == "/tasks?status=mine"
    assert assignee(programme, task.id) == programme.users[OFFICER]
    assert "is yours" in client.get("/tasks?status=mine").text
    html = client.get("/tasks").text
    row = client.post(f"/tasks/{task.id}/unclaim", data={"next": "/tasks"},
                      headers={"HX-Request": "true", "X-CSRF-Token": token(html)})
    assert row.status_code == 200 and row.text.lstrip().startswith(f'<tr id="task-row-{task.id}"')
    assert "Claim" in row.text and assignee(programme, task.id) is None


def test_a_post_without_the_csrf_token_is_refused(web: TestClient, programme: Programme) -> None:
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    answer = sign_in(web, OFFICER).post(f"/tasks/{task.id}/claim", data={}, follow_redirects=False)
    assert answer.status_code == 403 and assignee(programme, task.id) is None


def test_reassigning_to_a_colleague_and_a_refused_reassignment_is_a_sentence(
        web: TestClient, programme: Programme) -> None:
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    client = sign_in(web, OFFICER)
    page = f"/tasks/{task.id}"
    assert post(client, f"{page}/reassign", {"to": SOUTH_OFFICER, "next": page}, page).status_code == 303
    assert "flash-error" in client.get(page).text and assignee(programme, task.id) is None
    assert post(client, f"{page}/reassign", {"to": "officer2.north", "next": "/tasks"}, page).status_code == 303
    assert assignee(programme, task.id) == programme.users["officer2.north"]


def test_the_reassign_form_offers_only_the_colleagues_the_use_case_accepts(
        web: TestClient, programme: Programme) -> None:
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    officer = sign_in(web, OFFICER).get(f"/tasks/{task.id}").text
    offered = re.findall(r'<option value="([^"]+)">', officer.split('id="reassign-to"')[1].split("</select>")[0])
    assert offered == ["officer2.north"]  # not themselves, not the south's officer, not finance
    auditor = sign_in(TestClient(web.app), AUDITOR).get(f"/tasks/{task.id}").text
    assert "Reassign to a colleague" not in auditor and 'action="/tasks/' not in auditor.split("</header>")[0]


# --- the task page -------------------------------------------------------------------------------

def test_the_task_page_shows_the_context_and_the_form_and_an_error_is_next_to_its_field(
        web: TestClient, programme: Programme) -> None:
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    client = sign_in(web, OFFICER)
    page = client.get(f"/tasks/{task.id}")
    assert "Eligibility rules (R-ELIG)" in page.text and "Nova Cluster Brussels" in page.text
    assert 'for="field-decision"' in page.text and 'for="field-comment"' in page.text
    before = completed_events(programme)
    answer = post(client, f"/tasks/{task.id}", {"decision": "reject", "comment": ""}, f"/tasks/{task.id}")
    assert answer.status_code == 422
    error = re.search(r'<p class="field-error" id="field-comment-error">(.*?)</p>', answer.text, re.S)
    assert error and "required" in error.group(1)
    assert 'aria-invalid="true"' in answer.text and '<option value="reject" selected>' in answer.text
    assert completed_events(programme) == before and programme.open_task("assess_application").id == task.id
    done = post(client, f"/tasks/{task.id}", {"decision": "approve", "comment": "Fine."}, f"/tasks/{task.id}")
    assert done.status_code == 303 and done.headers["location"] == "/tasks"
    assert "is done" in client.get("/tasks").text and completed_events(programme) == before + 1


def test_a_person_who_may_not_act_sees_why_not(web: TestClient, programme: Programme) -> None:
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    client = sign_in(web, OFFICER)
    post(client, f"/tasks/{task.id}/claim", {"next": "/tasks"}, "/tasks")
    other = TestClient(web.app)
    accounts.set_password(programme.app, access.SYSTEM, "officer2.north", PASSWORD)
    page = sign_in(other, "officer2.north").get(f"/tasks/{task.id}")
    assert page.status_code == 200 and 'id="why-not"' in page.text


def test_another_partnership_or_organisation_gets_the_not_found_page(web: TestClient, programme: Programme) -> None:
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    south = sign_in(web, SOUTH_OFFICER)
    for url in (f"/tasks/{task.id}", f"/instances/{programme.instance_id}", f"/exchanges/{programme.exchange_ref}",
                f"/instances/{programme.instance_id}/diagram.bpmn"):
        answer = south.get(url)
        assert answer.status_code == 404 and "Not found" in answer.text, url
    outsider = sign_in(TestClient(web.app), OUTSIDER)
    assert outsider.get(f"/exchanges/{programme.exchange_ref}").status_code == 404
    assert programme.exchange_ref not in outsider.get("/exchanges").text


def test_signed_out_pages_lead_to_the_sign_in_form(web: TestClient) -> None:
    answer = web.get("/tasks?status=mine", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/?next=/tasks")


# --- the instance and the exchanges --------------------------------------------------------------

def test_the_instance_page_has_the_diagram_open_tasks_and_history(web: TestClient, programme: Programme) -> None:
    programme.submit_visitor_application().assessed()
    client = sign_in(web, VISITOR)
    page = client.get(f"/instances/{programme.instance_id}")
    assert page.status_code == 200
    # the version's hash in the address: after a migration the browser fetches the new diagram
    assert f'data-xml-url="/instances/{programme.instance_id}/diagram.bpmn?v=' in page.text
    assert "assess_application" in page.text.split('data-completed=')[1].split("data-active")[0]
    assert "Eligibility checked: eligible." in page.text and "Status changed from Submitted to Eligible." in page.text
    assert "Task “Assess application” completed: Approve" in page.text and OFFICER in page.text and "<details>" in page.text
    xml = client.get(f"/instances/{programme.instance_id}/diagram.bpmn")
    assert xml.status_code == 200 and b"definitions" in xml.content and b"assess_application" in xml.content


def test_the_exchange_search_and_the_exchange_page(web: TestClient, programme: Programme) -> None:
    programme.submit_visitor_application()
    client = sign_in(web, OFFICER)
    found = client.get("/exchanges?q=nova&country=BE")
    assert programme.exchange_ref in found.text
    assert programme.exchange_ref not in client.get("/exchanges?status=closed").text
    assert client.get("/exchanges?country=Belgium").status_code == 422
    page = client.get(f"/exchanges/{programme.exchange_ref}")
    assert f'href="/instances/{programme.instance_id}"' in page.text and 'enctype="multipart/form-data"' in page.text


def test_statuses_and_formats_read_as_words_on_the_exchange_pages(web: TestClient, programme: Programme) -> None:
    programme.submit_visitor_application()
    client = sign_in(web, OFFICER)
    listing = client.get("/exchanges").text
    assert ">Eligible</span>" in listing and ">Waiting for a match</option>" in listing
    page = client.get(f"/exchanges/{programme.exchange_ref}").text
    assert ">Eligible</span>" in page and "<dd>Exchange visit</dd>" in page and "exchange visit" not in page


def _upload(client: TestClient, ref: str, content: bytes, kind: str = "attendance_certificate",
            name: str = "attendance.pdf") -> Any:
    html = client.get(f"/exchanges/{ref}").text
    return client.post(f"/exchanges/{ref}/evidence", data={"kind": kind, "csrf_token": token(html)},
                       files={"file": (name, content, "application/pdf")}, follow_redirects=False)


def test_the_visitor_uploads_evidence_on_the_exchange_page_and_sees_its_hash(
        web: TestClient, programme: Programme) -> None:
    import hashlib

    programme.submit_visitor_application().assessed().matched()
    client = sign_in(web, VISITOR)
    answer = _upload(client, programme.exchange_ref, PDF)
    assert answer.status_code == 303
    page = client.get(answer.headers["location"])
    assert hashlib.sha256(PDF).hexdigest() in page.text and 'id="upload-result"' in page.text
    wrong = _upload(client, programme.exchange_ref, b"plain text, not a PDF", name="notes.pdf")
    assert wrong.status_code == 415 and "not a PDF, PNG or JPEG" in wrong.text
    no_kind = _upload(client, programme.exchange_ref, PDF + b"x", kind="")
    assert no_kind.status_code == 422 and 'id="evidence-kind-error"' in no_kind.text
    assert page.text.count('<code class="hash">') == 1


def test_the_closing_report_picks_its_documents_from_the_uploaded_files(web: TestClient, programme: Programme) -> None:
    programme.awaiting_evidence()
    client = sign_in(web, VISITOR)
    assert _upload(client, programme.exchange_ref, PDF).status_code == 303
    task = programme.open_task("submit_evidence")
    page = client.get(f"/tasks/{task.id}")
    sha = re.search(r'name="document" value="([0-9a-f]{64})"', page.text).group(1)
    data = evidence()
    form = {"attended_days": "\n".join(data["attended_days"]), "activities_done": "\n".join(data["activities_done"]),
            "feedback_rating": "5", "document": sha, f"kind-{sha}": "attendance_certificate"}
    done = post(client, f"/tasks/{task.id}", form, f"/tasks/{task.id}")
    assert done.status_code == 303, re.findall(r'class="field-error"[^>]*>(.*?)</p>', done.text, re.S)
    assert programme.exchange().evidence["documents"][0]["sha256"] == sha
    validation = programme.open_task("validate_evidence")
    page = sign_in(TestClient(web.app), OFFICER).get(f"/tasks/{validation.id}")
    assert "Working days (R-DAYS, AT): 5" in page.text and "travel day" in page.text
    assert "EUR 1,100.00" in page.text and sha in page.text


def test_a_long_inbox_is_paged_with_previous_and_next_links(web: TestClient, programme: Programme) -> None:
    from tests.workflows.builders import ADMIN

    accounts.set_password(programme.app, access.SYSTEM, ADMIN, PASSWORD)
    programme.submit_visitor_application().assessed().propose_match()  # two applicants' answers open
    client = sign_in(web, ADMIN)
    first = client.get("/tasks?role=applicant&page_size=1")
    assert "Page 1 of 2" in first.text and 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = client.get("/tasks?role=applicant&page_size=1&page=2")
    assert "Page 2 of 2" in second.text and 'rel="prev"' in second.text and 'rel="next"' not in second.text


def test_an_administrator_reads_the_officers_lane_without_claim_buttons(web: TestClient, programme: Programme) -> None:
    """Issue 18, point 5: an administrator does not claim an officer's task, so neither the inbox row
    nor the task page offers it; the officer's do."""
    from tests.workflows.builders import ADMIN

    accounts.set_password(programme.app, access.SYSTEM, ADMIN, PASSWORD)
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    admin = sign_in(web, ADMIN)
    inbox = admin.get("/tasks?role=officer")
    assert f'href="/tasks/{task.id}"' in inbox.text and f'action="/tasks/{task.id}/claim"' not in inbox.text
    page = admin.get(f"/tasks/{task.id}")
    assert "Claim this task" not in page.text and "belongs to the Officer lane" in page.text
    assert "Reassign to a colleague" in page.text  # reassigning is administration
    officer = sign_in(TestClient(web.app), OFFICER)
    assert f'action="/tasks/{task.id}/claim"' in officer.get("/tasks").text
    assert "Claim this task" in officer.get(f"/tasks/{task.id}").text


def test_the_inbox_marks_a_task_four_eyes_keep_from_the_officer_with_the_reason(
        programme: Programme, web: TestClient) -> None:
    from tests.workflows.builders import SECOND_OFFICER, accept_evidence

    prog = programme.awaiting_evidence()
    prog.complete("submit_evidence", VISITOR, evidence())
    prog.complete("validate_evidence", OFFICER, accept_evidence())   # OFFICER validated: not their approval
    approval = prog.open_task("approve_payment")
    row = re.search(rf'<tr id="task-row-{approval.id}".*?</tr>', sign_in(web, OFFICER).get("/tasks").text, re.S)
    assert row is not None and "not for you (four eyes)" in row.group(0)
    assert "validated the evidence" in row.group(0) and "Claim" not in row.group(0)
    accounts.set_password(prog.app, access.SYSTEM, SECOND_OFFICER, PASSWORD)
    from workflows.web.app import create_app

    other = sign_in(TestClient(create_app(application=prog.app)), SECOND_OFFICER).get("/tasks").text
    row = re.search(rf'<tr id="task-row-{approval.id}".*?</tr>', other, re.S)
    assert row is not None and "four eyes" not in row.group(0) and ">Claim</button>" in row.group(0)
