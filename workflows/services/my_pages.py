"""The applicant's own page (`/my`, SPEC §13): its organisation, its applications with their eligibility
in words, its exchanges (as visitor or host) with a timeline of each stage and every decision about
them with its reasons in words — eligibility, assessment, match, dates, working days, grant, payment —
the tasks waiting for it and the requests it may make. Only the principal's own organisation is read
(`access.application_scope`, `access.exchange_scope`)."""
from __future__ import annotations

import re
from datetime import date, datetime

from pydantic import BaseModel
from sqlalchemy import select

from reports.labels import day_reason
from workflows.app import App
from workflows.db.models import Application, Claim, Exchange, MatchProposal, Organisation, Partnership
from workflows.db.process_models import AuditEvent
from workflows.services import Invalid, access
from workflows.services.access import Principal
from workflows.services.application_inputs import ApplicationOut
from workflows.services.outputs import TaskOut
from workflows.uow import UnitOfWork

DECIDING_TASKS = {"assess_application": "Assessment", "visitor_accept_match": "Your answer to the match",
                  "host_accept_match": "The host's answer to the match", "validate_evidence": "Evidence check",
                  "decide_extension": "Extension", "approve_payment": "Payment approval"}
# what a form's `decision` says, for a person
DECISION_WORDS = {"approve": "approved", "reject": "rejected", "accept": "accepted", "return": "returned for correction",
                  "request_info": "more information asked for"}


class OrganisationOut(BaseModel):
    legal_name: str
    legal_id: str
    country: str
    city: str
    partnership: str
    active: bool
    registration_status: str = "approved"  # RegistrationStatus; imported organisations are approved
    # where the registration stands, in words, and what to do (None once approved: it may apply)
    registration_note: str | None = None


class StepOut(BaseModel):
    status: str
    at: datetime


class DecisionOut(BaseModel):
    what: str
    outcome: str
    reasons: list[str]
    at: datetime | None = None


class ExchangeSummaryOut(BaseModel):
    ref: str
    role: str
    status: str
    other_side: str | None
    arrival: date | None
    departure: date | None
    timeline: list[StepOut]
    decisions: list[DecisionOut]
    may_cancel: bool
    may_extend: bool


class MyPageOut(BaseModel):
    organisation: OrganisationOut | None
    applications: list[ApplicationOut]
    exchanges: list[ExchangeSummaryOut]
    tasks: list[TaskOut]


def _events(uow: UnitOfWork, ref: str) -> list[AuditEvent]:
    return list(uow.session.scalars(select(AuditEvent).where(
        AuditEvent.subject == ref, AuditEvent.action.in_(("exchange_status", "task_completed")))
        .order_by(AuditEvent.id)))


def _task_decision(event: AuditEvent) -> DecisionOut | None:
    form = (event.data_after or {}).get("form") or {}
    what = DECIDING_TASKS.get(event.task or "")
    if what is None:
        return None
    if "accept" in form and "decision" not in form:
        outcome = "accepted" if form.get("accept") else "declined"
    else:
        outcome = DECISION_WORDS.get(str(form.get("decision")), str(form.get("decision") or "done"))
    reasons = [str(form[k]) for k in ("comment", "reason") if form.get(k)]
    return DecisionOut(what=what, outcome=outcome, reasons=reasons, at=event.occurred_at)


def _decisions(uow: UnitOfWork, exchange: Exchange, events: list[AuditEvent]) -> list[DecisionOut]:
    from workflows.services.application_inputs import eligibility_out

    out: list[DecisionOut] = []
    application = uow.session.get(Application, exchange.visitor_application_id)
    if application is not None and application.eligibility is not None:
        e = eligibility_out(application.status, application.eligibility, "visitor")
        out.append(DecisionOut(what="Eligibility", outcome="eligible" if e.eligible else "not eligible",
                               reasons=[f"{r.text} {r.action}".strip() for r in e.reasons] or [e.summary]))
    out.extend(d for d in (_task_decision(ev) for ev in events if ev.action == "task_completed") if d)
    if exchange.proposal_id is not None:
        proposal = uow.session.get(MatchProposal, exchange.proposal_id)
        if proposal is not None:
            out.append(DecisionOut(what="Match", outcome=f"proposed with a fit score of {proposal.score}",
                                   reasons=list((proposal.explanation or {}).get("reasons", [])), at=proposal.created_at))
    if exchange.arrival and exchange.departure:
        out.append(DecisionOut(what="Dates", outcome=f"{exchange.arrival} to {exchange.departure}", reasons=[]))
    if exchange.working_days:
        wd = exchange.working_days
        excluded = [f"{day}: {day_reason(why)}" for day, why in sorted((wd.get("excluded") or {}).items())]
        out.append(DecisionOut(what="Working days", outcome=f"{wd.get('working_days')} counted",
                               reasons=[*(wd.get("notes") or []), *excluded]))
    claim = uow.session.scalars(select(Claim).where(Claim.exchange_id == exchange.id)).first()
    if claim is not None:
        computation = claim.computation or {}
        out.append(DecisionOut(what="Grant", outcome=f"EUR {claim.amount:.2f}",
                               reasons=list(computation.get("messages") or computation.get("reasons") or [])))
        if claim.status == "paid":
            out.append(DecisionOut(what="Payment", outcome="sent", reasons=[], at=claim.paid_at))
        elif claim.status in ("rejected", "held", "released", "waiting_budget"):
            out.append(DecisionOut(what="Payment", outcome=claim.status.replace("_", " "),
                                   reasons=[claim.status_reason] if claim.status_reason else []))
    return out


