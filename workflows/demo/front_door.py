"""What the demo shows of the applicants' front door when it stops on a day: besides the host offers
the first call published, a draft visitor application to the next call, prepared (through the same
use case as /my/applications/new) by the applicant the README signs in as, so that /my shows a draft
to finish and submit once that call opens."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from workflows.app import App
from workflows.db.models import Application, Call
from workflows.services import ServiceError
from workflows.services.access import principal_by_name


def prepare_draft(app: App) -> int | None:
    """The draft's id (made once; None when no call is published and still ahead, or no applicant)."""
    from workflows.demo.signins import demo_signins
    from workflows.services.application_inputs import ApplicationIn
    from workflows.services.applications import create_application

    applicant = next((s for s in demo_signins(app) if s.role == "applicant"), None)
    if applicant is None:
        return None
    principal = principal_by_name(app, applicant.username)
    with app.uow() as uow:
        today = uow.now().date()
        call = uow.session.scalars(select(Call).where(Call.status.in_(("published", "open")), Call.closes_on >= today)
                                   .order_by(Call.opens_on)).first()
        if call is None:
            return None
        made = uow.session.scalars(select(Application.id).where(
            Application.call_id == call.id, Application.organisation_id == principal.organisation_id,
            Application.status == "draft")).first()
        if made is not None:
            return int(made)
        start, code = max(call.opens_on, today) + timedelta(days=60), call.code
    form = ApplicationIn(call=code, role="visitor", date_from=start, date_to=start + timedelta(days=18),
                         sectors=["digital"], wished_countries=[], submit=False,
                         motivation="Draft: we would like to learn how peers run their digital innovation hubs.")
    try:
        return create_application(app, principal, form).id
    except ServiceError:  # e.g. the organisation was deactivated in this run: no draft to show
        return None
