"""Starting processes, delivering messages between them, firing timers, and the final states."""
from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select

from workflows.app import App
from workflows.audit import SYSTEM, Actor
from workflows.db import queue
from workflows.db.base import must_get, table_of
from workflows.db.models import Application, Call, Exchange
from workflows.db.process_models import ProcessInstance
from workflows.engine import completion
from workflows.engine.runner import Advance, EngineError, TaskNoLongerOpen
from workflows.services import NotFound, ServiceError
from workflows.uow import UnitOfWork

_PI = table_of(ProcessInstance)
FINAL_EXCHANGE_STATUS = {
    "end_ineligible": "ineligible", "end_rejected": "rejected", "end_withdrawn": "withdrawn",
    "end_not_matched": "not_matched", "end_closed_without_grant": "closed_without_grant",
    "end_closed": "closed", "end_cancelled": "cancelled",
    "end_call_closed": "not_matched",  # the call closed early before a match (workflows/services/call_admin.py)
}


@completion.when_completed  # the engine runs it (workflows/engine/completion.py)
def on_process_completed(uow: UnitOfWork, instance: ProcessInstance) -> None:
    """Record the final state of the subject when its process ends."""
    if instance.subject_type == "exchange":
        exchange = must_get(uow.session, Exchange, instance.subject_id)
        status = FINAL_EXCHANGE_STATUS.get(instance.outcome or "", instance.outcome or "ended")
        if exchange.cancelled and status == "closed_without_grant":
            status = "cancelled"
        uow.audit(SYSTEM, "exchange_status", instance_id=instance.id, subject=exchange.ref,
                  before={"status": exchange.status}, after={"status": status})
        exchange.status, exchange.outcome, exchange.closed_at = status, instance.outcome, uow.now()


def instance_for(uow: UnitOfWork, subject_type: str, subject_id: int) -> ProcessInstance:
    instance = uow.session.scalars(select(ProcessInstance).where(
        ProcessInstance.subject_type == subject_type, ProcessInstance.subject_id == subject_id
    ).order_by(ProcessInstance.id.desc())).first()
    if instance is None:
        raise NotFound(f"{subject_type} {subject_id} has no process")
    return instance


def settle(app: App, uow: UnitOfWork, first: Advance) -> None:
    """Deliver the messages a step sent to other instances, in the same transaction."""
    queue = deque(first.outgoing)
    while queue:
        message = queue.popleft()
        target = instance_for(uow, message.subject_type, message.subject_id)
        queue.extend(app.engine.deliver(uow, target, message.name, message.payload).outgoing)


def start(app: App, uow: UnitOfWork, process_id: str, subject_type: str, subject_id: int,
          data: Mapping[str, Any], actor: Actor = SYSTEM) -> ProcessInstance:
    result = app.engine.start(uow, process_id, subject_type, subject_id, data, actor)
    settle(app, uow, result)
    return result.instance


def deliver(app: App, uow: UnitOfWork, instance: ProcessInstance, name: str, payload: Mapping[str, Any]) -> None:
    if instance.status == "completed" or name not in (instance.waiting_messages or []):
        if instance.status == "completed":
            state = " (its process has ended)"
        elif instance.waiting_messages:
            state = f" (it waits for: {', '.join(instance.waiting_messages)})"
        else:
            state = " now"
        raise ServiceError(f"{_subject_name(uow, instance)} is not waiting for '{name}'{state}")
    try:
        settle(app, uow, app.engine.deliver(uow, instance, name, payload))
    except EngineError as err:
        raise ServiceError(str(err)) from err


def _subject_name(uow: UnitOfWork, instance: ProcessInstance) -> str:
    """How a person knows the subject of an instance: its reference where it has one."""
    if instance.subject_type == "exchange":
        exchange = uow.session.get(Exchange, instance.subject_id)
        if exchange is not None:
            return f"exchange {exchange.ref}"
    return f"{instance.subject_type} {instance.subject_id}"


def complete(app: App, uow: UnitOfWork, instance: ProcessInstance, task_guid: str, form: Mapping[str, Any]) -> None:
    """Run the user task and deliver what it sent; `TaskNoLongerOpen` (a lost race) is left to the
    caller, who names the task."""
    try:
        settle(app, uow, app.engine.complete(uow, instance, task_guid, form))
    except TaskNoLongerOpen:
        raise
    except EngineError as err:
        raise ServiceError(str(err)) from err


TIMER_BATCH = 20  # due instances claimed at once by one sweep
TIMER_LEASE = timedelta(minutes=2)  # how long a claimed batch is kept from the other workers


def _due_timers(now: datetime) -> Any:
    return and_(_PI.c.status.in_(("running", "incident")), _PI.c.next_timer_at < now)


