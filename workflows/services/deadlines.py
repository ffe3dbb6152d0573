"""The deadline sweep: every open task has an owner who is chased (SPEC §5, §6 "timers and reminders").

Each human task opens with a due date and a follow-up date (`workflows.engine.runner.Engine._deadlines`:
its process's `due` property, or the days of its call's rule set). Once the follow-up date has passed
the sweep reminds whoever must act — the assignee, else the users of the task's lane in its partnership
or organisation — and once the due date has passed it escalates to the officers of the task's
partnership (the administrators when it has none), each once per task, by email through the outbox and
with an audit event on the task's instance. Tasks whose process chases them itself (the evidence
timers) have no follow-up date and are left to it.

The timers flow runs the sweep after the BPMN timers; `advance_clock` (demo, tests) runs it too.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from workflows import outbox
from workflows.app import App
from workflows.audit import SYSTEM
from workflows.db.base import must_get
from workflows.db.models import Organisation, User
from workflows.db.process_models import HumanTask
from workflows.uow import UnitOfWork

BATCH = 500  # tasks per transaction


def chase_tasks(app: App) -> dict[str, int]:
    """Send the reminders and escalations that are due now; how many of each."""
    counts = {"reminded": 0, "escalated": 0}
    for kind in ("reminded", "escalated"):
        while True:
            with app.uow() as uow:
                tasks = _due(uow, kind)
                for task in tasks:
                    (_remind if kind == "reminded" else _escalate)(app, uow, task)
                uow.commit()
            counts[kind] += len(tasks)
            if len(tasks) < BATCH:
                break
    return counts


def _due(uow: UnitOfWork, kind: str) -> list[HumanTask]:
    now = uow.now()
    query = select(HumanTask).where(HumanTask.status == "open", HumanTask.follow_up_at.is_not(None))
    if kind == "reminded":
        query = query.where(HumanTask.follow_up_at <= now, HumanTask.reminded_at.is_(None))
    else:
        query = query.where(HumanTask.due_at <= now, HumanTask.escalated_at.is_(None))
    query = query.order_by(HumanTask.id).limit(BATCH)
    if uow.connection.dialect.name == "postgresql":  # two sweeps never chase the same task twice
        query = query.with_for_update(skip_locked=True)
    return list(uow.session.scalars(query))


def _context(app: App, task: HumanTask, now: datetime, recipient: str) -> dict[str, Any]:
    zone = ZoneInfo(app.settings.timezone)
    due = task.due_at.astimezone(zone) if task.due_at else now.astimezone(zone)
    return {"recipient_name": recipient, "task_name": task.name, "subject": task.subject_ref, "lane": task.lane,
            "due_date": due.date().isoformat(), "days_overdue": max(0, (now - due).days),
            "portal_path": f"/tasks/{task.id}"}


def _who_acts(uow: UnitOfWork, task: HumanTask) -> tuple[list[str], str]:
    """The addresses of whoever must act on `task`, and how to name them."""
    s = uow.session
    if task.assignee_id is not None:
        user = must_get(s, User, task.assignee_id)
        return [user.email], user.display_name
    if task.role == "applicant":
        emails = list(s.scalars(select(User.email).where(
            User.role == "applicant", User.organisation_id == task.organisation_id, User.active.is_(True))))
        org = s.get(Organisation, task.organisation_id) if task.organisation_id else None
        name = org.legal_name if org else "the applicant"
        return emails or ([org.contact_email] if org else []), name
    query = select(User.email).where(User.role == task.role, User.active.is_(True))
    if task.partnership_id is not None:
        query = query.where(User.partnership_id == task.partnership_id)
    return list(s.scalars(query.order_by(User.id))), f"{task.lane or task.role} team"


def _officers(uow: UnitOfWork, task: HumanTask) -> list[str]:
    query = select(User.email).where(User.role == "officer", User.active.is_(True))
    if task.partnership_id is not None:
        query = query.where(User.partnership_id == task.partnership_id)
    found = list(uow.session.scalars(query.order_by(User.id)))
    return found or list(uow.session.scalars(select(User.email).where(
        User.role == "administrator", User.active.is_(True)).order_by(User.id)))


def _remind(app: App, uow: UnitOfWork, task: HumanTask) -> None:
    now = uow.now()
    to, name = _who_acts(uow, task)
    if to:
        outbox.enqueue(uow.session, template="task_reminder", to=to, context=_context(app, task, now, name),
                       key=f"task_reminder:{task.id}", now=now)
    task.reminded_at = now
    uow.audit(SYSTEM, "task_reminder_sent", instance_id=task.instance_id, task=task.task_spec,
              subject=task.subject_ref, after={"human_task": task.id, "due_at": task.due_at, "to": to})


def _escalate(app: App, uow: UnitOfWork, task: HumanTask) -> None:
    now = uow.now()
    to = _officers(uow, task)
    _, waiting_for = _who_acts(uow, task)
    if task.assignee_id is None and task.role != "applicant":
        waiting_for = f"the {waiting_for}"  # "It waits for the Finance team"
    context = {**_context(app, task, now, "Programme officers"), "waiting_for": waiting_for}
    if to:
        outbox.enqueue(uow.session, template="task_overdue", to=to, context=context,
                       key=f"task_overdue:{task.id}", now=now)
    task.escalated_at = now
    uow.audit(SYSTEM, "task_escalated", instance_id=task.instance_id, task=task.task_spec,
              subject=task.subject_ref, after={"human_task": task.id, "due_at": task.due_at, "to": to,
                                               "waiting_for": waiting_for})
