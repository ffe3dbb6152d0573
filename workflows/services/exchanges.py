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
  any budget it committed is released (and offered to the grants waiting for budget, in their order)
  and a match proposal waiting for its answers is withdrawn. An
  exchange whose payment is approved, batched or paid is not cancelled: the bank file may be out.

Every refusal — who may not act, a conflict of interest declared with one of the organisations
(R-4EYES) — is audited; every action is audited with its reason.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from rules.duration import latest_departure
from workflows.app import App
from workflows.db.base import must_get
from workflows.db.models import Application, Claim, ClaimStatus, Exchange, MatchProposal
from workflows.db.process_models import AuditEvent, HumanTask
from workflows.services import FieldError, Invalid, ServiceError, access
from workflows.services.access import Principal
from workflows.services.inbox import complete_task
from workflows.services.lifecycle import deliver, instance_for, settle
from workflows.services.outputs import CancellationOut, ExchangeActionsOut, ExtensionDecisionOut, ExtensionRequestOut
from workflows.uow import UnitOfWork

# Claims in these states are on their way to the bank (or there): the exchange cannot be cancelled.
PAYING = (ClaimStatus.APPROVED, ClaimStatus.HELD, ClaimStatus.BATCHED, ClaimStatus.REJECTED, ClaimStatus.PAID)


def _may_act(app: App, uow: UnitOfWork, principal: Principal, exchange: Exchange, request: str,
             applicants: bool = True) -> None:
    """Refuse (audited as `request_refused`) unless `access.exchange_action_problem` lets it through."""
    problem = access.exchange_action_problem(uow, principal, exchange, applicants)
    if problem:
        access.refuse(app, uow, principal, problem, "request_refused", subject=exchange.ref,
                      after={"request": request})


def request_extension(app: App, ref: str, principal: Principal, new_departure: date,
                      reason: str) -> ExtensionRequestOut:
    """The visitor, the host or an officer asks to extend the stay; the host consents, an officer decides."""
    if not reason.strip():
        raise Invalid.field("reason", "an extension needs a reason")
    with app.uow() as uow:
        exchange = access.visible_exchange(uow, principal, ref)
        _may_act(app, uow, principal, exchange, "extension")
        if exchange.departure and new_departure <= exchange.departure:
            raise Invalid.field("departure", f"{new_departure} is not after the planned departure {exchange.departure}")
        if exchange.arrival is not None:
            programme_rules = _rule_set(uow, exchange)
            latest = latest_departure(exchange.arrival, programme_rules)
            if new_departure > latest:
                raise Invalid.field("departure", f"{new_departure} would make the stay from {exchange.arrival} "
                                    f"longer than {programme_rules.max_stay_months} month(s) (R-DUR); the latest "
                                    f"departure is {latest}")
        uow.audit(principal.actor, "extension_requested", subject=exchange.ref,
                  after={"departure": new_departure, "reason": reason})
        deliver(app, uow, instance_for(uow, "exchange", exchange.id), "extension_requested",
                {"extension_departure": new_departure.isoformat(), "extension_reason": reason,
                 "extension_consent_due": _consent_due(uow.now(), exchange.departure)})
        uow.commit()
        return ExtensionRequestOut(exchange=exchange.ref, requested_departure=new_departure, status="requested")


def _consent_due(now: datetime, departure: date | None) -> str:
    """When the host's consent to an extension is due: the evening before the planned departure, so that
    the visitor knows before leaving whether to stay (the evening of the request when that is later)."""
    from tasks.exchange_services import BRUSSELS, end_of_day

    today = now.astimezone(BRUSSELS).date()
    return end_of_day(max(today, departure - timedelta(days=1)) if departure else today)


def _rule_set(uow: UnitOfWork, exchange: Exchange) -> Any:
    from workflows.programme import Programme

    return Programme(uow.session, uow.now(), None).rule_set_for_exchange(exchange.id)


def decide_extension(app: App, ref: str, principal: Principal, approve: bool,
                     comment: str | None) -> ExtensionDecisionOut:
    """Complete the exchange's open `decide_extension` task (the same checks as `cxp task complete`)."""
    with app.uow() as uow:
        exchange = access.visible_exchange(uow, principal, ref)
        _may_act(app, uow, principal, exchange, "extension_decision", applicants=False)
        instance = instance_for(uow, "exchange", exchange.id)
        task_id = uow.session.scalars(select(HumanTask.id).where(
            HumanTask.instance_id == instance.id, HumanTask.task_spec == "decide_extension",
            HumanTask.status == "open")).first()
        ref = exchange.ref
    if task_id is None:
        message = f"exchange {ref} has no extension waiting for a decision"
        raise Invalid(message, [FieldError(("exchange",), message)])
    result = complete_task(app, task_id, principal, {"approve": approve, "comment": comment})
    return ExtensionDecisionOut(exchange=ref, task=task_id, approved=approve, instance_status=result.instance_status)


