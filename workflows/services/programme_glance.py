"""The programme at a glance (`/admin`, `GET /api/admin`): each call's budget (committed, paid,
waiting, left), the exchanges per stage, the instances with an incident and those stuck (`cxp doctor`),
the emails that failed, the last payment batch and the last audit anchor. Administrators and auditors."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from workflows import audit
from workflows.app import App
from workflows.db.models import Call, Exchange, Partnership
from workflows.db.process_models import AuditEvent, OutboxMessage, PaymentBatch, ProcessInstance
from workflows.services import access
from workflows.services.access import Principal
from workflows.services.admin_outputs import (
    AnchorGlanceOut,
    BatchGlanceOut,
    CallGlanceOut,
    FailedEmailOut,
    InstanceIssueOut,
    ProgrammeGlanceOut,
)
from workflows.services.calls import budget_of
from workflows.services.doctor import stuck_instances
from workflows.uow import UnitOfWork


def _subject(uow: UnitOfWork, instance: ProcessInstance) -> str:
    if instance.subject_type == "exchange":
        ref = uow.session.scalar(select(Exchange.ref).where(Exchange.id == instance.subject_id))
        if ref:
            return str(ref)
    if instance.subject_type == "call":
        code = uow.session.scalar(select(Call.code).where(Call.id == instance.subject_id))
        if code:
            return str(code)
    return f"{instance.subject_type}:{instance.subject_id}"


def _incidents(uow: UnitOfWork) -> list[InstanceIssueOut]:
    rows = uow.session.scalars(select(ProcessInstance).where(ProcessInstance.status == "incident")
                               .order_by(ProcessInstance.id).limit(50))
    out = []
    for instance in rows:
        incident = instance.incident or {}
        since = incident.get("at")
        out.append(InstanceIssueOut(
            instance=instance.id, process=instance.process_id, subject=_subject(uow, instance),
            problem=f"{incident.get('task') or 'a step'} failed: {incident.get('error') or 'no message'}"[:500],
            since=datetime.fromisoformat(since) if isinstance(since, str) else None))
    return out


def programme_glance(app: App, principal: Principal) -> ProgrammeGlanceOut:
    access.require_programme_reader(app, None, principal, "read the programme at a glance")
    with app.uow() as uow:
        s = uow.session
        calls = [CallGlanceOut(code=c.code, title=c.title, status=c.status, budget=budget_of(uow, c))
                 for c in s.scalars(select(Call).order_by(Call.opens_on.desc(), Call.code))]
        stages = dict(s.execute(select(Exchange.status, func.count()).group_by(Exchange.status)).all())
        doctor = stuck_instances(uow)
        stuck = [InstanceIssueOut(instance=i["instance"], process=i["process"], subject=i["subject"],
                                  problem=i["reason"], since=datetime.fromisoformat(i["since"]))
                 for i in doctor["stuck"]]
        failed = s.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "failed")) or 0
        recent = [FailedEmailOut(id=m.id, template=m.template, recipients=list(m.recipients or []),
                                 error=m.last_error, at=m.sent_at or m.next_attempt_at or m.created_at)
                  for m in s.scalars(select(OutboxMessage).where(OutboxMessage.status == "failed")
                                     .order_by(OutboxMessage.id.desc()).limit(5))]
        batch = s.scalars(select(PaymentBatch).order_by(PaymentBatch.created_at.desc(), PaymentBatch.id.desc())
                          .limit(1)).first()
        last_batch = None
        if batch is not None:
            code = s.scalar(select(Partnership.code).where(Partnership.id == batch.partnership_id)) or ""
            last_batch = BatchGlanceOut(msg_id=batch.msg_id, partnership=code, status=batch.status,
                                        transactions=batch.n_tx, control_sum=batch.control_sum,
                                        created_at=batch.created_at)
        anchor = s.scalars(select(AuditEvent).where(AuditEvent.action == audit.ANCHORED)
                           .order_by(AuditEvent.id.desc()).limit(1)).first()
        last_anchor = None
        if anchor is not None:
            after = anchor.data_after or {}
            last_anchor = AnchorGlanceOut(n=int(after.get("n") or 0), at=anchor.occurred_at, reason=after.get("reason"))
        return ProgrammeGlanceOut(
            calls=calls, exchanges_by_stage={k: int(v) for k, v in sorted(stages.items())},
            running_instances=int(doctor["running"]), incidents=_incidents(uow), stuck=stuck,
            failed_emails=int(failed), recent_failed_emails=recent, last_batch=last_batch, last_anchor=last_anchor)
