"""Delivering the outbox through a real SMTP server (aiosmtpd) on loopback: an outage delays the batch
email but loses it not, it is then delivered once, with its files, and never again; back-off, lease,
permanent failures and attachments that are not there yet."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from benchmarks.payment_batch import seed_approved_claims
from workflows import outbox
from workflows.app import App
from workflows.db.process_models import OutboxMessage
from workflows.mail import SmtpSettings
from workflows.services.outbox_delivery import LEASE, deliver_pending, retry_delay
from workflows.services.payments import create_batch

T0 = datetime(2027, 3, 1, 5, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Recorder:
    def __init__(self, reply: str = "250 Message accepted for delivery") -> None:
        self.received: list[Any] = []
        self.reply = reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply.startswith("250"):
            self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        return self.reply


class Server:
    """An aiosmtpd server that can be started late on a port chosen beforehand (the outage)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.smtp = SmtpSettings(host="127.0.0.1", port=self.port, timeout=5.0)
        self.recorder = Recorder()
        self.controller: Controller | None = None

    def start(self, reply: str = "250 OK") -> Server:
        self.recorder.reply = reply
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()


@pytest.fixture
def server() -> Iterator[Server]:
    server = Server()
    yield server
    server.stop()


@pytest.fixture
def clocked(app: App) -> App:
    with app.uow() as uow:
        uow.clock.set(T0)
        uow.commit()
    return app


def advance(app: App, delta: timedelta) -> None:
    with app.uow() as uow:
        uow.clock.advance(delta)
        uow.commit()


def row(app: App, row_id: int = 1) -> OutboxMessage:
    with app.uow() as uow:
        found = uow.session.get(OutboxMessage, row_id)
        uow.session.expunge_all()
        return found


def test_an_smtp_outage_delays_the_batch_email_which_is_then_delivered_once_with_its_files(clocked, server):
    app = clocked
    seed_approved_claims(app, 3, partnership_code="CXP-NORTH")
    batch = create_batch(app, "CXP-NORTH")

    down = deliver_pending(app, smtp=server.smtp)  # nothing listens on the port yet

    assert down["sent"] == [] and down["retrying"][0]["status"] == "pending"
    queued = row(app)
    assert (queued.status, queued.attempts) == ("pending", 1)
    assert queued.next_attempt_at == T0 + retry_delay(1) and "cannot be reached" in queued.last_error
    server.start()
    assert deliver_pending(app, smtp=server.smtp)["sent"] == []  # not due before its back-off
    advance(app, retry_delay(1))

    up = deliver_pending(app, smtp=server.smtp)

    assert up["sent"] == [1] and up["waiting"] == 0
    message, = server.recorder.received
    assert message["Message-ID"] == f"<cxp-outbox-1.{T0:%Y%m%d%H%M%S}@clusterxchange.local>"
    # dated by the clock the product runs on (here the programme's, moved on by the back-off), not the machine's
    assert parsedate_to_datetime(message["Date"]) == T0 + retry_delay(1)
    assert message["To"] == "finance.cxp-north@example.org" and batch["batch"] in message["Subject"]
    files = {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}
    assert files == {Path(p).name: Path(p).read_bytes() for p in batch["files"]}
    sent = row(app)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, None)

    advance(app, timedelta(days=1))
    assert deliver_pending(app, smtp=server.smtp)["sent"] == []
    assert len(server.recorder.received) == 1  # never sent twice


def test_the_back_off_doubles_from_a_minute_up_to_an_hour():
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert retry_delay(30) == timedelta(hours=1)


def test_the_back_off_stays_an_hour_however_long_the_outage():
    """Transient failures are retried for as long as it takes: after two days of hourly attempts the
    doubling would pass the largest timedelta, and the row would be stuck in `sending`."""
    assert retry_delay(42) == retry_delay(10_000) == timedelta(hours=1)


