"""Email: templates, MIME building and delivery through a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timezone
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import jinja2
import pytest
from aiosmtpd.controller import Controller

from workflows.mail import (
    TEMPLATES,
    Attachment,
    MailDeliveryError,
    OutgoingEmail,
    SmtpSettings,
    build_message,
    render_email,
    send_email,
    send_email_sync,
)

PAIN001 = b'<?xml version="1.0" encoding="UTF-8"?>\n<Document>\x00\xff binary-safe</Document>\n'
CSV = "end_to_end_id,creditor_name\r\nEX-000001,Łódź Cluster\r\n".encode()


def outgoing(**changes: Any) -> OutgoingEmail:
    values: dict[str, Any] = dict(
        message_id="<outbox-123@clusterxchange.local>",
        to=("finance@example.org", "controller@example.org"),
        subject="Payment batch PB-1 ready",
        text="Dear Finance team,\n\nThe files are attached.\n",
        html="<p>Dear Finance team,</p><p>The files are attached.</p>",
        attachments=(
            Attachment("PB-1.pain001.xml", PAIN001, "application/xml"),
            Attachment("PB-1.csv", CSV, "text/csv"),
        ),
        date=datetime(2025, 3, 3, 6, 0, tzinfo=UTC),
    )
    values.update(changes)
    return OutgoingEmail(**values)


# --------------------------------------------------------------------------- SMTP servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Recorder:
    """Accepts everything and keeps what arrived."""

    def __init__(self) -> None:
        self.received: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope)
        return "250 Message accepted for delivery"


class Refuser:
    """Answers DATA with a fixed reply, e.g. a 5xx or a 4xx."""

    def __init__(self, reply: str) -> None:
        self.reply = reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return self.reply


class RecipientRefuser:
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        return "550 5.1.1 No such mailbox here"


def serve(handler: Any) -> Iterator[SmtpSettings]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpSettings(host="127.0.0.1", port=port, timeout=5.0)
    finally:
        controller.stop()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def smtp(recorder: Recorder) -> Iterator[SmtpSettings]:
    yield from serve(recorder)


def received_message(recorder: Recorder, index: int = 0) -> EmailMessage:
    return message_from_bytes(recorder.received[index].content, policy=policy.default)  # type: ignore[return-value]


# --------------------------------------------------------------------------- delivery


def test_an_email_with_attachments_arrives_intact(smtp: SmtpSettings, recorder: Recorder) -> None:
    send_email_sync(outgoing(), smtp)

    [envelope] = recorder.received
    assert envelope.mail_from == "noreply@clusterxchange.local"
    assert envelope.rcpt_tos == ["finance@example.org", "controller@example.org"]
    message = received_message(recorder)
    assert message["Message-ID"] == "<outbox-123@clusterxchange.local>"
    assert message["Subject"] == "Payment batch PB-1 ready"
    assert message["From"] == "ClusterXchange <noreply@clusterxchange.local>"
    assert message["Date"] == "Mon, 03 Mar 2025 06:00:00 +0000"
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # SMTP lines end in CRLF
    assert text == "Dear Finance team,\n\nThe files are attached.\n"
    assert "<p>The files are attached.</p>" in message.get_body(("html",)).get_content()
    attachments = {part.get_filename(): part for part in message.iter_attachments()}
    assert attachments["PB-1.pain001.xml"].get_content_type() == "application/xml"
    assert attachments["PB-1.pain001.xml"].get_payload(decode=True) == PAIN001
    assert attachments["PB-1.csv"].get_content_type() == "text/csv"
    assert attachments["PB-1.csv"].get_payload(decode=True) == CSV


def test_a_resend_of_the_same_outbox_row_carries_the_same_message_id(
        smtp: SmtpSettings, recorder: Recorder) -> None:
    send_email_sync(outgoing(), smtp)
    send_email_sync(outgoing(), smtp)
    assert received_message(recorder, 0)["Message-ID"] == received_message(recorder, 1)["Message-ID"]


def test_send_email_works_from_async_code(smtp: SmtpSettings, recorder: Recorder) -> None:
    asyncio.run(send_email(outgoing(attachments=()), smtp))
    assert len(recorder.received) == 1


def test_send_email_sync_works_inside_a_running_event_loop(smtp: SmtpSettings, recorder: Recorder) -> None:
    async def caller() -> None:
        send_email_sync(outgoing(), smtp)

    asyncio.run(caller())
    assert received_message(recorder)["Message-ID"] == "<outbox-123@clusterxchange.local>"


def test_an_smtp_outage_is_a_transient_failure() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), timeout=5.0)  # nothing listens there
    with pytest.raises(MailDeliveryError) as caught:
        send_email_sync(outgoing(), settings)
    assert caught.value.transient is True
    assert f"127.0.0.1:{settings.port}" in str(caught.value)


def test_a_5xx_refusal_of_the_message_is_permanent() -> None:
    for settings in serve(Refuser("554 5.6.0 Message content rejected")):
        with pytest.raises(MailDeliveryError) as caught:
            send_email_sync(outgoing(), settings)
    assert caught.value.transient is False
    assert caught.value.code == 554 and "content rejected" in caught.value.message


def test_a_5xx_refusal_of_the_recipients_is_permanent() -> None:
    for settings in serve(RecipientRefuser()):
        with pytest.raises(MailDeliveryError) as caught:
            send_email_sync(outgoing(), settings)
    assert caught.value.transient is False
    assert caught.value.code == 550 and "finance@example.org" in caught.value.message


def test_a_4xx_answer_is_transient() -> None:
    for settings in serve(Refuser("451 4.3.0 Try again later")):
        with pytest.raises(MailDeliveryError) as caught:
            send_email_sync(outgoing(), settings)
    assert caught.value.transient is True and caught.value.code == 451


def test_a_server_that_never_answers_is_a_transient_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        settings = SmtpSettings(host="127.0.0.1", port=silent.getsockname()[1], timeout=0.3)
        with pytest.raises(MailDeliveryError) as caught:
            send_email_sync(outgoing(), settings)
    assert caught.value.transient is True


# --------------------------------------------------------------------------- building


def test_build_message_keeps_the_message_id_and_marks_the_mail_automatic() -> None:
    message = build_message(outgoing(), "ClusterXchange <noreply@clusterxchange.local>")
    assert message["Message-ID"] == "<outbox-123@clusterxchange.local>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["To"] == "finance@example.org, controller@example.org"


def test_build_message_without_html_or_attachments_is_plain_text() -> None:
    message = build_message(outgoing(html=None, attachments=()), "noreply@clusterxchange.local")
    assert message.get_content_type() == "text/plain"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"to": ()}, "to"),
        ({"to": ("not-an-address",)}, "to"),
        ({"to": ("a@example.org\r\nBcc: victim@example.org",)}, "to"),
        ({"message_id": "outbox-123"}, "message_id"),
        ({"attachments": (Attachment("a.bin", b"x", "binary"),)}, "attachments"),
    ],
)
def test_build_message_refuses_bad_input_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        build_message(outgoing(**changes), "noreply@clusterxchange.local")


def test_a_subject_cannot_smuggle_headers() -> None:
    message = build_message(outgoing(subject="Hello\r\nBcc: victim@example.org"), "noreply@x.org")
    assert message["Subject"] == "Hello Bcc: victim@example.org"
    assert message["Bcc"] is None


# --------------------------------------------------------------------------- templates

PERSON = {"recipient_name": "Dr Anna Kowalska", "organisation": "Łódź Textile Cluster"}
CALL = "ClusterXchange Call 2025"
SAMPLES: dict[str, dict[str, Any]] = {
    "application_ineligible": {**PERSON, "application_id": "AP-000042", "call_title": CALL,
                               "reasons": ["The organisation is not in an eligible country.",
                                           "The visit lasts 31 working days; the maximum is 30."]},
    "application_rejected": {**PERSON, "application_id": "AP-000042", "call_title": CALL,
                             "reason": "The budget of the call is exhausted.", "decided_on": date(2025, 3, 3)},
    "information_requested": {**PERSON, "application_id": "AP-000042", "requested": ["A letter of support"],
                              "due_date": date(2025, 3, 17)},
    "application_withdrawn": {**PERSON, "application_id": "AP-000042", "call_title": CALL,
                              "withdrawn_on": date(2025, 3, 3)},
    "not_matched": {**PERSON, "application_id": "AP-000042", "call_title": CALL},
    "match_proposed": {**PERSON, "exchange_id": "EX-000123", "partner_organisation": "Ørsted Energi Klynge",
                       "partner_country": "Denmark", "start_date": date(2025, 5, 5), "end_date": date(2025, 5, 16),
                       "working_days": 10, "grant_amount": Decimal("2750.00"), "respond_by": date(2025, 3, 17)},
    "evidence_reminder": {**PERSON, "exchange_id": "EX-000123", "missing": ["Boarding passes"],
                          "due_date": date(2025, 6, 16)},
    "evidence_overdue": {**PERSON, "recipient_name": "Jan Peeters", "exchange_id": "EX-000123",
                         "due_date": date(2025, 6, 16), "days_overdue": 5, "missing": ["Boarding passes"]},
    "correction_needed": {**PERSON, "exchange_id": "EX-000123", "corrections": ["The invoice is unsigned"],
                          "due_date": date(2025, 7, 1)},
    "payment_batch_ready": {"recipient_name": "Finance team", "batch_ref": "PB-2025-W10",
                            "partnership": "Baltic-Adriatic", "transfer_count": 3,
                            "total_amount": Decimal("1100.01"), "execution_date": date(2025, 3, 4),
                            "msg_id": "CXP-PB-2025-W10",
                            "held_out": [{"exchange_id": "EX-000124", "reason": "IBAN has wrong check digits"}]},
    "kpi_report": {"recipient_name": "ClusterXchange North officers", "period": "2027-03", "scope": "CXP-NORTH",
                   "exchanges": 2, "paid_eur": "1100.00", "committed_eur": "0.00", "remaining_eur": "28900.00",
                   "overdue_tasks": 0, "within_target_share": "0.8333"},
    "payment_rejected": {**PERSON, "exchange_id": "EX-000123", "amount": Decimal("366.67"),
                         "reason_text": "Closed account number", "reason_code": "AC04"},
    "exchange_closed": {**PERSON, "exchange_id": "EX-000123", "amount_paid": Decimal("2750.00"),
                        "closed_on": date(2025, 8, 1)},
    "call_published": {"recipient_name": "Programme officers", "code": "CXP-2026-01", "call_title": "ClusterXchange Call 2026",
                       "opens_on": date(2026, 1, 15), "closes_on": date(2026, 3, 31)},
    "task_reminder": {"recipient_name": "Officer team", "task_name": "Assess application",
                      "subject": "EX-000123", "due_date": date(2025, 6, 16)},
    "task_overdue": {"recipient_name": "Programme officers", "task_name": "Accept or decline the match",
                     "subject": "EX-000123", "lane": "Visitor", "due_date": date(2025, 6, 16), "days_overdue": 2,
                     "waiting_for": "Nova Cluster Brussels"},
    "grant_waiting_budget": {"recipient_name": "Programme support office", "exchange_ref": "EX-000123",
                             "organisation": "Łódź Textile Cluster", "call_code": "CXP-2027-02", "call_title": CALL,
                             "amount": "1100.00", "budget": "500.00", "remaining": "50.00"},
    "grant_committed": {**PERSON, "exchange_ref": "EX-000123", "call_code": "CXP-2027-02", "call_title": CALL,
                        "amount": "1100.00"},
    "call_closed_early": {**PERSON, "call_code": "CXP-2027-02", "call_title": CALL, "reason": "Funding ended.",
                          "closed_on": date(2027, 6, 1), "reference": "EX-000123"},
    "application_received": {**PERSON, "application_id": 42, "call_title": CALL, "role": "visitor",
                             "next_step": "an officer assesses it", "link": "https://cx.example/my/applications/42"},
    "match_answered": {**PERSON, "exchange_id": "EX-000123", "partner_organisation": "Helix Cluster Vienna",
                       "accepted": False, "declined_by": ["Helix Cluster Vienna"], "reasons": ["No places left."]},
    "registration_verify": {**PERSON, "username": "tina", "valid_hours": 48, "valid_until": "2027-01-13 09:00 UTC",
                            "link": "https://cx.example/verify?token=abc"},
    "registration_received": {**PERSON, "partnership": "ClusterXchange North", "link": "https://cx.example/my",
                              "next_step": "ClusterXchange North assesses the registration."},
    "registration_approved": {**PERSON, "partnership": "ClusterXchange North", "username": "tina",
                              "portal_url": "https://cx.example/my/applications/new"},
    "registration_rejected": {**PERSON, "partnership": "ClusterXchange North", "reason": "Not a cluster.",
                              "portal_url": "https://cx.example/my"},
    "registration_information_requested": {**PERSON, "partnership": "ClusterXchange North",
                                           "question": "Which cluster?", "portal_url": "https://cx.example/tasks"},
    "application_approved": {**PERSON, "application_id": 42, "call_title": CALL, "exchange_ref": "EX-000123",
                             "matching_deadline": "2025-05-28"},
    "commitment_to_sign": {**PERSON, "exchange_ref": "EX-000123", "partner_organisation": "Ørsted Energi Klynge",
                           "arrival": "2025-05-05", "departure": "2025-05-16", "signatures_due": "2025-05-05"},
    "grant_decided": {**PERSON, "exchange_ref": "EX-000123", "amount": "550.00", "working_days": 4,
                      "reasons": ["The threshold for a host in DK is EUR 1100.00.",
                                  "4 working days is fewer than 5: the amount is halved."]},
    "payment_sent": {**PERSON, "exchange_ref": "EX-000123", "amount": "550.00", "paid_on": "2025-07-01"},
}


def test_every_template_has_a_sample() -> None:
    assert set(SAMPLES) == set(TEMPLATES)


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_renders_a_one_line_subject_a_text_and_an_html(name: str) -> None:
    subject, text, html = render_email(name, SAMPLES[name])
    assert subject and "\n" not in subject and "{" not in subject
    assert text.startswith(f"Dear {SAMPLES[name]['recipient_name']},")
    assert "Kind regards" in text and "{{" not in text
    assert html.startswith("<!DOCTYPE html>") and "</html>" in html


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_fails_loudly_when_a_placeholder_is_missing(name: str) -> None:
    context = dict(SAMPLES[name])
    context.pop("recipient_name")
    with pytest.raises(jinja2.UndefinedError):
        render_email(name, context)


def test_the_data_appears_in_the_email() -> None:
    subject, text, _ = render_email("match_proposed", SAMPLES["match_proposed"])
    assert subject == "Exchange EX-000123 proposed: Łódź Textile Cluster and Ørsted Energi Klynge"
    assert "Monday 5 May 2025 to Friday 16 May 2025 (10 working days)" in text
    assert "EUR 2,750.00" in text and "Monday 17 March 2025" in text
    _, text, _ = render_email("application_ineligible", SAMPLES["application_ineligible"])
    assert "  - The organisation is not in an eligible country.\n" in text
    _, text, _ = render_email("payment_batch_ready", SAMPLES["payment_batch_ready"])
    assert "EX-000124: IBAN has wrong check digits" in text and "EUR 1,100.01" in text
    _, text, _ = render_email("grant_decided", SAMPLES["grant_decided"])
    assert "4 working days counted, and the grant of" in text and "EUR 550.00" in text
    assert "\n  - 4 working days is fewer than 5: the amount is halved.\n" in text  # one reason a line
    _, text, html = render_email("kpi_report", SAMPLES["kpi_report"])
    assert "Paid within 10 days:          83.3 %" in text and "<td>83.3 %</td>" in html  # a share as a percentage


def test_html_is_escaped_and_text_is_not() -> None:
    context = {**SAMPLES["exchange_closed"], "organisation": "<script>alert(1)</script> & Co"}
    _, text, html = render_email("exchange_closed", context)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert "<script>alert(1)</script> & Co" in text


def test_an_unknown_template_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown email template 'no_such_mail'"):
        render_email("no_such_mail", {})


def test_a_rendered_template_can_be_sent(smtp: SmtpSettings, recorder: Recorder) -> None:
    subject, text, html = render_email("payment_rejected", SAMPLES["payment_rejected"])
    send_email_sync(OutgoingEmail("<outbox-7@clusterxchange.local>", ("anna@example.org",), subject, text, html),
                    smtp)
    message = received_message(recorder)
    assert message["Subject"] == "Action needed: the grant payment for exchange EX-000123 was returned"
    assert "Closed account number (bank code AC04)" in message.get_body(("plain",)).get_content()
