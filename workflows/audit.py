"""R-AUDIT: append-only, hash-chained audit events written in the caller's transaction."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.db.process_models import AuditChainHead, AuditEvent

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who did something: a user (id, username, role) or the system."""

    id: int | None
    name: str
    role: str


SYSTEM = Actor(None, "system", "system")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    raise TypeError(f"cannot record {type(value).__name__} in the audit trail")


def jsonable(data: Any) -> Any:
    """The JSON form of `data` (Decimals as strings, dates ISO), as stored and as hashed."""
    if data is None:
        return None
    return json.loads(json.dumps(data, default=_default))


def _digest(fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "occurred_at": event.occurred_at.isoformat(),
        "actor_id": event.actor_id,
        "actor": event.actor,
        "actor_role": event.actor_role,
        "instance_id": event.instance_id,
        "task": event.task,
        "action": event.action,
        "subject": event.subject,
        "data_before": event.data_before,
        "data_after": event.data_after,
        "prev_hash": event.prev_hash,
    }


def _head(session: Session) -> AuditChainHead:
    head = session.info.get("audit_head")
    if head is not None:
        return head
    head = session.scalars(
        select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()
    ).first()
    if head is None:
        head = AuditChainHead(id=1, last_event_id=None, last_hash=GENESIS)
        session.add(head)
    session.info["audit_head"] = head
    return head


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    at: datetime,
    instance_id: int | None = None,
    task: str | None = None,
    subject: str | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction."""
    head = _head(session)
    event = AuditEvent(
        occurred_at=at.astimezone(timezone.utc),
        actor_id=actor.id,
        actor=actor.name,
        actor_role=actor.role,
        instance_id=instance_id,
        task=task,
        action=action,
        subject=subject,
        data_before=jsonable(before),
        data_after=jsonable(after),
        prev_hash=head.last_hash,
    )
    event.hash = _digest(_fields(event))
    session.add(event)
    head.last_hash = event.hash
    return event


def forget_head(session: Session) -> None:
    """Drop the cached chain head (after commit or rollback)."""
    session.info.pop("audit_head", None)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int
    first_bad_event: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "events": self.events}
        if not self.ok:
            out.update(first_bad_event=self.first_bad_event, problem=self.problem)
        return out


def _stream(session: Session) -> Iterator[AuditEvent]:
    return session.scalars(
        select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=2000)
    )


def verify(session: Session) -> VerifyResult:
    """Recompute the chain; name the first event that was changed, removed or inserted."""
    previous = GENESIS
    count = 0
    last_id: int | None = None
    for event in _stream(session):
        count += 1
        if event.prev_hash != previous:
            return VerifyResult(False, count, event.id, "the event before it was removed, inserted or changed")
        if _digest(_fields(event)) != event.hash:
            return VerifyResult(False, count, event.id, "its content was changed after it was written")
        previous = event.hash
        last_id = event.id
    head = session.get(AuditChainHead, 1)
    if head is not None and head.last_hash != previous:
        return VerifyResult(False, count, last_id, "events after it were removed")
    return VerifyResult(True, count)
