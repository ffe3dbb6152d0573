"""Read models for the CLI and the web: tasks, instances with their open tasks and history."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from workflows.db.process_models import AuditEvent, HumanTask, ProcessDefinition, ProcessInstance
from workflows.services import NotFound, ServiceError
from workflows.uow import UnitOfWork

if TYPE_CHECKING:
    from workflows.services.inbox import InboxTask


def task_view(task: "HumanTask | InboxTask") -> dict[str, Any]:
    return {
        "id": task.id, "task": task.task_spec, "name": task.name, "lane": task.lane, "role": task.role,
        "partnership_id": task.partnership_id, "organisation_id": task.organisation_id,
        "subject": task.subject_ref, "instance_id": task.instance_id, "assignee_id": task.assignee_id,
        "due_at": task.due_at.isoformat() if task.due_at else None, "status": task.status,
        "created_at": task.created_at.isoformat(),
    }


def resolve_instance(uow: UnitOfWork, reference: str) -> int:
    """The id of the instance `reference` names: its id (12) or its exchange's reference (EX-000123,
    the exchange's latest process)."""
    from workflows.db.models import Exchange

    text = reference.strip()
    if text.isdigit():
        return int(text)
    if text.upper().startswith("EX-"):
        exchange_id = uow.session.scalar(select(Exchange.id).where(Exchange.ref == text.upper()))
        if exchange_id is None:
            raise NotFound(f"exchange {text.upper()} does not exist")
        instance_id = uow.session.scalar(select(ProcessInstance.id).where(
            ProcessInstance.subject_type == "exchange", ProcessInstance.subject_id == exchange_id,
        ).order_by(ProcessInstance.id.desc()).limit(1))
        if instance_id is None:
            raise NotFound(f"exchange {text.upper()} has no process")
        return int(instance_id)
    raise ServiceError(f"INSTANCE: {reference!r} is neither an instance id (12) nor an exchange reference (EX-000123)")


def instance_view(uow: UnitOfWork, instance_id: int, history_limit: int = 500) -> dict[str, Any]:
    instance = uow.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"instance {instance_id} does not exist")
    definition = uow.session.get(ProcessDefinition, instance.definition_id)
    tasks = uow.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                        HumanTask.status == "open").order_by(HumanTask.id))
    events = uow.session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id)
                                 .order_by(AuditEvent.id).limit(history_limit))
    return {
        "id": instance.id, "process": instance.process_id, "version": definition.version,
        "bpmn_sha256": definition.sha256, "subject": f"{instance.subject_type}:{instance.subject_id}",
        "status": instance.status, "outcome": instance.outcome, "incident": instance.incident,
        "next_timer_at": instance.next_timer_at.isoformat() if instance.next_timer_at else None,
        "waiting_for": instance.waiting_messages, "data": _public_data(instance),
        "open_tasks": [task_view(t) for t in tasks],
        "history": [
            {"id": e.id, "at": e.occurred_at.isoformat(), "actor": e.actor, "role": e.actor_role,
             "action": e.action, "task": e.task, "before": e.data_before, "after": e.data_after}
            for e in events
        ],
    }


def _public_data(instance: ProcessInstance) -> dict[str, Any]:
    """The data of the instance's most recent task, without the engine's own keys.

    Spiff stores a task's data as a delta to its parent's, so it is rebuilt from the root down."""
    tasks = (instance.state or {}).get("tasks", {})
    latest = max(tasks.values(), key=lambda t: t.get("last_state_change", 0), default=None)
    chain = []
    while latest is not None:
        chain.append(latest)
        latest = tasks.get(latest.get("parent") or "")
    data: dict[str, Any] = {}
    for task in reversed(chain):
        delta = task.get("delta")
        if delta and task.get("parent"):
            data.update(delta.get("updates", {}))
            for key in delta.get("deletions", []):
                data.pop(key, None)
        else:
            data = dict(task.get("data", {}))
    return {k: v for k, v in data.items() if not k.startswith("spiff_") and not k.endswith("_result")}
