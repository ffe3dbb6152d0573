"""What the demo shows of the applicants' front door when it stops on a day: besides the host offers
the first call published, a draft visitor application to the next call, prepared (through the same
use case as /my/applications/new) by the applicant the README signs in as, so that /my shows a draft
to finish and submit once that call opens; and two organisations that registered themselves through
the same use cases as /register and /verify — one approved by its partnership's officer (its user
`aurora` may apply), one still waiting in the officers' inbox for its assessment."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from workflows.app import App
from workflows.db.models import Application, Call
from workflows.db.process_models import HumanTask, OutboxMessage
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


# The two organisations that register themselves: (username, legal id, legal name, country, GeoNames id of
# the city, partnership, approved at once by an officer).
REGISTERED = (
    ("aurora", "EE10000001", "Aurora Digital Cluster", "EE", 588335, "CXP-NORTH", True),
    ("borealis", "PT500000001", "Borealis Agri-Food Cluster", "PT", 2742032, "CXP-SOUTH", False),
)


def register_organisations(app: App) -> list[str]:
    """Register the two organisations (once), verify their addresses with the links of their emails, and
    have an officer of its partnership approve the first; the usernames registered now. In development
    mode their users get the demo users' password (`with_passwords`); otherwise none anyone knows."""
    import re
    import secrets

    from workflows.db.models import User
    from workflows.db.registration_models import Registration
    from workflows.demo.signins import with_passwords
    from workflows.services.inbox import complete_task
    from workflows.services.registrations import parse, register, verify

    made = []
    for username, legal_id, name, country, city_id, partnership, approve in REGISTERED:
        data = {"legal_name": name, "legal_id": legal_id, "org_type": "cluster_organisation", "country": country,
                "city_id": city_id, "sectors": ["digital", "agri_food"], "cluster_member": True,
                "contact_email": f"contact@{username}.example", "partnership": partnership,
                "name": f"{username.title()} Applicant", "email": f"{username}@{username}.example",
                "username": username, "password": secrets.token_urlsafe(18)}
        try:
            register(app, parse(app, data), "demo")
        except ServiceError:  # made already (a demo stopped twice), or the username is taken: nothing new
            continue
        with app.uow() as uow:
            user = uow.session.scalars(select(User).where(User.username == username)).one()
            with_passwords(app.settings, [user], app.wall_clock())
            reg_id = uow.session.scalars(select(Registration.id).where(Registration.user_id == user.id)).one()
            link = uow.session.scalars(select(OutboxMessage.context).where(
                OutboxMessage.template == "registration_verify").order_by(OutboxMessage.id.desc())).first()
            uow.commit()
        found = re.search(r"token=([A-Za-z0-9_-]+)", str((link or {}).get("link", "")))
        if found is None:
            continue
        verify(app, found.group(1))  # the applicant opens the link of the email
        made.append(username)
        if approve:
            with app.uow() as uow:
                task = uow.session.scalars(select(HumanTask).where(
                    HumanTask.task_spec == "assess_registration", HumanTask.status == "open",
                    HumanTask.subject_ref == f"REG-{reg_id:05d}")).one()
                officer = uow.session.scalars(select(User.username).where(
                    User.role == "officer", User.partnership_id == task.partnership_id, User.active)
                    .order_by(User.id)).first()
                task_id = task.id
            if officer is not None:
                complete_task(app, task_id, principal_by_name(app, officer), {"decision": "approve"})
    return made
