"""Every email the processes queue must render with its template: a missing value would otherwise be
found only by the outbox, at delivery time, as a failed email. And every one of them links to the page
where its reader acts or reads more (issue 19 point 6, issue 20 point 9), in the text and the HTML."""
from __future__ import annotations

from sqlalchemy import func, select

from workflows.db.process_models import OutboxMessage
from workflows.demo.run import run_demo
from workflows.mail import render_email
from workflows.services.outbox_delivery import _email


def test_every_email_queued_by_the_demo_renders_with_its_template(tmp_path):
    from workflows.app import App
    from workflows.settings import Settings

    app = App(Settings(database_url=f"sqlite:///{tmp_path}/cxp.db", files_dir=tmp_path / "files"))
    run_demo(app, seed=11, progress=False)
    with app.uow() as uow:
        templates = set(uow.session.scalars(select(OutboxMessage.template)))
        assert {"application_ineligible", "information_requested", "evidence_reminder", "evidence_overdue",
                "correction_needed", "exchange_closed", "payment_batch_ready", "call_published",
                "application_approved", "commitment_to_sign", "grant_decided", "payment_sent"} <= templates
        for message in uow.session.scalars(select(OutboxMessage)):
            subject, text, html = render_email(message.template, message.context)
            assert subject and text and html, message.template
            email = _email(message, app.settings.mail_sender, app.settings.link)  # as the outbox sends it
            base = app.settings.public_url.rstrip("/")
            assert f"{base}/" in email.text and f'href="{base}/' in (email.html or ""), message.template
        assert uow.session.scalar(select(func.count(OutboxMessage.id))) > 20
    app.close()
