"""Reading calls as the administration sees them: every call (drafts too) with its budget, and one
call with its waiting grants, its exchanges by status and its history — who changed what, when and
why (the audit events about the call and those of its process)."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select

from workflows.app import App
from workflows.db.models import Call, Exchange, Organisation
from workflows.db.process_models import AuditEvent, ProcessInstance
from workflows.services import NotFound, access
from workflows.services.access import Principal
from workflows.services.admin_outputs import (
    CallDetailOut,
    CallFormChoicesOut,
    CallOut,
    CallRowOut,
    EventOut,
    HistoryEntryOut,
    WaitingGrantOut,
)
from workflows.services.calls import budget_of, waiting_grants
from workflows.uow import UnitOfWork


def call_out(call: Call) -> CallOut:
    lead = call.lead_partnership.code
    others = sorted(p.code for p in call.partnerships if p.code != lead)
    return CallOut(
        code=call.code, title=call.title, status=call.status, lead_partnership=lead, partnerships=[lead, *others],
        opens_on=call.opens_on, closes_on=call.closes_on, matching_deadline=call.matching_deadline,
        budget=call.budget.quantize(Decimal("0.01")), formats=list(call.formats or []),
        rule_set_version=call.rule_set_version,
        events=[EventOut(kind=e.kind, title=e.title, starts_on=e.starts_on, ends_on=e.ends_on, place=e.place)
                for e in call.events],
        published_at=call.published_at, closed_at=call.closed_at, closed_reason=call.closed_reason,
        editable=call.status == "draft")


def find_call(uow: UnitOfWork, code: str, lock: bool = False) -> Call:
    query = select(Call).where(Call.code == str(code).strip().upper())
    call = None if "\x00" in code else uow.session.scalars(query.with_for_update() if lock else query).first()
    if call is None:
        raise NotFound(f"call: no call '{code}'")
    return call


def list_calls(app: App, principal: Principal) -> list[CallRowOut]:
    """Every call, drafts included, newest opening first, with its budget (administrators, auditors)."""
    access.require_programme_reader(app, None, principal, "list the calls with their drafts")
    with app.uow() as uow:
        calls = uow.session.scalars(select(Call).order_by(Call.opens_on.desc(), Call.code)).all()
        return [CallRowOut(call=call_out(c), budget=budget_of(uow, c)) for c in calls]


def call_instance(uow: UnitOfWork, call: Call) -> ProcessInstance | None:
    return uow.session.scalars(select(ProcessInstance).where(
        ProcessInstance.subject_type == "call", ProcessInstance.subject_id == call.id)
        .order_by(ProcessInstance.id.desc())).first()


def call_detail(app: App, principal: Principal, code: str) -> CallDetailOut:
    """One call: its values, budget, waiting grants, exchanges by status and history."""
    access.require_programme_reader(app, None, principal, f"read call {code} with its history",
                                    subject=f"call:{code}"[:60])
    with app.uow() as uow:
        detail = detail_of(uow, find_call(uow, code))
    return detail.model_copy(update={"may_change": access.manages_programme(principal)})


def call_form_choices(app: App, principal: Principal) -> CallFormChoicesOut:
    """The partnerships and rule-set versions a call's form offers (for whoever may create a call)."""
    from workflows.db.models import Partnership, RuleSetRecord

    access.require_programme_admin(app, None, principal, "create or change a call", subject="call:form")
    with app.uow() as uow:
        return CallFormChoicesOut(
            partnerships=list(uow.session.scalars(select(Partnership.code).order_by(Partnership.code))),
            rule_set_versions=list(uow.session.scalars(select(RuleSetRecord.version).order_by(
                RuleSetRecord.created_at.desc(), RuleSetRecord.version.desc()))))


def detail_of(uow: UnitOfWork, call: Call) -> CallDetailOut:
    instance = call_instance(uow, call)
    names = dict(uow.session.execute(select(Exchange.ref, Organisation.legal_name).join(
        Organisation, Organisation.id == Exchange.visitor_org_id).where(Exchange.call_id == call.id)).all())
    waiting = [WaitingGrantOut(exchange=ref, organisation=names.get(ref, ""), amount=claim.amount,
                               since=claim.created_at) for claim, ref in waiting_grants(uow, call.id)]
    by_status = dict(uow.session.execute(select(Exchange.status, func.count()).where(
        Exchange.call_id == call.id).group_by(Exchange.status)).all())
    return CallDetailOut(call=call_out(call), budget=budget_of(uow, call), waiting=waiting,
                         exchanges_by_status={k: int(v) for k, v in sorted(by_status.items())},
                         instance_id=instance.id if instance else None, history=history(uow, call, instance))


def history(uow: UnitOfWork, call: Call, instance: ProcessInstance | None) -> list[HistoryEntryOut]:
    """The audit events about the call (`call:CODE`) and those of its process, oldest first."""
    about = [AuditEvent.subject == f"call:{call.code}"]
    if instance is not None:
        about.append(AuditEvent.instance_id == instance.id)
    events = uow.session.scalars(select(AuditEvent).where(
        or_(*about), AuditEvent.action.not_in(("service_task", "task_created"))).order_by(AuditEvent.id))
    return [HistoryEntryOut(at=e.occurred_at, actor=e.actor, role=e.actor_role or "", action=e.action,
                            what=describe(e.action, e.data_before or {}, e.data_after or {}, e.task),
                            reason=(e.data_after or {}).get("reason") if isinstance(e.data_after, dict) else None)
            for e in events]


WORDS = {
    "call_created": "created the call as a draft",
    "call_published": "published the call",
    "process_started": "started the call's process",
    "process_completed": "the call's process ended",
    "task_cancelled": "a task of the call was cancelled",
    "call_closed_early": "closed the call early",
    "call_report": "wrote the call report",
    "matching_round": "ran a matching round",
    "process_terminated": "ended the call's process",
}


def describe(action: str, before: Mapping[str, Any], after: Mapping[str, Any], task: str | None) -> str:
    """The change in words, for the call's history."""
    if action in ("call_budget_raised", "call_budget_lowered"):
        verb = "raised" if action == "call_budget_raised" else "lowered"
        return f"{verb} the budget from EUR {before.get('budget')} to EUR {after.get('budget')}"
    if action == "call_updated":
        return "changed " + ", ".join(sorted(after.get("changes", {}))) if after.get("changes") else "changed the draft"
    if action == "call_status":
        return f"status {before.get('status')} → {after.get('status')}"
    if action == access.ADMIN_REFUSED:
        return f"was refused: {after.get('reason', '')}"
    if action == "task_completed":
        return f"completed the task {task}"
    return WORDS.get(action, action.replace("_", " "))
