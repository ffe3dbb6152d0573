"""The process-version pages through the web (TestClient): an auditor reads them without a form to
act, anyone else gets the 403 page (audited); a form without its file or without an instance is
answered 422 in words; an administrator migrates from the page and rolls the move back."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.bpmn.changes import changed_process
from tests.web.test_pages_oversight import PASSWORD, post, signed_in, text_of
from tests.workflows.builders import ADMIN, AUDITOR, OFFICER, VISITOR, Programme, evidence, programme
from workflows.db.process_models import AuditEvent
from workflows.services.access import SYSTEM
from workflows.services.accounts import set_password
from workflows.services.process_versions import deploy_version


@pytest.fixture
def versioned(programme: Programme) -> tuple[Programme, int]:
    """An exchange waiting for the evidence's validation, and the changed exchange deployed."""
    programme.awaiting_evidence()
    programme.complete("submit_evidence", VISITOR, evidence())
    for name in (ADMIN, AUDITOR, OFFICER):
        set_password(programme.app, SYSTEM, name, PASSWORD)
    out = deploy_version(programme.app, programme.principal(ADMIN), changed_process("exchange"), "e.bpmn", "v2")
    return programme, out.version.id


def test_an_auditor_reads_the_versions_without_a_form_to_act(versioned) -> None:
    prog, version_id = versioned
    client = signed_in(prog.app, AUDITOR)
    listing = client.get("/admin/processes")
    assert listing.status_code == 200 and "exchange v2" in text_of(listing.text)
    assert "Deploy a new version" not in listing.text
    detail = client.get(f"/admin/processes/{version_id}")
    assert detail.status_code == 200 and "host_consent_extension" in detail.text
    assert "Dry run" not in detail.text and "Roll back" not in detail.text


def test_an_officer_gets_the_403_page_and_the_refusal_is_audited(versioned) -> None:
    prog, version_id = versioned
    client = signed_in(prog.app, OFFICER)
    answer = client.get(f"/admin/processes/{version_id}")
    assert answer.status_code == 403 and "only administrators and auditors read the process versions" in \
        text_of(answer.text)
    with prog.app.uow() as uow:
        assert OFFICER in uow.session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "access_refused"))


def test_a_deployment_without_a_file_and_a_dry_run_without_an_instance_are_422_in_words(versioned) -> None:
    prog, version_id = versioned
    client = signed_in(prog.app, ADMIN)
    no_file = post(client, "/admin/processes", "/admin/processes", data={"reason": "why"})
    assert no_file.status_code == 422 and "Choose the BPMN file of the new version." in text_of(no_file.text)
    page = f"/admin/processes/{version_id}"
    nobody = post(client, f"{page}/migrate", page, data={"action": "dry_run"})
    assert nobody.status_code == 422 and "Choose at least one instance to move." in text_of(nobody.text)
    no_reason = post(client, f"{page}/migrate", page, data={"action": "migrate", "instance": str(prog.instance_id)})
    assert no_reason.status_code == 422 and "say why" in text_of(no_reason.text)
    assert prog.instance().definition_id != version_id


def test_an_administrator_migrates_from_the_page_and_rolls_the_move_back(versioned) -> None:
    prog, version_id = versioned
    client = signed_in(prog.app, ADMIN)
    page = f"/admin/processes/{version_id}"
    dry = post(client, f"{page}/migrate", page, data={"action": "dry_run", "instance": str(prog.instance_id)})
    assert dry.status_code == 200 and "Dry run: 1 of 1 can move" in text_of(dry.text)
    assert prog.instance().definition_id != version_id
    moved = post(client, f"{page}/migrate", page, data={"action": "migrate", "instance": str(prog.instance_id),
                                                        "reason": "The new evidence check"})
    assert "Migration: 1 of 1 moved" in text_of(moved.text) and prog.instance().definition_id == version_id
    back = post(client, f"{page}/rollback", page, data={"instance": str(prog.instance_id), "reason": "Not yet"})
    assert f"Instance {prog.instance_id} is back on version 1." in text_of(back.text)
    assert prog.instance().definition_id != version_id
    refused = post(client, f"{page}/rollback", page, data={"instance": str(prog.instance_id), "reason": "Again"})
    assert "was not rolled back: it was not migrated to version 2" in text_of(refused.text)
