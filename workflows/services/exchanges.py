"""Requests that arrive during an exchange as BPMN messages: an extension, a cancellation."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from workflows.app import App
from workflows.db.models import Exchange
from workflows.services import NotFound, PermissionDenied, ServiceError
from workflows.services.inbox import actor_of, get_user
from workflows.services.lifecycle import deliver, instance_for


def _exchange(uow: Any, ref: str) -> Exchange:
    exchange = uow.session.scalars(select(Exchange).where(Exchange.ref == ref)).first()
    if exchange is None:
        raise NotFound(f"exchange: no exchange '{ref}'")
    return exchange


def _may_act(app: App, user: Any, exchange: Exchange, request: str) -> None:
    """Only the two organisations and their partnerships' officers may ask; a refusal is audited."""
    if user.role == "applicant" and user.organisation_id in (exchange.visitor_org_id, exchange.host_org_id):
        return
    if user.role == "officer" and user.partnership_id in (exchange.visitor_partnership_id, exchange.host_partnership_id):
        return
    reason = f"{user.username} may not act on exchange {exchange.ref}"
    with app.uow() as audit_uow:
        audit_uow.audit(actor_of(user), "request_refused", subject=exchange.ref,
                        after={"request": request, "reason": reason})
        audit_uow.commit()
    raise PermissionDenied(reason)


def request_extension(app: App, ref: str, username: str, new_departure: date, reason: str) -> None:
    """The visitor (or an officer) asks to extend the stay; host consent and an officer decide."""
    if not reason.strip():
        raise ServiceError("reason: an extension needs a reason")
    with app.uow() as uow:
        exchange, user = _exchange(uow, ref), get_user(uow, username)
        _may_act(app, user, exchange, "extension")
        if exchange.departure and new_departure <= exchange.departure:
            raise ServiceError(f"departure: {new_departure} is not after the planned departure {exchange.departure}")
        uow.audit(actor_of(user), "extension_requested", subject=ref,
                  after={"departure": new_departure, "reason": reason})
        deliver(app, uow, instance_for(uow, "exchange", exchange.id), "extension_requested",
                {"extension_departure": new_departure.isoformat(), "extension_reason": reason})
        uow.commit()


def cancel_exchange(app: App, ref: str, username: str, reason: str) -> None:
    """Cancel or discontinue the visit; the closing report is still asked for."""
    if not reason.strip():
        raise ServiceError("reason: a cancellation needs a reason")
    with app.uow() as uow:
        exchange, user = _exchange(uow, ref), get_user(uow, username)
        _may_act(app, user, exchange, "cancellation")
        uow.audit(actor_of(user), "cancellation_requested", subject=ref, after={"reason": reason})
        deliver(app, uow, instance_for(uow, "exchange", exchange.id), "cancellation_requested",
                {"cancellation_reason": reason})
        uow.commit()
