"""Calls as an administrator manages them (SPEC §14): create a draft, change it while it is a draft,
publish it, close it early with a reason. Only administrators (and the operator at the console) act;
a refusal is audited; every change is audited with who, when and why and shown on the call's history.

- **Publish** starts the call's `call` process (or takes the one `cxp import` started) and completes
  its `prepare_call` step as the publishing administrator, in one transaction: the process's
  `publish_call` step marks the call published and emails the officers. From then on the call's
  windows, formats, rule set and events no longer change (`update_call` answers a conflict); its
  budget still does (`workflows.services.calls`).
- **Close early** ends what cannot go on without the call, in one transaction: every exchange not
  yet matched (submitted, assessed, waiting for a match or for the answers to a proposal) ends now as
  `not_matched` (outcome `end_call_closed`), its open tasks and timers with it and any proposal
  withdrawn; a host offer not yet decided ends too; each organisation is told why by email. Exchanges
  matched or beyond go on to their own end (their visit, evidence and payment stand). The call report
  is written now, and the call's process ends (`end_closed_early`)."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tasks.portal import act_path
from workflows import outbox
from workflows.app import App
from workflows.audit import jsonable
from workflows.db.models import Application, Call, CallEvent, Exchange, MatchProposal, Organisation, Partnership
from workflows.db.process_models import HumanTask, ProcessInstance
from workflows.services import Conflict, Invalid, access
from workflows.services.access import Principal
from workflows.services.admin_outputs import CallClosedOut, CallDetailOut
from workflows.services.call_inputs import CallIn, CallPatch, check_call, check_reason, validate_call
from workflows.services.call_views import call_instance, detail_of, find_call
from workflows.services.calls import lost_race_is_conflict
from workflows.uow import UnitOfWork

FROZEN = "its windows, formats, rule set and events no longer change (its budget does: POST /api/calls/{code}/budget)"
CALL_CLOSED = "end_call_closed"  # the outcome of an application ended by an early close


def _today(uow: UnitOfWork) -> date:
    from workflows.programme import BRUSSELS

    return uow.now().astimezone(BRUSSELS).date()


def _values(call: Call) -> dict[str, Any]:
    """A call's values as `check_call` takes them (and its history records them)."""
    lead = call.lead_partnership.code
    return {"title": call.title, "lead_partnership": lead,
            "partnerships": sorted(p.code for p in call.partnerships if p.code != lead),
            "opens_on": call.opens_on, "closes_on": call.closes_on, "matching_deadline": call.matching_deadline,
            "budget": call.budget, "formats": list(call.formats or []), "rule_set_version": call.rule_set_version,
            "events": [{"kind": e.kind, "title": e.title, "starts_on": e.starts_on, "ends_on": e.ends_on,
                        "place": e.place} for e in call.events]}


def _events(values: Mapping[str, Any]) -> list[CallEvent]:
    return [CallEvent(**(e if isinstance(e, Mapping) else e.model_dump())) for e in values.get("events") or []]


def create_call(app: App, principal: Principal, data: Any) -> CallDetailOut:
    """A new call, kept as a draft; every field checked, each problem named (nothing written)."""
    with app.uow() as uow:
        uow.write_lock()
        access.require_programme_admin(app, uow, principal, "create a call", subject="call:new")
        given, checked, values = validate_call(uow.session, CallIn, data, _today(uow))
        members = [uow.session.get(Partnership, i) for i in [checked.lead_id, *checked.partnership_ids]]
        call = Call(code=given.code, title=given.title, lead_partnership_id=checked.lead_id, opens_on=given.opens_on,
                    closes_on=given.closes_on, matching_deadline=given.matching_deadline, budget=given.budget,
                    rule_set_version=given.rule_set_version, formats=list(given.formats), status="draft",
                    partnerships=[p for p in members if p is not None], events=_events(values))
        uow.session.add(call)
        try:
            uow.session.flush()
        except IntegrityError:  # another administrator took the code meanwhile
            raise Conflict(f"call {given.code} was created by someone else meanwhile; nothing was written") from None
        uow.audit(principal.actor, "call_created", subject=f"call:{call.code}", after=jsonable(_values(call)))
        return _committed(uow, call)