def _summary(uow: UnitOfWork, principal: Principal, exchange: Exchange) -> ExchangeSummaryOut:
    from workflows.programme import ENDED

    visitor = exchange.visitor_org_id == principal.organisation_id
    other_id = exchange.host_org_id if visitor else exchange.visitor_org_id
    other = uow.session.get(Organisation, other_id) if other_id else None
    events = _events(uow, exchange.ref)
    timeline = [StepOut(status="submitted", at=exchange.created_at)] + [
        StepOut(status=str((e.data_after or {}).get("status")), at=e.occurred_at)
        for e in events if e.action == "exchange_status"]
    running = exchange.status not in ENDED
    return ExchangeSummaryOut(
        ref=exchange.ref, role="visitor" if visitor else "host", status=exchange.status,
        other_side=other.legal_name if other else None, arrival=exchange.arrival, departure=exchange.departure,
        timeline=timeline, decisions=_decisions(uow, exchange, events),
        may_cancel=running and exchange.status in ("visit_planned",),
        may_extend=running and exchange.status in ("matched", "visit_planned"))


def my_page(app: App, principal: Principal) -> MyPageOut:
    """Everything of the principal's own organisation (an applicant); the page of another role is empty."""
    from workflows.services.applications import application_out
    from workflows.services.inbox import list_tasks

    with app.uow() as uow:
        org = uow.session.get(Organisation, principal.organisation_id) if principal.organisation_id else None
        organisation = None
        if org is not None and principal.role == "applicant":
            partnership = uow.session.get(Partnership, org.partnership_id) if org.partnership_id else None
            from workflows.services.registrations import refusal

            note = refusal(uow, org)
            organisation = OrganisationOut(legal_name=org.legal_name, legal_id=org.legal_id, country=org.country,
                                           city=org.city, partnership=partnership.name if partnership else "",
                                           active=org.active, registration_status=org.registration_status,
                                           registration_note=f"This organisation may not apply yet: {note}." if note
                                           else None)
        mine = principal.role == "applicant" and org is not None
        applications = [application_out(uow, row) for row in uow.session.scalars(
            select(Application).where(access.application_scope(principal)).order_by(Application.id.desc())
            .limit(100))] if mine else []
        exchanges = [_summary(uow, principal, row) for row in uow.session.scalars(
            select(Exchange).where(access.exchange_scope(principal)).order_by(Exchange.id.desc()).limit(100))] if mine else []
    tasks = list_tasks(app, principal, page_size=50).tasks if mine else []
    return MyPageOut(organisation=organisation, applications=applications, exchanges=exchanges, tasks=tasks)



SUBJECT = re.compile(r"^(EX-[0-9]{1,12}|application:[0-9]{1,12})$")
TASK_ID = re.compile(r"^[a-z][a-z0-9_]{0,79}$")


def where_to_act(app: App, principal: Principal, subject: str, task: str | None = None) -> str:
    """The page an email's link (`tasks.portal.act_path`) opens for the signed-in person: the open task
    `task` of `subject` when it waits for them (their inbox: their organisation's or lane's), else the
    first open task of `subject` that does, else the subject's own page — the application's, the exchange
    on /my for an applicant, the exchange's page for staff. Never another organisation's record: an
    unknown or foreign subject leads to /my (or the inbox)."""
    from workflows.services.inbox import list_tasks

    if not SUBJECT.match(subject or ""):
        raise Invalid.field("subject", "must be an exchange reference (EX-…) or application:<id>")
    if task is not None and not TASK_ID.match(task):
        raise Invalid.field("task", "must be a task id such as submit_evidence")
    waiting = [t for t in list_tasks(app, principal, task=task, page_size=200).tasks if t.subject == subject]
    if not waiting and task is not None:  # a later step than the email announced: whatever of it waits now
        waiting = [t for t in list_tasks(app, principal, page_size=200).tasks if t.subject == subject]
    if waiting:
        return f"/tasks/{waiting[0].id}"
    with app.uow() as uow:
        if subject.startswith("application:"):
            row = uow.session.get(Application, int(subject.partition(":")[2]))
            if row is not None and access.sees_application(principal, row):
                return f"/my/applications/{row.id}" if principal.role == "applicant" else "/tasks"
        else:
            exchange = uow.session.scalars(select(Exchange).where(Exchange.ref == subject,
                                                                  access.exchange_scope(principal))).first()
            if exchange is not None:
                return f"/my#ex-{exchange.ref}" if principal.role == "applicant" else f"/exchanges/{exchange.ref}"
    return "/my" if principal.role == "applicant" else "/tasks"