def test_a_row_being_sent_is_not_taken_by_another_run_until_its_lease_runs_out(clocked, server):
    app = clocked
    with app.uow() as uow:
        outbox.enqueue(uow.session, template="payment_batch_ready", to=["f@example.org"], key="k", now=uow.now(),
                       context={"recipient_name": "F", "batch_ref": "B", "msg_id": "B", "partnership": "P",
                                "transfer_count": 1, "total_amount": "10.00", "execution_date": "2027-03-02"})
        uow.session.flush()
        message = uow.session.scalars(select(OutboxMessage)).one()
        message.status, message.next_attempt_at = "sending", T0 + LEASE  # a run that died after taking it
        uow.commit()
    server.start()

    assert deliver_pending(app, smtp=server.smtp)["sent"] == []
    advance(app, LEASE)
    assert deliver_pending(app, smtp=server.smtp)["sent"] == [1]


def test_a_run_slower_than_its_lease_does_not_overwrite_the_outcome_of_the_run_that_took_the_row_over(
        clocked, server):
    from workflows.services.outbox_delivery import _finish, _take_next

    app = clocked
    with app.uow() as uow:
        outbox.enqueue(uow.session, template="payment_batch_ready", to=["f@example.org"], key="k", now=uow.now(),
                       context={"recipient_name": "F", "batch_ref": "B", "msg_id": "B", "partnership": "P",
                                "transfer_count": 1, "total_amount": "10.00", "execution_date": "2027-03-02"})
        uow.commit()
    server.start()
    taken = _take_next(app, set(), "slow-run")
    assert taken is not None and row(app).lease_owner == "slow-run"
    advance(app, LEASE)  # the slow run's lease runs out: another run takes the row and sends it
    assert deliver_pending(app, smtp=server.smtp)["sent"] == [1]
    assert (row(app).status, row(app).lease_owner) == ("sent", None)
    _finish(app, 1, "slow-run", "421 try again later", True)  # the slow run's SMTP answer, at last
    assert (row(app).status, row(app).attempts) == ("sent", 2)
    assert len(server.recorder.received) == 1


def test_a_permanent_refusal_is_given_up_with_the_reason_and_not_retried(clocked, server):
    app = clocked
    seed_approved_claims(app, 1, partnership_code="CXP-NORTH")
    create_batch(app, "CXP-NORTH")
    server.start(reply="554 5.7.1 Message rejected")

    result = deliver_pending(app, smtp=server.smtp)

    assert result["failed"][0]["status"] == "failed" and "554" in result["failed"][0]["error"]
    advance(app, timedelta(days=1))
    assert deliver_pending(app, smtp=server.smtp) == {"sent": [], "retrying": [], "failed": [], "waiting": 0}


def test_an_email_whose_template_cannot_be_filled_fails_with_the_reason(clocked, server):
    app = clocked
    with app.uow() as uow:
        outbox.enqueue(uow.session, template="payment_batch_ready", to=["f@example.org"], key="k", now=uow.now(),
                       context={"batch_ref": "B"})
        uow.commit()
    server.start()

    failed, = deliver_pending(app, smtp=server.smtp)["failed"]

    assert "cannot be built" in failed["error"] and "is undefined" in failed["error"]
    assert server.recorder.received == []


def test_an_attachment_not_there_yet_postpones_the_email_until_the_file_is_restored(clocked, server):
    app = clocked
    seed_approved_claims(app, 1, partnership_code="CXP-NORTH")
    batch = create_batch(app, "CXP-NORTH")
    xml = Path(batch["files"][0])
    content = xml.read_bytes()
    xml.unlink()
    server.start()

    retry, = deliver_pending(app, smtp=server.smtp)["retrying"]
    assert f"attachment {xml.name} is not there yet" in retry["error"]

    xml.write_bytes(content)
    advance(app, retry_delay(1))
    assert deliver_pending(app, smtp=server.smtp)["sent"] == [1]


def test_a_portal_path_queued_by_a_process_is_sent_as_the_address_of_the_page(clocked, server):
    app = clocked
    with app.uow() as uow:
        outbox.enqueue(uow.session, template="match_proposed", to=["v@example.org"], key="mp", now=uow.now(),
                       context={"recipient_name": "Nova", "organisation": "Nova", "exchange_id": "EX-000001",
                                "partner_organisation": "Helix", "partner_country": "AT",
                                "start_date": "2027-02-01", "end_date": "2027-03-01", "respond_by": "2027-03-20",
                                "reasons": ["preferred by the visitor"], "portal_path": "/my"})
        uow.commit()
    server.start()

    deliver_pending(app, smtp=server.smtp)

    message, = server.recorder.received
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert app.settings.link("/my") in text and "preferred by the visitor" in text
