"""Deliver the outbox (R-MAIL): the emails queued in the transactions of the changes that caused them.

Each due row is taken with a short lease (status `sending`, `attempts` + 1, `next_attempt_at` = the
end of the lease, `lease_owner` = the run) in its own transaction, so that two runs never send the same row at the same time;
then the email is rendered (`workflows.mail.render_email`), its attachments read and checked against
the SHA-256 queued with them, and it is handed to the SMTP server (`workflows.mail.send_email`)
outside any transaction. Then, in a new transaction:

- delivered: `sent`, with `sent_at` — it is never taken again;
- a transient failure (server unreachable, timeout, 4xx, an attachment not there yet): back to
  `pending` with `last_error` and `next_attempt_at` after an exponential back-off (1 min, 2, 4 … capped
  at 1 h). Transient failures are retried for as long as it takes: an outage delays mail, loses none;
- a permanent failure (5xx, a bad address, a template that cannot be rendered): `failed`, with the
  reason, for a person to look at.

Only the run that holds a row's lease records its outcome: a run slower than its lease, whose row
another run took over meanwhile, changes nothing (the other run's outcome stands).

At-least-once window: if the process dies after the SMTP server accepted a message but before `sent`
is committed, the lease runs out and the row is sent again. The Message-ID is derived from the outbox
row (`<cxp-outbox-{id}.{created}@{domain}>`), the same on every attempt, so the receiving side can
recognise the duplicate. No other case sends a row twice.
"""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select

from workflows.app import App
from workflows.db.base import must_get
from workflows.db.process_models import OutboxMessage
from workflows.db.queue import take_next, worker_id
from workflows.mail import Attachment, MailDeliveryError, OutgoingEmail, SmtpSettings, render_email, send_email_sync
from workflows.services.faults import crash_point
from workflows.settings import Settings

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
LEASE = timedelta(minutes=10)
UNREACHABLE_STREAK = 3  # consecutive "cannot connect" failures that end a run early


def smtp_settings(settings: Settings) -> SmtpSettings:
    return SmtpSettings(host=settings.smtp_host, port=settings.smtp_port, username=settings.smtp_username,
                        password=settings.smtp_password, start_tls=settings.smtp_start_tls,
                        sender=settings.mail_sender)


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off after the `attempts`-th failed attempt. The doubling stops at 2**10 (far past
    the cap): attempts go on for as long as an outage lasts, and 2**41 minutes overflow a timedelta."""
    return min(FIRST_RETRY * (1 << min(max(attempts - 1, 0), 10)), LONGEST_RETRY)


def message_id(row: OutboxMessage, sender: str) -> str:
    """The Message-ID of an outbox row: the same on every attempt, unique per row and database."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "clusterxchange.local"
    return f"<cxp-outbox-{row.id}.{row.created_at:%Y%m%d%H%M%S}@{domain}>"


class _NotReady(Exception):
    """The email cannot be built yet (an attachment is missing); try again later."""


def _attachments(row: OutboxMessage) -> tuple[Attachment, ...]:
    found = []
    for entry in row.attachments or []:
        path = Path(entry["path"])
        if not path.is_file():
            raise _NotReady(f"attachment {path.name} is not there yet")
        content = path.read_bytes()
        expected = entry.get("sha256")
        if expected and hashlib.sha256(content).hexdigest() != expected:
            raise _NotReady(f"attachment {path.name} does not have the content queued with the email")
        found.append(Attachment(entry.get("filename") or path.name, content,
                                entry.get("mime_type") or "application/octet-stream"))
    return tuple(found)


def _email(row: OutboxMessage, sender: str, link: Callable[[str], str] | None = None,
           sent_at: datetime | None = None) -> OutgoingEmail:
    """The email of `row`; a `portal_path` its process queued (a service task knows no address) becomes
    the absolute `portal_url` of the page where the person acts (`Settings.link`). `sent_at` is its Date
    header: the time on the clock the product runs on (the programme's, simulated in the demo), so that
    an email never says it was sent before the events it reports."""
    context = dict(row.context or {})
    if link is not None and isinstance(context.get("portal_path"), str):
        context["portal_url"] = link(context["portal_path"])
    subject, text, html = render_email(row.template, context)
    return OutgoingEmail(message_id=message_id(row, sender), to=tuple(row.recipients), subject=subject,
                         text=text, html=html, attachments=_attachments(row), date=sent_at)