def update_call(app: App, principal: Principal, code: str, data: Any) -> CallDetailOut:
    """Change the given fields of a draft (`events` replaces the list); a published call: conflict."""
    with app.uow() as uow:
        uow.write_lock()
        access.require_programme_admin(app, uow, principal, f"change call {code}", subject=f"call:{code}"[:60])
        call = find_call(uow, code, lock=True)
        if call.status != "draft":
            raise Conflict(f"call {call.code} is {call.status}: " + FROZEN.format(code=call.code))
        before = _values(call)
        _, checked, patch = validate_call(uow.session, CallPatch, data, _today(uow), base=before)
        if not patch:
            raise Invalid.field("body", "give at least one field of the call to change")
        merged = {**before, **patch}
        changes = sorted(k for k in patch if jsonable(merged[k]) != jsonable(before[k]))
        if not changes:
            raise Invalid.field("body", "nothing changes: every field given already has that value")
        for name in ("title", "opens_on", "closes_on", "matching_deadline", "budget", "formats", "rule_set_version"):
            setattr(call, name, merged[name])
        call.lead_partnership_id = checked.lead_id
        call.partnerships = [p for p in (uow.session.get(Partnership, i)
                                         for i in [checked.lead_id, *checked.partnership_ids]) if p is not None]
        if "events" in changes:
            for event in list(call.events):
                uow.session.delete(event)
            call.events = _events(merged)
        uow.audit(principal.actor, "call_updated", subject=f"call:{call.code}",
                  before=jsonable({k: before[k] for k in changes}),
                  after=jsonable({"changes": {k: merged[k] for k in changes}}))
        return _committed(uow, call)


@lost_race_is_conflict
def publish_call(app: App, principal: Principal, code: str, note: str | None = None) -> CallDetailOut:
    """Publish a draft: its `call` process starts (or goes on from `prepare_call`), the officers are
    emailed, and its windows, formats and rule set are frozen."""
    from workflows.services.lifecycle import complete, start

    with app.uow() as uow:
        uow.write_lock()
        access.require_programme_admin(app, uow, principal, f"publish call {code}", subject=f"call:{code}"[:60])
        call = find_call(uow, code, lock=True)
        if call.status != "draft":
            raise Conflict(f"call {call.code} is {call.status} already; a call is published once")
        check_call(uow.session, _values(call), _today(uow))
        text = (note or "").strip()[:2000] or None
        instance = call_instance(uow, call)
        if instance is None:
            instance = start(app, uow, "call", "call", call.id, {
                "call_id": call.id, "partnership_id": call.lead_partnership_id, "subject_ref": call.code},
                principal.actor)
        task = uow.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.task_spec == "prepare_call",
            HumanTask.status == "open")).first()
        if task is None:
            raise Conflict(f"call {call.code} has no 'Prepare the call' step waiting: its process is {instance.status}")
        uow.audit(principal.actor, "call_published", subject=f"call:{call.code}", instance_id=instance.id,
                  after={"reason": text, "rule_set_version": call.rule_set_version, "budget": call.budget})
        complete(app, uow, instance, task.task_guid, {"confirm": True, "notes": text,
                                                       "completed_by": principal.user_id})
        call.published_at = uow.now()
        return _committed(uow, call)


def _committed(uow: UnitOfWork, call: Call) -> CallDetailOut:
    """The call as it now stands (its events and partnerships read again), then the commit."""
    uow.session.flush()
    uow.session.expire(call, ["events", "partnerships", "lead_partnership"])
    out = detail_of(uow, call)
    uow.commit()
    return out


