"""A service task that fails becomes an incident on its instance: visible, audited, nothing of the failing
step half-written, and an officer can retry it once the cause is fixed."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import select

from tasks import registry
from tests.workflows.builders import FINANCE, OFFICER, VISITOR, Programme, as_user, evidence, programme  # noqa: F401
from workflows import audit
from workflows.db.process_models import HumanTask
from workflows.services import PermissionDenied, ServiceError
from workflows.services.incidents import retry


class LedgerDown(RuntimeError):
    pass


def half_writing_service(ctx: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """Writes a little of everything a service can write, then fails."""
    ctx.programme.set_exchange_status(data["exchange_id"], "evidence_submitted")
    ctx.audit("half_written", subject="probe", after={"step": 1})
    ctx.notify("evidence_reminder", ["probe@example.org"], {"due": "never"}, key="half-written-probe")
    raise LedgerDown("the working-day ledger is unreachable")


@pytest.fixture
def failing_working_days(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Replace the registered `compute_working_days` service; returns a function restoring it."""
    original = registry.services()["compute_working_days"]
    monkeypatch.setitem(registry._SERVICES, "compute_working_days", half_writing_service)
    return lambda: monkeypatch.setitem(registry._SERVICES, "compute_working_days", original)


def test_a_failing_service_opens_an_incident_and_writes_nothing_of_its_own(
        programme: Programme, failing_working_days: Any) -> None:  # noqa: F811
    programme.awaiting_evidence()
    emails_before = len(programme.emails())

    result = programme.complete("submit_evidence", VISITOR, evidence())

    assert result.instance_status == "incident"
    instance = programme.instance()
    assert instance.status == "incident"
    assert instance.incident["task"] == "svc_compute_working_days"
    assert "LedgerDown" in instance.incident["error"]
    assert "the working-day ledger is unreachable" in instance.incident["error"]
    opened = programme.events("incident_opened")
    assert len(opened) == 1
    assert (opened[0].instance_id, opened[0].task) == (programme.instance_id, "svc_compute_working_days")

    # the visitor's submission is kept; the failing service left nothing behind
    assert len(programme.events("task_completed")) > 0
    assert programme.events("task_completed")[-1].task == "submit_evidence"
    assert programme.open_specs() == []
    assert programme.exchange().status == "awaiting_evidence"
    assert programme.exchange().evidence is None
    assert programme.events("half_written") == []
    assert len(programme.emails()) == emails_before
    with programme.app.uow() as uow:
        assert audit.verify(uow.session).ok


def test_an_officer_retries_the_incident_once_the_cause_is_fixed(
        programme: Programme, failing_working_days: Any) -> None:  # noqa: F811
    programme.awaiting_evidence()
    programme.complete("submit_evidence", VISITOR, evidence())
    with pytest.raises(PermissionDenied, match="finance.north is finance and may not retry incidents"):
        retry(programme.app, programme.instance_id, as_user(programme.app, FINANCE))
    assert [e.actor for e in programme.events("access_refused")] == [FINANCE]

    # still failing: the retry opens the incident again and changes nothing else
    retry(programme.app, programme.instance_id, as_user(programme.app, OFFICER))
    assert programme.instance().status == "incident"
    assert len(programme.events("incident_opened")) == 2

    failing_working_days()
    outcome = retry(programme.app, programme.instance_id, as_user(programme.app, OFFICER))

    assert (outcome.instance, outcome.status, outcome.incident) == (programme.instance_id, "running", None)
    assert programme.open_specs() == ["validate_evidence"]
    exchange = programme.exchange()
    assert exchange.status == "evidence_submitted"
    assert exchange.working_days["working_days"] == 5
    retried = programme.events("incident_retried")
    assert [(e.actor, e.instance_id) for e in retried] == [(OFFICER, programme.instance_id)] * 2
    with pytest.raises(ServiceError, match="has no open incident"):
        retry(programme.app, programme.instance_id, as_user(programme.app, OFFICER))
    with programme.app.uow() as uow:
        assert audit.verify(uow.session).ok
        assert uow.session.scalars(select(HumanTask.status).where(
            HumanTask.task_spec == "submit_evidence")).all() == ["completed"]


def test_an_incident_on_a_side_branch_stays_open_while_the_main_path_moves_on(
        programme: Programme, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The evidence reminder (a boundary timer beside the open evidence task) fails; the visitor still
    submits — the incident must stay visible until an officer retries the reminder."""
    from datetime import datetime, timedelta

    from tests.workflows.builders import BRUSSELS

    original = registry.services()["send_evidence_reminder"]

    def mail_down(ctx: Any, data: Mapping[str, Any]) -> None:
        raise LedgerDown("the mail templates are unreachable")

    monkeypatch.setitem(registry._SERVICES, "send_evidence_reminder", mail_down)
    programme.awaiting_evidence()
    programme.advance_to(datetime(2027, 2, 23, 18, 1, tzinfo=BRUSSELS))
    assert programme.instance().incident["task"] == "svc_send_evidence_reminder"
    assert programme.open_specs() == ["submit_evidence"]

    programme.complete("submit_evidence", VISITOR, evidence())
    assert programme.open_specs() == ["validate_evidence"]
    instance = programme.instance()
    assert instance.status == "incident"
    assert instance.incident["task"] == "svc_send_evidence_reminder"

    monkeypatch.setitem(registry._SERVICES, "send_evidence_reminder", original)
    assert retry(programme.app, programme.instance_id, as_user(programme.app, OFFICER)).status == "running"
    assert len(programme.emails("evidence_reminder")) == 1
    assert programme.open_specs() == ["validate_evidence"]
    programme.advance(timedelta(days=1))
    assert programme.instance().status == "running"


def test_timers_on_other_branches_still_fire_while_an_incident_is_open(
        programme: Programme, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The reminder fails and stays an incident; the overdue escalation five days later still comes."""
    from datetime import datetime

    from tests.workflows.builders import BRUSSELS

    def mail_down(ctx: Any, data: Mapping[str, Any]) -> None:
        raise LedgerDown("the mail templates are unreachable")

    monkeypatch.setitem(registry._SERVICES, "send_evidence_reminder", mail_down)
    programme.awaiting_evidence()
    programme.advance_to(datetime(2027, 2, 23, 18, 1, tzinfo=BRUSSELS))
    assert programme.instance().status == "incident"
    assert programme.emails("evidence_overdue") == []

    programme.advance_to(datetime(2027, 2, 28, 18, 1, tzinfo=BRUSSELS))
    assert len(programme.emails("evidence_overdue")) == 1
    instance = programme.instance()
    assert instance.status == "incident" and instance.incident["task"] == "svc_send_evidence_reminder"
    assert programme.open_specs() == ["submit_evidence"]
