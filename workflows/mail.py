"""Email: render a notification from its templates, build the MIME message and send it.

The outbox (SPEC §9) stores what to send and retries; this module only knows how to turn an
`OutgoingEmail` into a message and hand it to an SMTP server with aiosmtplib. Delivery
failures raise `MailDeliveryError` with `transient` telling the retry loop whether trying
again later can help (connection refused, timeouts, 4xx replies) or not (5xx replies,
refused credentials, TLS misconfiguration).

The Message-ID comes from the caller (one per outbox row), so a resend after a crash carries
the same Message-ID and the receiving side can recognise the duplicate.

Templates live in `workflows/templates/email/<name>.{subject,txt,html}.j2`, package data read
through importlib.resources (a wheel install needs no checkout): the subject and the plain text
are rendered without escaping, the HTML with autoescape on.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime, formatdate, parseaddr
from functools import lru_cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

TEMPLATE_PACKAGE = "workflows.templates.email"

TEMPLATES = (
    "application_ineligible",
    "application_rejected",
    "information_requested",
    "application_withdrawn",
    "not_matched",
    "match_proposed",
    "evidence_reminder",
    "evidence_overdue",
    "correction_needed",
    "payment_batch_ready",
    "payment_rejected",
    "exchange_closed",
    "call_published",
    "task_reminder",
    "task_overdue",
    "kpi_report",
    "grant_waiting_budget",
    "grant_committed",
    "call_closed_early",
    "application_received",
    "match_answered",
    "registration_verify",
    "registration_received",
    "registration_approved",
    "registration_rejected",
    "registration_information_requested",
    "application_approved",
    "commitment_to_sign",
    "grant_decided",
    "payment_sent",
)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str  # e.g. "application/xml", "text/csv"


@dataclass(frozen=True)
class OutgoingEmail:
    """One email to send. `message_id` is stable per outbox row, e.g. "<outbox-123@host>"."""

    message_id: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    date: datetime | None = None  # the Date header; the time of sending when None


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 1025
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool = False
    timeout: float = 10.0
    sender: str = "ClusterXchange <noreply@clusterxchange.local>"


class MailDeliveryError(Exception):
    """Sending failed. `transient`: trying again later may succeed; `code`: the SMTP reply."""

    def __init__(self, message: str, transient: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.code = code


# --------------------------------------------------------------------------- building


def _check_address(address: str, field: str) -> None:
    _, parsed = parseaddr(address)
    if "@" not in parsed or any(c in address for c in "\r\n"):
        raise ValueError(f"{field}: {address!r} is not an email address")


def build_message(email: OutgoingEmail, sender: str) -> EmailMessage:
    """The MIME message: text (and HTML alternative) plus attachments, with stable ids."""
    if not email.to:
        raise ValueError("to: an email needs at least one recipient")
    for address in email.to:
        _check_address(address, "to")
    _check_address(sender, "sender")
    if not (email.message_id.startswith("<") and email.message_id.endswith(">")
            and "@" in email.message_id):
        raise ValueError(f"message_id: {email.message_id!r} must look like <id@domain>")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(email.to)
    message["Subject"] = " ".join(email.subject.split())
    message["Message-ID"] = email.message_id
    if email.date is None:
        message["Date"] = formatdate(usegmt=True)
    else:  # a naive date is taken as UTC
        sent = email.date if email.date.tzinfo else email.date.replace(tzinfo=UTC)
        message["Date"] = format_datetime(sent)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    message.set_content(email.text)
    if email.html is not None:
        message.add_alternative(email.html, subtype="html")
    for attachment in email.attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        if not maintype or not subtype:
            raise ValueError(f"attachments: {attachment.mime_type!r} is not a MIME type")
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype,
                               filename=attachment.filename)
    return message


# --------------------------------------------------------------------------- sending


def _classify(exc: BaseException, settings: SmtpSettings) -> MailDeliveryError:
    import aiosmtplib

    where = f"SMTP server {settings.host}:{settings.port}"
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        refused = ", ".join(f"{r.recipient} ({r.code} {r.message})" for r in exc.recipients)
        return MailDeliveryError(f"{where} refused the recipients: {refused}",
                                 transient=all(400 <= c < 500 for c in codes), code=max(codes))
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return MailDeliveryError(f"{where} answered {exc.code} {exc.message}",
                                 transient=400 <= exc.code < 500, code=exc.code)
    if isinstance(exc, (aiosmtplib.SMTPTimeoutError, asyncio.TimeoutError, TimeoutError)):
        return MailDeliveryError(f"{where} did not answer within {settings.timeout} s", transient=True)
    if isinstance(exc, ssl.SSLError):
        return MailDeliveryError(f"TLS with {where} failed: {exc}", transient=False)
    if isinstance(exc, (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, OSError)):
        return MailDeliveryError(f"{where} cannot be reached: {exc}", transient=True)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return MailDeliveryError(f"{where} does not support what the settings ask: {exc}",
                                 transient=False)
    return MailDeliveryError(f"sending through {where} failed: {exc!r}", transient=False)


async def send_email(email: OutgoingEmail, settings: SmtpSettings) -> None:
    """Deliver `email` through the SMTP server of `settings`; raise MailDeliveryError."""
    import aiosmtplib  # deferred: only the outbox step sends mail

    message = build_message(email, settings.sender)
    _, sender_address = parseaddr(settings.sender)
    try:
        errors, _ = await aiosmtplib.send(
            message,
            sender=sender_address,
            recipients=list(email.to),
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            use_tls=settings.use_tls,
            start_tls=settings.start_tls,
            timeout=settings.timeout,
            local_hostname=sender_address.rpartition("@")[2] or None,  # no slow getfqdn()
        )
    except Exception as exc:  # noqa: BLE001 - every failure is classified for the retry loop
        raise _classify(exc, settings) from exc
    if errors:  # some recipients refused, the others got it: resending would duplicate
        refused = ", ".join(f"{who} ({reply.code} {reply.message})" for who, reply in errors.items())
        raise MailDeliveryError(f"delivered, except to: {refused}", transient=False,
                                code=max(reply.code for reply in errors.values()))


def send_email_sync(email: OutgoingEmail, settings: SmtpSettings) -> None:
    """`send_email` for synchronous callers, also when an event loop already runs here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(send_email(email, settings))
        return
    with ThreadPoolExecutor(max_workers=1) as pool:  # cannot nest asyncio.run in a running loop
        pool.submit(asyncio.run, send_email(email, settings)).result()


