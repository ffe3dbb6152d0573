"""What people do to a running exchange outside its task list: ask for an extension, decide it,
discontinue the visit, or cancel the exchange (`cxp exchange ...`).

- An extension is asked for by the visitor, the host or an officer of either partnership during the
  visit (the `extension_requested` message); the new total stay must fit R-DUR's one month. The host
  consents and an officer decides (the `decide_extension` task, also reachable by the exchange's
  reference).
- During the visit a cancellation is a *discontinuation*: the process goes on to the closing report,
  as SPEC §4 asks (the `cancellation_requested` message).
- At any other stage an officer of the visitor's or the host's partnership (or an administrator)
  *cancels* the exchange: its process ends now as `end_cancelled`, its open tasks and timers with it,
  any budget it committed is released and a match proposal waiting for its answers is withdrawn. An
  exchange whose payment is approved, batched or paid is not cancelled: the bank file may be out.

Every refusal — who may not act, a conflict of interest declared with one of the organisations
(R-4EYES) — is audited; every action is audited with its reason.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, update

from rules.duration import latest_departure
from rules.four_eyes import ActionContext, check_action
from workflows.app import App
from workflows.db.models import Application, Claim, ClaimStatus, ConflictDeclaration, Exchange, MatchProposal, User
from workflows.db.process_models import HumanTask
from workflows.services import NotFound, PermissionDenied, ServiceError
from workflows.services.inbox import actor_of, complete_task, get_user
from workflows.services.lifecycle import _settle, deliver, instance_for
from workflows.uow import UnitOfWork

# Claims in these states are on their way to the bank (or there): the exchange cannot be cancelled.
PAYING = (ClaimStatus.APPROVED, ClaimStatus.HELD, ClaimStatus.BATCHED, ClaimStatus.REJECTED, ClaimStatus.PAID)


def _exchange(uow: UnitOfWork, ref: str) -> Exchange:
    exchange = uow.session.scalars(select(Exchange).where(Exchange.ref == ref)).first()
    if exchange is None:
        raise NotFound(f"exchange: no exchange '{ref}'")
    return exchange


def _refuse(app: App, user: User, exchange: Exchange, request: str, reason: str) -> None:
    with app.uow() as audit_uow:
        audit_uow.audit(actor_of(user), "request_refused", subject=exchange.ref,
                        after={"request": request, "reason": reason})
        audit_uow.commit()
    raise PermissionDenied(reason)


def _may_act(app: App, uow: UnitOfWork, user: User, exchange: Exchange, request: str,
             applicants: bool = True) -> None:
    """The two organisations (when `applicants`) and their partnerships' officers may ask; an officer
    who declared a conflict of interest with either organisation may not (R-4EYES)."""
    orgs = frozenset(o for o in (exchange.visitor_org_id, exchange.host_org_id) if o is not None)
    if user.role == "applicant" and applicants and user.organisation_id in orgs:
        return
    if user.role == "administrator" or (user.role == "officer" and user.partnership_id in (
            exchange.visitor_partnership_id, exchange.host_partnership_id)):
        conflicts = frozenset(uow.session.scalars(select(ConflictDeclaration.organisation_id).where(
            ConflictDeclaration.user_id == user.id)))
        decision = check_action(ActionContext(action="cancel_exchange", actor_id=user.id, file_org_ids=orgs,
                                              actor_conflicts=conflicts))
        if decision.ok:
            return
        _refuse(app, user, exchange, request, " ".join(r.message for r in decision.reasons))
    who = "the exchange's partnership officers" + (" and organisations" if applicants else "")
    _refuse(app, user, exchange, request, f"{user.username} may not act on exchange {exchange.ref}: only {who} may")


def request_extension(app: App, ref: str, username: str, new_departure: date, reason: str) -> dict[str, Any]:
    """The visitor, the host or an officer asks to extend the stay; the host consents, an officer decides."""
    if not reason.strip():
        raise ServiceError("reason: an extension needs a reason")
    with app.uow() as uow:
        exchange, user = _exchange(uow, ref), get_user(uow, username)
        _may_act(app, uow, user, exchange, "extension")
        if exchange.departure and new_departure <= exchange.departure:
            raise ServiceError(f"departure: {new_departure} is not after the planned departure {exchange.departure}")
        if exchange.arrival is not None:
            programme_rules = _rule_set(uow, exchange)
            latest = latest_departure(exchange.arrival, programme_rules)
            if new_departure > latest:
                raise ServiceError(f"departure: {new_departure} would make the stay from {exchange.arrival} longer "
                                   f"than {programme_rules.max_stay_months} month(s) (R-DUR); the latest departure "
                                   f"is {latest}")
        uow.audit(actor_of(user), "extension_requested", subject=ref,
                  after={"departure": new_departure, "reason": reason})
        deliver(app, uow, instance_for(uow, "exchange", exchange.id), "extension_requested",
                {"extension_departure": new_departure.isoformat(), "extension_reason": reason})
        uow.commit()
        return {"exchange": ref, "requested_departure": new_departure.isoformat(), "status": "requested"}


def _rule_set(uow: UnitOfWork, exchange: Exchange) -> Any:
    from workflows.programme import Programme

    return Programme(uow.session, uow.now(), None).rule_set_for_exchange(exchange.id)


def decide_extension(app: App, ref: str, username: str, approve: bool, comment: str | None) -> dict[str, Any]:
    """Complete the exchange's open `decide_extension` task (the same checks as `cxp task complete`)."""
    with app.uow() as uow:
        instance = instance_for(uow, "exchange", _exchange(uow, ref).id)
        task_id = uow.session.scalars(select(HumanTask.id).where(
            HumanTask.instance_id == instance.id, HumanTask.task_spec == "decide_extension",
            HumanTask.status == "open")).first()
    if task_id is None:
        raise ServiceError(f"exchange {ref} has no extension waiting for a decision")
    result = complete_task(app, task_id, username, {"approve": approve, "comment": comment})
    return {"exchange": ref, "task": task_id, "approved": approve, "instance_status": result["instance_status"]}