@lost_race_is_conflict
def close_call(app: App, principal: Principal, code: str, reason: str | None) -> CallClosedOut:
    """Close a call early, with a reason (see the module's docstring for what ends and what goes on)."""
    from workflows.programme import VISITED, Programme

    with app.uow() as uow:
        uow.write_lock()
        access.require_programme_admin(app, uow, principal, f"close call {code}", subject=f"call:{code}"[:60])
        text = check_reason(reason, "closing a call early")
        call = find_call(uow, code, lock=True)
        if call.status == "closed":
            raise Conflict(f"call {call.code} is closed already")
        ended, continuing = _end_applications(app, uow, call, principal, text, VISITED)
        programme = Programme(uow.session, uow.now(), lambda actor, action, **kw: uow.audit(actor, action, **kw))
        report = programme.close_call(call.id)
        call.closed_at, call.closed_reason = uow.now(), text
        instance = call_instance(uow, call)
        uow.audit(principal.actor, "call_closed_early", subject=f"call:{call.code}",
                  instance_id=instance.id if instance else None,
                  after={"reason": text, "ended": ended, "continuing": continuing, "report": report})
        if instance is not None and instance.status != "completed":
            app.engine.terminate(uow, instance, "end_closed_early", principal.actor, text)
        _tell_officers(uow, call, text, ended, continuing)
        uow.commit()
        return CallClosedOut(call=call.code, status=call.status, reason=text, ended=ended, continuing=continuing,
                             report=jsonable(report))


def _running(uow: UnitOfWork, subject_type: str, subject_id: int) -> ProcessInstance | None:
    return uow.session.scalars(select(ProcessInstance).where(
        ProcessInstance.subject_type == subject_type, ProcessInstance.subject_id == subject_id,
        ProcessInstance.status.in_(("running", "incident")))).first()


def _end_applications(app: App, uow: UnitOfWork, call: Call, principal: Principal, reason: str,
                      visited: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """End the call's exchanges not yet matched and its undecided host offers; the others go on."""
    ended, continuing = [], []
    for exchange in uow.session.scalars(select(Exchange).where(Exchange.call_id == call.id).order_by(Exchange.id)):
        instance = _running(uow, "exchange", exchange.id)
        if instance is None:
            continue
        if exchange.status in visited:
            continuing.append(exchange.ref)
            continue
        uow.session.execute(update(MatchProposal).where(
            MatchProposal.visitor_application_id == exchange.visitor_application_id,
            MatchProposal.status.in_(("proposed", "sent"))).values(status="withdrawn"))
        app.engine.terminate(uow, instance, CALL_CLOSED, principal.actor, reason)
        _end_application(uow, exchange.visitor_application_id, call, reason, exchange.ref)
        ended.append(exchange.ref)
    hosts = select(Application).where(Application.call_id == call.id, Application.role == "host")
    for application in uow.session.scalars(hosts.order_by(Application.id)):
        instance = _running(uow, "application", application.id)
        if instance is not None:
            app.engine.terminate(uow, instance, CALL_CLOSED, principal.actor, reason)
            _end_application(uow, application.id, call, reason, f"HOST-{application.id:05d}")
            ended.append(f"HOST-{application.id:05d}")
    return ended, continuing


def _end_application(uow: UnitOfWork, application_id: int, call: Call, reason: str, ref: str) -> None:
    application = uow.session.get(Application, application_id)
    if application is None:
        return
    application.status = "call_closed"
    org = uow.session.get(Organisation, application.organisation_id)
    if org is not None:
        outbox.enqueue(uow.session, template="call_closed_early", to=[org.contact_email], now=uow.now(),
                       key=f"call_closed_early:{call.code}:{ref}",
                       context={"recipient_name": org.legal_name, "call_title": call.title, "call_code": call.code,
                                "reason": reason, "reference": ref, "closed_on": uow.now().date().isoformat(),
                                "portal_path": act_path(f"application:{application.id}")})


def _tell_officers(uow: UnitOfWork, call: Call, reason: str, ended: list[str], continuing: list[str]) -> None:
    from workflows.db.models import User

    ids = [p.id for p in call.partnerships]
    emails = list(uow.session.scalars(select(User.email).where(
        User.role == "officer", User.partnership_id.in_(ids), User.active).order_by(User.id)))
    if emails:
        outbox.enqueue(uow.session, template="call_closed_early", to=emails, now=uow.now(),
                       key=f"call_closed_early:{call.code}:officers",
                       context={"recipient_name": "Programme officers", "call_title": call.title,
                                "call_code": call.code, "reason": reason, "closed_on": uow.now().date().isoformat(),
                                "for_officers": True, "ended": ended, "continuing": continuing,
                                "portal_path": "/exchanges"})