# --------------------------------------------------------------------------- templates


def _money(value: Any) -> str:
    """1234.5 -> "EUR 1,234.50" (Decimal, int or numeric string)."""
    return f"EUR {Decimal(str(value)):,.2f}"


def _long_date(value: date | datetime | str) -> str:
    """2025-03-03 -> "Monday 3 March 2025"."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day:%A} {day.day} {day:%B %Y}"


def _template_source(name: str) -> str | None:
    """The text of template `name` from the package data, None when there is no such file."""
    if "/" in name or "\\" in name or name.startswith("."):
        return None  # one flat folder: no way out of it
    resource = files(TEMPLATE_PACKAGE).joinpath(name)
    return resource.read_text(encoding="utf-8") if resource.is_file() else None


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import jinja2

    from reports.labels import label, percent

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = _money
    env.filters["longdate"] = _long_date
    env.filters["percent"] = percent
    env.filters["label"] = label
    return env


def render_email(template: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of the named template filled with `context`.

    A placeholder missing from `context` raises jinja2.UndefinedError rather than sending an
    email with a hole in it.
    """
    if template not in TEMPLATES:
        raise ValueError(f"template: unknown email template {template!r}")
    env = _environment()
    values = dict(context)
    subject = env.get_template(f"{template}.subject.j2").render(values)
    text = env.get_template(f"{template}.txt.j2").render(values)
    html = env.get_template(f"{template}.html.j2").render(values)
    return " ".join(subject.split()), text, html