def cancel_exchange(app: App, ref: str, principal: Principal, reason: str) -> CancellationOut:
    """Discontinue the visit (the closing report is still asked for) or cancel the exchange now."""
    if not reason.strip():
        raise Invalid.field("reason", "a cancellation needs a reason")
    with app.uow() as uow:
        exchange = access.visible_exchange(uow, principal, ref)
        ref = exchange.ref
        instance = instance_for(uow, "exchange", exchange.id)
        if "cancellation_requested" in (instance.waiting_messages or []):
            _may_act(app, uow, principal, exchange, "cancellation")
            uow.audit(principal.actor, "cancellation_requested", subject=ref, instance_id=instance.id,
                      after={"reason": reason})
            deliver(app, uow, instance, "cancellation_requested", {"cancellation_reason": reason})
            uow.commit()
            return CancellationOut(exchange=ref, action="discontinued", status=exchange.status)
        _may_act(app, uow, principal, exchange, "cancellation", applicants=False)
        if instance.status == "completed":
            raise ServiceError(f"exchange {ref} has already ended ({exchange.status}); there is nothing to cancel")
        claim = uow.session.scalars(select(Claim).where(Claim.exchange_id == exchange.id)).first()
        if claim is not None and claim.status in PAYING:
            raise ServiceError(f"exchange {ref} cannot be cancelled: its payment is {claim.status}; "
                               "a payment on its way to the bank is stopped with the bank, not here")
        stage = exchange.status
        freed = claim is not None and claim.status == ClaimStatus.COMMITTED
        freed = _release(uow, exchange, claim, reason) or freed
        uow.audit(principal.actor, "exchange_cancelled", subject=ref, instance_id=instance.id,
                  after={"reason": reason, "stage": stage})
        settle(app, uow, app.engine.terminate(uow, instance, "end_cancelled", principal.actor, reason))
        if freed:  # the released commitment goes to the grants waiting for budget, in their order
            from workflows.db.models import Call
            from workflows.services.calls import offer_budget

            offer_budget(app, uow, must_get(uow.session, Call, exchange.call_id))
        uow.commit()
        return CancellationOut(exchange=ref, action="cancelled", stage=stage, status=exchange.status)


def _release(uow: UnitOfWork, exchange: Exchange, claim: Claim | None, reason: str) -> bool:
    """What a cancelled exchange held: its budget commitment or reservation (whether there was a
    reservation: a step killed after reserving), a proposal waiting for answers."""
    from workflows.budget import release

    exchange.cancelled = True
    if claim is not None:
        claim.status, claim.status_reason = ClaimStatus.RELEASED, f"cancelled: {reason}"[:300]
    uow.session.execute(update(MatchProposal).where(
        MatchProposal.visitor_application_id == exchange.visitor_application_id,
        MatchProposal.status.in_(("proposed", "sent"))).values(status="withdrawn"))
    application = must_get(uow.session, Application, exchange.visitor_application_id)
    application.status = "cancelled"
    return release(uow.session, exchange.id)


def exchange_actions(app: App, principal: Principal, ref: str) -> ExchangeActionsOut:
    """Which of the actions above the principal may take on the exchange now (the page's forms),
    judged by the same checks the actions make; nothing is audited (asking is not acting)."""
    with app.uow() as uow:
        exchange = access.visible_exchange(uow, principal, ref)
        instance = instance_for(uow, "exchange", exchange.id)
        running = instance.status != "completed"
        waiting = instance.waiting_messages or []
        as_officer = access.exchange_action_problem(uow, principal, exchange, applicants=False) is None
        as_party = access.exchange_action_problem(uow, principal, exchange) is None
        claim = uow.session.scalars(select(Claim).where(Claim.exchange_id == exchange.id)).first()
        paying = claim is not None and claim.status in PAYING
        decision = uow.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.task_spec == "decide_extension",
            HumanTask.status == "open")).first()
        asked = uow.session.scalars(select(AuditEvent).where(
            AuditEvent.subject == exchange.ref, AuditEvent.action == "extension_requested")
            .order_by(AuditEvent.id.desc())).first() if decision is not None else None
        return ExchangeActionsOut(
            may_cancel=running and not paying and (as_officer or (
                as_party and "cancellation_requested" in waiting)),
            discontinues="cancellation_requested" in waiting,
            may_request_extension=running and as_party and "extension_requested" in waiting,
            extension_awaiting_decision=decision is not None,
            may_decide_extension=decision is not None and as_officer,
            requested_departure=(asked.data_after or {}).get("departure") if asked is not None else None,
            requested_reason=(asked.data_after or {}).get("reason") if asked is not None else None,
            departure=exchange.departure)
