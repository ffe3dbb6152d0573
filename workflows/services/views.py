"""Read models for the CLI, the HTTP API and the web: one instance with its open tasks, its history
and the BPMN steps a diagram viewer colours. What the principal may not see answers `NotFound`."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from reports.history_text import describe
from reports.labels import label
from workflows.db.base import must_get
from workflows.db.process_models import AuditEvent, HumanTask, ProcessDefinition, ProcessInstance
from workflows.engine import state_view
from workflows.services import FieldError, Invalid, NotFound, access
from workflows.services.access import Principal
from workflows.services.inbox import reading, task_out
from workflows.services.outputs import HistoryEventOut, InstanceOut
from workflows.services.process_version_views import instance_versions
from workflows.uow import UnitOfWork

if TYPE_CHECKING:
    from workflows.app import App

def resolve_instance(uow: UnitOfWork, principal: Principal, reference: str) -> int:
    """The id of the instance `reference` names: its id (12) or its exchange's reference (EX-000123,
    the exchange's latest process), if the principal may see it."""
    text = reference.strip()
    if text.isdigit():
        return access.visible_instance(uow, principal, int(text)).id
    if text.upper().startswith("EX-"):
        exchange = access.visible_exchange(uow, principal, text)
        instance_id = uow.session.scalar(select(ProcessInstance.id).where(
            ProcessInstance.subject_type == "exchange", ProcessInstance.subject_id == exchange.id,
        ).order_by(ProcessInstance.id.desc()).limit(1))
        if instance_id is None:
            raise NotFound(f"exchange {exchange.ref} has no process")
        return int(instance_id)
    message = f"{reference!r} is neither an instance id (12) nor an exchange reference (EX-000123)"
    raise Invalid(f"INSTANCE: {message}", [FieldError(("instance",), message)])


def step_ids(instance: ProcessInstance) -> tuple[list[str], list[str], list[str]]:
    """The BPMN element ids of the instance's completed, active (ready, started, waiting) and failed
    steps (the engine's view of its stored state, with its incident)."""
    view = state_view.read(instance.state_json, instance.incident)
    return view.completed, view.active, view.failed


def instance_view(source: App | UnitOfWork, principal: Principal, instance_id: int,
                  history_limit: int = 500) -> InstanceOut:
    """State, open tasks, history and diagram steps of one instance the principal may see."""
    with reading(source) as uow:
        instance = access.visible_instance(uow, principal, instance_id)
        definition = must_get(uow.session, ProcessDefinition, instance.definition_id)
        tasks = uow.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                            HumanTask.status == "open").order_by(HumanTask.id))
        events = uow.session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id)
                                     .order_by(AuditEvent.id).limit(history_limit))
        completed, active, failed = step_ids(instance)
        names = dict(uow.session.execute(select(HumanTask.task_spec, HumanTask.name)
                                         .where(HumanTask.instance_id == instance_id)).all())
        return InstanceOut(
            id=instance.id, process=instance.process_id, version=definition.version,
            bpmn_sha256=definition.sha256, subject=f"{instance.subject_type}:{instance.subject_id}",
            subject_ref=_subject_ref(uow, instance), status=instance.status, outcome=instance.outcome,
            incident=instance.incident, next_timer_at=instance.next_timer_at,
            waiting_for=list(instance.waiting_messages or []), data=_public_data(instance),
            open_tasks=[task_out(uow, t) for t in tasks],
            history=[HistoryEventOut(id=e.id, at=e.occurred_at, actor=e.actor, role=e.actor_role, action=e.action,
                                     task=e.task, before=e.data_before, after=e.data_after,
                                     summary=describe(e.action, names.get(e.task or "") or label(e.task),
                                                      e.data_before, e.data_after)) for e in events],
            completed_step_ids=completed, active_step_ids=active, incident_step_ids=failed,
            versions=instance_versions(uow, instance))


def _subject_ref(uow: UnitOfWork, instance: ProcessInstance) -> str | None:
    from workflows.db.models import Exchange

    if instance.subject_type != "exchange":
        return None
    return uow.session.scalar(select(Exchange.ref).where(Exchange.id == instance.subject_id))


def _public_data(instance: ProcessInstance) -> dict[str, Any]:
    """The data of the instance's most recent step, without the engine's own keys."""
    return state_view.read(instance.state_json).data
