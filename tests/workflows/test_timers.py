"""Timers in simulated time: each fires when the clock passes its moment — not a minute earlier — and
the emails it causes are in the outbox at that moment."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.workflows.builders import BRUSSELS, OFFICER, VISITOR, Programme, evidence, programme  # noqa: F401

MINUTE = timedelta(minutes=1)


def test_an_unanswered_request_for_information_ends_as_withdrawn_at_its_deadline(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    programme.complete("assess_application", OFFICER,
                       {"decision": "request_info", "comment": "Please describe the three activities."})
    deadline = datetime(2027, 1, 25, 18, 0, tzinfo=BRUSSELS)  # 14 days after 11 January
    question = programme.open_task("provide_information")
    assert question.due_at == deadline
    assert programme.exchange().status == "information_requested"
    assert [m.recipients for m in programme.emails("information_requested")] == [["contact@nova.example"]]

    programme.advance_to(deadline - MINUTE)
    assert programme.open_specs() == ["provide_information"]
    assert programme.instance().status == "running"

    programme.advance(2 * MINUTE)
    instance = programme.instance()
    assert (instance.status, instance.outcome) == ("completed", "end_withdrawn")
    assert programme.exchange().status == "withdrawn"
    assert programme.open_specs() == []
    assert len(programme.emails("application_withdrawn")) == 1
    cancelled = [e for e in programme.events("task_cancelled") if e.task == "provide_information"]
    assert len(cancelled) == 1


def test_evidence_reminder_and_overdue_escalation_come_on_their_days_while_the_task_stays_open(
        programme: Programme) -> None:  # noqa: F811
    programme.awaiting_evidence()
    task = programme.open_task("submit_evidence")
    due = datetime(2027, 2, 28, 18, 0, tzinfo=BRUSSELS)
    reminder_at = due - timedelta(days=5)
    assert task.due_at == due

    programme.advance_to(reminder_at - MINUTE)
    assert programme.emails("evidence_reminder") == []
    programme.advance(2 * MINUTE)
    reminders = programme.emails("evidence_reminder")
    assert [m.recipients for m in reminders] == [["contact@nova.example"]]
    assert reminder_at < reminders[0].created_at <= reminder_at + 2 * MINUTE
    assert programme.open_task("submit_evidence").id == task.id

    programme.advance_to(due - MINUTE)
    assert programme.emails("evidence_overdue") == []
    assert programme.events("evidence_overdue_escalated") == []
    programme.advance(2 * MINUTE)
    escalations = programme.emails("evidence_overdue")
    assert [sorted(m.recipients) for m in escalations] == [["o1@cx.local", "o2@cx.local"]]
    assert due < escalations[0].created_at <= due + 2 * MINUTE
    assert len(programme.events("evidence_overdue_escalated")) == 1
    assert programme.open_task("submit_evidence").id == task.id
    assert programme.instance().status == "running"

    # days later nothing is sent twice, and the late evidence is still taken
    programme.advance(timedelta(days=3))
    assert (len(programme.emails("evidence_reminder")), len(programme.emails("evidence_overdue"))) == (1, 1)
    programme.complete("submit_evidence", VISITOR, evidence())
    assert programme.open_specs() == ["validate_evidence"]


def test_an_approved_application_without_a_match_ends_at_the_matching_deadline(programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application().assessed()
    deadline = datetime(2027, 5, 28, 18, 0, tzinfo=BRUSSELS)
    assert programme.instance().next_timer_at == deadline

    programme.advance_to(deadline - MINUTE)
    assert programme.instance().waiting_messages == ["match_proposed"]
    programme.advance(2 * MINUTE)
    instance = programme.instance()
    assert (instance.status, instance.outcome, instance.next_timer_at) == ("completed", "end_not_matched", None)
    assert programme.exchange().status == "not_matched"
    assert len(programme.emails("not_matched")) == 1