def _take_next(app: App, skip: set[int], owner: str) -> tuple[int, OutgoingEmail | None, str | None] | None:
    """Lease the next due row; (id, the email or None, why it cannot be built) or None when none is due."""
    with app.uow() as uow:
        now = uow.now()
        due = (select(OutboxMessage)
               .where(or_(OutboxMessage.status == PENDING, OutboxMessage.status == SENDING),
                      OutboxMessage.next_attempt_at <= now)
               .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id))
        row = take_next(uow.session, due, OutboxMessage.id, skip)
        if row is None:
            return None
        row.status, row.attempts, row.next_attempt_at = SENDING, (row.attempts or 0) + 1, now + LEASE
        row.lease_owner = owner
        problem: str | None = None
        email = None
        try:
            email = _email(row, app.settings.mail_sender, app.settings.link, now)
        except _NotReady as err:
            problem = f"transient: {err}"
        except Exception as err:  # noqa: BLE001 - a template or address that can never work
            problem = f"permanent: the email cannot be built: {type(err).__name__}: {err}"
        uow.commit()
        return row.id, email, problem


def _finish(app: App, row_id: int, owner: str, error: str | None, transient: bool) -> dict[str, Any]:
    with app.uow() as uow:
        uow.write_lock()
        row = must_get(uow.session, OutboxMessage, row_id, with_for_update=True)  # taken with a lease by this run
        now = uow.now()
        if row.status != SENDING or row.lease_owner != owner:
            pass  # the lease ran out and another run took the row: its outcome stands
        elif error is None:
            row.status, row.sent_at, row.last_error = SENT, now, None
        elif transient:
            row.status, row.next_attempt_at, row.last_error = PENDING, now + retry_delay(row.attempts), error[:2000]
        else:
            row.status, row.last_error = FAILED, error[:2000]
        if row.lease_owner == owner:
            row.lease_owner = None
        uow.commit()
        return {"id": row.id, "template": row.template, "attempts": row.attempts, "status": row.status,
                "next_attempt_at": row.next_attempt_at.isoformat() if row.status == PENDING else None,
                "error": row.last_error}


def deliver_pending(app: App, limit: int = 100, smtp: SmtpSettings | None = None) -> dict[str, Any]:
    """Send the due outbox rows (at most `limit`); report what was sent, postponed and given up."""
    smtp = smtp or smtp_settings(app.settings)
    sent: list[int] = []
    retrying: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    seen: set[int] = set()
    unreachable = 0
    owner = f"{worker_id()}:{uuid.uuid4().hex[:6]}"  # this run
    while len(seen) < limit and unreachable < UNREACHABLE_STREAK:
        taken = _take_next(app, seen, owner)
        if taken is None:
            break
        row_id, email, problem = taken
        seen.add(row_id)
        if email is None:
            kind, _, text = (problem or "permanent: ?").partition(": ")
            (retrying if kind == "transient" else failed).append(_finish(app, row_id, owner, text, kind == "transient"))
            continue
        try:
            send_email_sync(email, smtp)
        except MailDeliveryError as err:
            unreachable = unreachable + 1 if err.transient and err.code is None else 0
            (retrying if err.transient else failed).append(_finish(app, row_id, owner, err.message, err.transient))
            continue
        crash_point("outbox_after_send")
        unreachable = 0
        _finish(app, row_id, owner, None, False)
        sent.append(row_id)
    with app.uow() as uow:
        left = uow.session.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.status.in_((PENDING, SENDING))))
    return {"sent": sent, "retrying": retrying, "failed": failed, "waiting": int(left or 0)}
