"""Administrators stay out of other people's lanes (issue 18, point 5): they manage calls, users, rule
sets and process versions, but neither claim nor complete an officer's task (the second signature of
R-4EYES on `approve_payment`) or an applicant's (the evidence and closing report); each refusal is
audited and changes nothing. Reassigning a task and releasing a claim stay theirs (administration)."""
from __future__ import annotations

import pytest

from tests.workflows.builders import (
    ADMIN,
    OFFICER,
    SECOND_OFFICER,
    VISITOR,
    Programme,
    accept_evidence,
    as_user,
    evidence,
    programme,  # noqa: F401
)
from tests.workflows.test_task_completion import refused
from workflows.services import PermissionDenied
from workflows.services.inbox import claim, reassign, unclaim


def test_an_administrator_cannot_give_the_second_signature_of_a_payment(programme: Programme) -> None:  # noqa: F811
    programme.awaiting_evidence()
    programme.complete("submit_evidence", VISITOR, evidence())
    programme.complete("validate_evidence", OFFICER, accept_evidence())

    message = refused(programme, "approve_payment", ADMIN, {"decision": "approve"})
    assert message == (f"task {programme.open_task('approve_payment').id} belongs to the Officer lane (officer); "
                       f"{ADMIN} is administrator")
    programme.complete("approve_payment", SECOND_OFFICER, {"decision": "approve"})
    assert programme.exchange().status == "awaiting_payment"


def test_an_administrator_cannot_submit_an_applicants_evidence_and_report(programme: Programme) -> None:  # noqa: F811
    programme.awaiting_evidence()
    assert "applicant" in refused(programme, "submit_evidence", ADMIN, evidence())


def test_an_administrator_cannot_claim_an_officers_task_but_reassigns_and_releases_it(
        programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    admin = as_user(programme.app, ADMIN)
    before = len(programme.events("task_refused"))
    with pytest.raises(PermissionDenied, match="belongs to the Officer lane"):
        claim(programme.app, task.id, admin)
    assert len(programme.events("task_refused")) == before + 1
    assert programme.open_task("assess_application").assignee_id is None

    handed = reassign(programme.app, task.id, admin, SECOND_OFFICER)
    assert handed.task.assignee == SECOND_OFFICER
    released = unclaim(programme.app, task.id, admin)
    assert released.assignee is None
