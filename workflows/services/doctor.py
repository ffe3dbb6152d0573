"""`cxp doctor`: find process instances that are stuck.

An instance is stuck when it is `running` and nothing can move it on: no open human task, no timer
(`next_timer_at`), no message it waits for and no incident an officer could retry. Such an instance
will never finish by itself; the report says what it last did, its subject and since when, so that
a person can look at it (`cxp instance show ID`)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from workflows.app import App
from workflows.db.models import Application, Call, Exchange
from workflows.db.process_models import AuditEvent, HumanTask, ProcessInstance
from workflows.uow import UnitOfWork

RUNNING = ("running", "incident")


def _subject(uow: UnitOfWork, instance: ProcessInstance) -> str:
    """How a person knows the subject: the exchange reference, the call code, the application."""
    if instance.subject_type == "exchange":
        exchange = uow.session.get(Exchange, instance.subject_id)
        if exchange is not None:
            return exchange.ref
    if instance.subject_type == "call":
        call = uow.session.get(Call, instance.subject_id)
        if call is not None:
            return call.code
    if instance.subject_type == "application":
        application = uow.session.get(Application, instance.subject_id)
        if application is not None:
            return f"HOST-{application.id:05d}" if application.role == "host" else f"application:{application.id}"
    return f"{instance.subject_type}:{instance.subject_id}"


def _last_step(uow: UnitOfWork, instance: ProcessInstance) -> tuple[str, datetime]:
    """What the instance last did (its newest audit event) and when."""
    event = uow.session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance.id)
                                .order_by(AuditEvent.id.desc()).limit(1)).first()
    if event is None:
        return "nothing recorded since it started", instance.updated_at or instance.created_at
    what = f"{event.action} ({event.task})" if event.task else event.action
    return f"last {what} by {event.actor}", event.occurred_at


def stuck_instances(uow: UnitOfWork) -> dict[str, Any]:
    """Every running instance that waits for nothing: {running, stuck: [{instance, process, ...}]}."""
    running = uow.session.scalar(select(func.count(ProcessInstance.id)).where(
        ProcessInstance.status.in_(RUNNING)))
    open_task = select(HumanTask.id).where(HumanTask.instance_id == ProcessInstance.id,
                                           HumanTask.status == "open").exists()
    candidates = uow.session.scalars(select(ProcessInstance).where(
        ProcessInstance.status == "running", ProcessInstance.next_timer_at.is_(None), ~open_task)
        .order_by(ProcessInstance.id))
    stuck = []
    for instance in candidates:
        if instance.waiting_messages or instance.incident:
            continue  # JSON columns: SQL NULL, JSON null and [] all mean none
        what, since = _last_step(uow, instance)
        stuck.append({
            "instance": instance.id, "process": instance.process_id, "subject": _subject(uow, instance),
            "since": since.isoformat(),
            "reason": f"no open task, no timer, no awaited message and no incident; {what} "
                      f"at {since.isoformat()}",
        })
    return {"running": int(running or 0), "stuck": stuck}


def diagnose(app: App) -> dict[str, Any]:
    with app.uow() as uow:
        return stuck_instances(uow)