def fire_due_timers(app: App, limit: int = 10_000, batch: int = TIMER_BATCH, lease: timedelta = TIMER_LEASE) -> int:
    """Advance every instance whose next timer is due (strictly past, as Spiff fires them), each at most
    once per sweep. Any number of sweeps run at once: each claims small batches of due instances with a
    lease (`workflows.db.queue`) and advances each in a transaction of its own that locks the instance,
    checks that the claim is still its own and the timer still due, and clears the claim with the step.
    An instance with an open incident is advanced too: the failed step stays in error until an officer
    retries it, but a deadline on another branch (an escalation, a withdrawal) must not wait for that."""
    owner = queue.worker_id()
    fired = 0
    swept: set[int] = set()
    while fired < limit:
        with app.uow() as uow:
            uow.write_lock()
            claimed = queue.claim(uow, _PI, _due_timers(uow.now()), (_PI.c.next_timer_at, _PI.c.id), owner=owner,
                                  lease=lease, size=min(batch, limit - fired), skip=swept)
            uow.commit()
        if not claimed:
            return fired
        for instance_id in claimed:
            swept.add(instance_id)
            fired += _fire_claimed(app, instance_id, owner)
    return fired


def _fire_claimed(app: App, instance_id: int, owner: str) -> int:
    """Advance one claimed instance if it is still ours and still due: 1 if it was advanced."""
    with app.uow() as uow:
        uow.write_lock()
        instance = app.engine.instance(uow, instance_id, lock=True)
        if instance is None or not queue.holds(instance, owner):
            return 0  # the lease ran out and another sweep took it
        due = instance.status in ("running", "incident") and instance.next_timer_at is not None \
            and instance.next_timer_at < uow.now()
        if due:
            settle(app, uow, app.engine.fire_timers(uow, instance))
        queue.release(uow, _PI, instance_id, owner)
        uow.commit()
        return int(due)


def advance_clock(app: App, delta: timedelta, step: timedelta = timedelta(days=1)) -> dict[str, Any]:
    """Move the simulated clock forward, firing due timers as each step of time passes."""
    if delta <= timedelta(0):
        raise ServiceError("duration: must be positive")
    from workflows.services.deadlines import chase_tasks

    fired, chased = 0, {"reminded": 0, "escalated": 0}
    remaining = delta
    while remaining > timedelta(0):
        hop = min(step, remaining)
        with app.uow() as uow:
            uow.clock.advance(hop)
            uow.audit(SYSTEM, "clock_advanced", after={"by_seconds": hop.total_seconds(), "now": uow.now()})
            uow.commit()
        remaining -= hop
        fired += fire_due_timers(app)
        for kind, n in chase_tasks(app).items():
            chased[kind] += n
    with app.uow() as uow:
        return {"now": uow.now().isoformat(), "timers_fired": fired, **chased}


def submit_application(app: App, uow: UnitOfWork, application: Application, actor: Actor = SYSTEM) -> ProcessInstance:
    """A submitted application starts its process: `exchange` for visitors, `hosting` for hosts. An
    organisation the administrators deactivated cannot apply (nothing is written)."""
    from workflows.db.models import Organisation
    from workflows.services import Invalid

    organisation = must_get(uow.session, Organisation, application.organisation_id)
    if not organisation.active:
        raise Invalid.field("organisation", f"{organisation.legal_name} ({organisation.legal_id}) is deactivated "
                                            f"and cannot apply: {organisation.deactivated_reason or 'no reason given'}")
    if application.role == "host":
        return start(app, uow, "hosting", "application", application.id, {
            "task_deadlines": task_deadlines(uow, must_get(uow.session, Call, application.call_id)),
            "application_id": application.id, "call_id": application.call_id,
            "host_org_id": application.organisation_id, "host_partnership_id": application.partnership_id,
            "subject_ref": f"HOST-{application.id:05d}",
        }, actor)
    call = must_get(uow.session, Call, application.call_id)
    deadlines = task_deadlines(uow, call)
    exchange = Exchange(
        ref=f"EX-{application.id:06d}", call_id=application.call_id, visitor_application_id=application.id,
        visitor_org_id=application.organisation_id, visitor_partnership_id=application.partnership_id,
        format=application.format, status="submitted", created_at=uow.now(),
    )
    uow.session.add(exchange)
    uow.session.flush()
    uow.audit(actor, "application_submitted", subject=exchange.ref,
              after={"application": application.id, "organisation": application.organisation_id})
    return start(app, uow, "exchange", "exchange", exchange.id, {
        "exchange_id": exchange.id, "exchange_ref": exchange.ref, "application_id": application.id,
        "call_id": application.call_id, "visitor_org_id": application.organisation_id,
        "visitor_partnership_id": application.partnership_id, "format": application.format,
        "matching_deadline": call.matching_deadline.isoformat(), "task_deadlines": deadlines,
    }, actor)


def task_deadlines(uow: UnitOfWork, call: Call) -> dict[str, int]:
    """The call's rule set's days for its processes' human tasks (`Engine._deadlines`)."""
    from workflows.programme import Programme

    rs = Programme(uow.session, uow.now(), None).rule_set(call.rule_set_version)
    return {"officer": rs.officer_task_due_days, "applicant": rs.applicant_task_due_days,
            "follow_up": rs.task_follow_up_days}
