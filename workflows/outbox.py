"""R-MAIL outbox: emails are rows written in the transaction of the change that causes them."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.audit import jsonable
from workflows.db.process_models import OutboxMessage


def enqueue(session: Session, *, template: str, to: Sequence[str], context: Mapping[str, Any], key: str,
            now: datetime, attachments: Sequence[Mapping[str, Any]] = ()) -> OutboxMessage:
    """Queue one email; the same `key` queues it only once."""
    existing = session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key == key)).first()
    if existing is not None:
        return existing
    message = OutboxMessage(
        dedupe_key=key[:200], template=template, recipients=list(to), context=jsonable(dict(context)),
        attachments=list(attachments), status="pending", attempts=0, next_attempt_at=now, created_at=now,
    )
    session.add(message)
    return message
