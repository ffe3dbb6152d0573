"""The demo's mail room: in development mode the outbox is delivered every simulated day to the local
mail sink (`mailsink.py`) through the outbox delivery service; in production mode the demo sends
nothing and the emails stay queued for the real outbox flow."""
from __future__ import annotations

from typing import Any

from workflows.app import App
from workflows.demo.mailsink import MailSink

BATCH = 200


class MailRoom:
    def __init__(self, app: App, sink: MailSink) -> None:
        self.app, self.sink = app, sink
        self.failed = 0

    @classmethod
    def for_app(cls, app: App) -> MailRoom | None:
        if app.settings.mode != "development":
            return None
        return cls(app, MailSink(app.settings.files_dir, app.settings.mail_sender).start())

    def deliver(self) -> dict[str, Any]:
        """Send every due outbox row to the sink (a few rounds of `deliver_pending`)."""
        from sqlalchemy import select

        from workflows.db.process_models import OutboxMessage
        from workflows.services.outbox_delivery import PENDING, SENDING, deliver_pending

        with self.app.uow() as uow:
            due = uow.session.scalars(select(OutboxMessage.id).where(
                OutboxMessage.status.in_((PENDING, SENDING)), OutboxMessage.next_attempt_at <= uow.now()).limit(1)).first()
        if due is None:
            return {"sent": 0}
        sent = 0
        while True:
            result = deliver_pending(self.app, limit=BATCH, smtp=self.sink.smtp)
            sent += len(result["sent"])
            self.failed += len(result["failed"])
            if len(result["sent"]) + len(result["failed"]) + len(result["retrying"]) < BATCH:
                return {"sent": sent}

    def stop(self) -> None:
        self.sink.stop()

    @property
    def folder(self) -> str:
        return str(self.sink.folder)
