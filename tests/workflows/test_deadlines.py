"""Every waiting stage has a deadline and an owner (issue 10, point 2): each human task opens with a
due date and a follow-up date from its call's rule set (or its process), and the deadline sweep
reminds whoever must act, then escalates to the partnership's officers — once each."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.workflows.builders import (  # noqa: F401
    ARRIVAL,
    BRUSSELS,
    Programme,
    commitment,
    programme,
)
from workflows.services.deadlines import chase_tasks


def _working_days_between(start: datetime, end: datetime) -> int:
    """Monday-to-Friday dates after `start`'s up to `end`'s (none of them a BE or AT holiday here)."""
    days = (end.date() - start.date()).days
    return sum(1 for n in range(1, days + 1) if (start.date() + timedelta(days=n)).weekday() < 5)


def test_an_officers_task_is_due_after_the_rule_sets_days_and_followed_up_before(programme: Programme) -> None:  # noqa: F811
    """Ten working days of the partnership's country: opened Monday 11 January 2027 at 10:00, due
    Monday 25 January at 10:00, followed up three working days before, on Wednesday 20 January."""
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    assert task.due_at == datetime(2027, 1, 25, 10, 0, tzinfo=BRUSSELS)
    assert task.follow_up_at == datetime(2027, 1, 20, 10, 0, tzinfo=BRUSSELS)
    opened = [e for e in programme.events("task_created") if e.task == "assess_application"][0]
    assert opened.data_after["follow_up_at"] == task.follow_up_at.isoformat()


def test_the_owner_is_reminded_then_the_officers_are_told_once_each(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    assert chase_tasks(programme.app) == {"reminded": 0, "escalated": 0}
    assert programme.advance(timedelta(days=8, hours=23))["reminded"] == 0  # Wednesday 20 January, 09:00
    result = programme.advance(timedelta(hours=2))
    assert (result["reminded"], result["escalated"]) == (1, 0)
    reminder = programme.emails("task_reminder")
    assert len(reminder) == 1 and sorted(reminder[0].recipients) == ["o1@cx.local", "o2@cx.local"]
    assert reminder[0].context["task_name"] == "Assess application"
    assert reminder[0].context["subject"] == programme.exchange_ref
    assert programme.advance(timedelta(days=2))["reminded"] == 0  # not twice
    assert programme.advance(timedelta(days=2))["escalated"] == 0  # Sunday 24 January: not due yet
    assert programme.advance(timedelta(days=1))["escalated"] == 1  # Monday 25 January, 11:00: overdue
    overdue = programme.emails("task_overdue")
    assert len(overdue) == 1 and overdue[0].context["days_overdue"] >= 0
    assert overdue[0].context["waiting_for"] == "the Officer team"
    assert chase_tasks(programme.app) == {"reminded": 0, "escalated": 0}
    events = [(e.action, e.instance_id, e.task) for e in programme.events()
              if e.action in ("task_reminder_sent", "task_escalated")]
    assert events == [("task_reminder_sent", programme.instance_id, "assess_application"),
                      ("task_escalated", programme.instance_id, "assess_application")]
    assert programme.open_task("assess_application").id == task.id  # still the officer's to decide


def test_an_applicants_answer_is_due_later_and_chases_the_organisation(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().propose_match()
    task = programme.open_task("visitor_accept_match")
    assert _working_days_between(task.created_at, task.due_at) == 14 and task.due_at.weekday() < 5
    assert task.due_at.time() == task.created_at.time()
    programme.advance(task.follow_up_at - programme.now() + timedelta(minutes=1))
    reminded = [m for m in programme.emails("task_reminder") if m.context["task_name"] == task.name]
    assert reminded and reminded[0].recipients == ["contact@nova.example"]


def test_the_signatures_are_due_before_the_visit_starts(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed().matched()
    programme.complete("agree_commitment", "visitor", commitment())
    start = datetime(ARRIVAL.year, ARRIVAL.month, ARRIVAL.day, 0, 0, tzinfo=BRUSSELS)
    for spec in ("sign_commitment_visitor", "sign_commitment_host", "sign_commitment_visitor_officer",
                 "sign_commitment_host_officer"):
        task = programme.open_task(spec)
        # due at the start of Sunday 7 February, followed up three working days before: Wednesday 3
        assert task.due_at == start and task.follow_up_at == datetime(2027, 2, 3, 0, 0, tzinfo=BRUSSELS)


def test_the_evidence_is_chased_by_its_own_process_timers_not_by_the_sweep(programme: Programme) -> None:  # noqa: F811
    programme.awaiting_evidence()
    task = programme.open_task("submit_evidence")
    assert task.due_at is not None and task.follow_up_at is None
    programme.advance(timedelta(days=20))
    assert [m.context["task_name"] for m in programme.emails("task_reminder")
            if m.context["subject"] == programme.exchange_ref and "evidence" in m.context["task_name"]] == []
    assert programme.emails("evidence_reminder") and programme.emails("evidence_overdue")
