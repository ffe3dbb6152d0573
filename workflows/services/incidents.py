"""Incidents: a failed service step is visible on its instance (and in the list of open incidents)
and can be retried by an officer."""
from __future__ import annotations

from sqlalchemy import select

from workflows.app import App
from workflows.db.models import Exchange
from workflows.db.process_models import ProcessInstance
from workflows.engine.runner import EngineError
from workflows.services import ServiceError, access
from workflows.services.access import Principal
from workflows.services.lifecycle import settle
from workflows.services.outputs import IncidentOut, RetryOut


def retry(app: App, instance_id: int, principal: Principal) -> RetryOut:
    """Retry the failed step of an instance the principal sees; officers and administrators only."""
    with app.uow() as uow:
        instance = access.visible_instance(uow, principal, instance_id)
        access.require_role(app, uow, principal, ("officer", "administrator"), "retry incidents",
                            instance_id=instance_id)
        try:
            settle(app, uow, app.engine.retry(uow, instance, principal.actor))
        except EngineError as err:
            raise ServiceError(str(err)) from err
        uow.commit()
        return RetryOut(instance=instance.id, status=instance.status, incident=instance.incident)


INCIDENT_READERS = ("officer", "auditor", "administrator")


def list_incidents(app: App, principal: Principal, exchange_ref: str | None = None) -> list[IncidentOut]:
    """The open incidents of the instances the principal sees (officers, auditors, administrators;
    others refused, audited), oldest first; with `exchange_ref`, that exchange's only."""
    with app.uow() as uow:
        query = select(ProcessInstance).where(ProcessInstance.status == "incident").order_by(ProcessInstance.id)
        if exchange_ref is not None:
            exchange = access.visible_exchange(uow, principal, exchange_ref)
            query = query.where(ProcessInstance.subject_type == "exchange", ProcessInstance.subject_id == exchange.id)
        access.require_role(app, uow, principal, INCIDENT_READERS, "read incidents")
        out = []
        for instance in uow.session.scalars(query):
            if not access.sees_instance(uow, principal, instance):
                continue
            ref = None
            if instance.subject_type == "exchange":
                ref = uow.session.scalar(select(Exchange.ref).where(Exchange.id == instance.subject_id))
            incident = instance.incident or {}
            out.append(IncidentOut(instance=instance.id, subject=ref or f"{instance.subject_type} {instance.subject_id}",
                                   exchange=ref, task=incident.get("task"), error=str(incident.get("error") or ""),
                                   since=incident.get("at"), may_retry=principal.role in ("officer", "administrator")))
        return out