def cancel_exchange(app: App, ref: str, username: str, reason: str) -> dict[str, Any]:
    """Discontinue the visit (the closing report is still asked for) or cancel the exchange now."""
    if not reason.strip():
        raise ServiceError("reason: a cancellation needs a reason")
    with app.uow() as uow:
        exchange, user = _exchange(uow, ref), get_user(uow, username)
        instance = instance_for(uow, "exchange", exchange.id)
        if "cancellation_requested" in (instance.waiting_messages or []):
            _may_act(app, uow, user, exchange, "cancellation")
            uow.audit(actor_of(user), "cancellation_requested", subject=ref, instance_id=instance.id,
                      after={"reason": reason})
            deliver(app, uow, instance, "cancellation_requested", {"cancellation_reason": reason})
            uow.commit()
            return {"exchange": ref, "action": "discontinued", "status": exchange.status}
        _may_act(app, uow, user, exchange, "cancellation", applicants=False)
        if instance.status == "completed":
            raise ServiceError(f"exchange {ref} has already ended ({exchange.status}); there is nothing to cancel")
        claim = uow.session.scalars(select(Claim).where(Claim.exchange_id == exchange.id)).first()
        if claim is not None and claim.status in PAYING:
            raise ServiceError(f"exchange {ref} cannot be cancelled: its payment is {claim.status}; "
                               "a payment on its way to the bank is stopped with the bank, not here")
        stage = exchange.status
        _release(uow, exchange, claim, reason)
        uow.audit(actor_of(user), "exchange_cancelled", subject=ref, instance_id=instance.id,
                  after={"reason": reason, "stage": stage})
        _settle(app, uow, app.engine.terminate(uow, instance, "end_cancelled", actor_of(user), reason))
        uow.commit()
        return {"exchange": ref, "action": "cancelled", "stage": stage, "status": exchange.status}


def _release(uow: UnitOfWork, exchange: Exchange, claim: Claim | None, reason: str) -> None:
    """What a cancelled exchange held: its budget commitment, a proposal waiting for answers."""
    exchange.cancelled = True
    if claim is not None:
        claim.status, claim.status_reason = ClaimStatus.RELEASED, f"cancelled: {reason}"[:300]
    uow.session.execute(update(MatchProposal).where(
        MatchProposal.visitor_application_id == exchange.visitor_application_id,
        MatchProposal.status.in_(("proposed", "sent"))).values(status="withdrawn"))
    application = uow.session.get(Application, exchange.visitor_application_id)
    application.status = "cancelled"
