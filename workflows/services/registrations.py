"""Registration of an organisation in the product (SPEC §13 "Registration").

- `register`: anyone (no sign-in) registers an organisation and its first user; every field is checked
  like an import (legal id unique, ISO country, a subdivision the holidays library knows, a city picked
  from the list with its coordinates), the password as for accounts. The organisation exists but may not
  apply (`access.may_apply`) until its partnership approves it. A one-use link valid 48 hours is mailed
  through the outbox in the same transaction; only its SHA-256 is kept. Registrations are counted per
  client address (`throttle.count_request`): past `registrations_per_hour`, `Throttled`.
- `verify`: the link, used once, verifies the address and starts the `registration` process, whose
  `assess_registration` task waits in the chosen partnership's officers' inbox (approve, reject with a
  reason, ask for information — the applicant answers in their own task and the question comes back).
  Each outcome is mailed by the process's service tasks (tasks/registration_services.py).

Bad input writes nothing and names each field; one transaction per use case."""
from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import select

from workflows.app import App
from workflows.audit import Actor
from workflows.db.models import Organisation, Partnership, User
from workflows.db.registration_models import Registration, RegistrationStatus
from workflows.services import FieldError, Invalid, Throttled
from workflows.services.registration_inputs import RegistrationIn, RegistrationOut, VerificationOut
from workflows.uow import UnitOfWork

LINK_VALID = timedelta(hours=48)
WINDOW = timedelta(hours=1)
ANONYMOUS = Actor(None, "anonymous", "anonymous")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _abandoned(uow: UnitOfWork, *, organisation_id: int | None = None, user_id: int | None = None) -> Registration | None:
    """The registration of that organisation (or first user) if it was abandoned: its address never
    verified and its last link expired. It holds its legal id and username no longer — a typo in an
    address must not keep an organisation out for ever; until then, the old link renews itself."""
    where = (Registration.organisation_id == organisation_id) if organisation_id is not None else (
        Registration.user_id == user_id)
    reg = uow.session.scalars(select(Registration).where(where)).first()
    if reg is None or reg.verified_at is not None or reg.status != RegistrationStatus.PENDING_VERIFICATION:
        return None
    return reg if uow.now() > reg.token_expires_at else None


def problems(uow: UnitOfWork, legal_id: str, partnership: str, username: str,
             username_chosen: bool) -> list[FieldError]:
    """What the database says is wrong with the form (empty: nothing). A legal id or username held only
    by an abandoned registration (`_abandoned`) is free."""
    s = uow.session
    out: list[FieldError] = []
    taken = s.scalars(select(Organisation).where(Organisation.legal_id == legal_id)).first() if legal_id else None
    if taken is not None and _abandoned(uow, organisation_id=taken.id) is None:
        out.append(FieldError(("legal_id",), f"{legal_id!r} is already registered (by {taken.legal_name}); "
                                             "if it is yours, ask your partnership's officer for an account"))
    if partnership and s.scalar(select(Partnership.id).where(Partnership.code == partnership)) is None:
        out.append(FieldError(("partnership",), f"no partnership {partnership!r}; pick one of the list"))
    user_id = s.scalar(select(User.id).where(User.username == username)) if username else None
    if user_id is not None and _abandoned(uow, user_id=user_id) is None:
        field = "username" if username_chosen else "email"
        out.append(FieldError((field,), f"the username {username!r} is taken; choose another username"))
    return out


def _release_abandoned(uow: UnitOfWork, legal_id: str, username: str) -> None:
    """Remove the abandoned registrations holding `legal_id` or `username` — the organisation, its first
    user (with any session or token) and the registration, none of which ever did anything — and say so
    on the audit trail, before a new registration takes them."""
    from sqlalchemy import delete

    from workflows.db.account_models import ApiToken, WebSession

    s = uow.session
    held = [s.scalar(select(Organisation.id).where(Organisation.legal_id == legal_id)),
            s.scalar(select(User.id).where(User.username == username))]
    found = {reg.id: reg for reg in (
        _abandoned(uow, organisation_id=held[0]) if held[0] is not None else None,
        _abandoned(uow, user_id=held[1]) if held[1] is not None else None) if reg is not None}
    for reg in found.values():
        org, user = s.get(Organisation, reg.organisation_id), s.get(User, reg.user_id)
        assert org is not None and user is not None  # the registration's foreign keys
        uow.audit(ANONYMOUS, "registration_abandoned", subject=f"registration:{reg.id}", after={
            "organisation": org.legal_id, "legal_name": org.legal_name, "username": user.username,
            "link_expired_at": reg.token_expires_at})
        s.delete(reg)
        s.flush()
        s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        s.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
        s.delete(user)
        s.flush()
        s.delete(org)
        s.flush()


def parse(app: App, data: dict[str, Any]) -> RegistrationIn:
    """The form's values as the one model, or `Invalid` naming every wrong field at once: the model's
    own checks, the password's, and what the database knows (a legal id or username already used)."""
    from pydantic import ValidationError

    from workflows.services.accounts import check_password
    from workflows.services.registration_inputs import field_errors

    fields: list[FieldError] = []
    form: RegistrationIn | None = None
    try:
        form = RegistrationIn.model_validate(data)
    except ValidationError as err:
        fields = field_errors(err)
    wrong = {f.field for f in fields}
    if "password" not in wrong:
        try:
            check_password(app.settings, str(data.get("password") or ""))
        except Invalid as err:
            fields.extend(err.fields)
    def valid(name: str) -> str:  # a value the model accepted, else none to look up
        return "" if name in wrong else str(data.get(name) or "").strip()

    username = form.derived_username() if form is not None else valid("username")
    with app.uow() as uow:
        fields.extend(problems(uow, valid("legal_id"), valid("partnership"), username, bool(valid("username"))))
    if fields or form is None:
        raise Invalid("; ".join(f"{f.field}: {f.msg}" for f in fields), fields)
    return form


def _link_mail(app: App, uow: UnitOfWork, reg: Registration, org: Organisation, user: User, token: str) -> None:
    from workflows.outbox import enqueue

    enqueue(uow.session, template="registration_verify", to=[org.contact_email],
            key=f"registration_verify:{reg.id}:{reg.token_sha256}", now=uow.now(), context={
                "recipient_name": user.display_name, "organisation": org.legal_name, "username": user.username,
                "valid_hours": int(LINK_VALID.total_seconds() // 3600),
                "valid_until": f"{reg.token_expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC", "link": app.settings.link(f"/verify?token={token}")})


def _new_token(uow: UnitOfWork, reg: Registration) -> str:
    token = secrets.token_urlsafe(32)
    reg.token_sha256, reg.token_expires_at = digest(token), uow.now() + LINK_VALID
    return token


def register(app: App, form: RegistrationIn, client: str) -> RegistrationOut:
    """Register an organisation and its first user (`client`: the client's address, for the rate limit;
    only its SHA-256 is kept)."""
    from workflows.services.accounts import check_password, hash_password
    from workflows.services.throttle import count_request

    username = form.derived_username()
    fields: list[FieldError] = []
    try:
        check_password(app.settings, form.password)
    except Invalid as err:
        fields.extend(err.fields)
    password_hash = None if fields else hash_password(form.password)  # the slow part, outside any transaction
    client_sha = digest(client or "unknown")
    with app.uow() as uow:
        wait = count_request(uow.connection, f"register:{client_sha}", app.settings.registrations_per_hour,
                             WINDOW, app.wall_clock())
        if wait is not None:
            uow.audit(ANONYMOUS, "registration_throttled", subject="registration", after={"client": client_sha})
            uow.commit()  # the refusal is on the trail; the count stays what it was (it was over already)
            raise Throttled(f"too many registrations from your address: at most "
                            f"{app.settings.registrations_per_hour} an hour; try again in {wait} s", wait)
        fields = problems(uow, form.legal_id, form.partnership, username, bool(form.username)) + fields
        if fields:
            raise Invalid("; ".join(f"{f.field}: {f.msg}" for f in fields), fields)
        _release_abandoned(uow, form.legal_id, username)
        partnership = uow.session.scalars(select(Partnership).where(Partnership.code == form.partnership)).one()
        city, latitude, longitude = form.city()
        org = Organisation(legal_id=form.legal_id, legal_name=form.legal_name, org_type=form.org_type,
                           cluster_member=form.cluster_member, host_prior_approval=False, country=form.country,
                           subdivision=form.subdivision, city=city, latitude=latitude, longitude=longitude,
                           sectors=list(form.sectors), contact_email=form.contact_email,
                           partnership_id=partnership.id, active=True,
                           registration_status=RegistrationStatus.PENDING_VERIFICATION)
        uow.session.add(org)
        uow.session.flush()
        user = User(username=username, display_name=form.name, email=form.email, role="applicant",
                    organisation_id=org.id, active=True, password_hash=password_hash,
                    password_changed_at=app.wall_clock())
        uow.session.add(user)
        uow.session.flush()
        reg = Registration(organisation_id=org.id, partnership_id=partnership.id, user_id=user.id,
                           status=RegistrationStatus.PENDING_VERIFICATION, client_sha256=client_sha,
                           created_at=uow.now())
        token = _new_token(uow, reg)
        uow.session.add(reg)
        uow.session.flush()
        actor = Actor(user.id, user.username, "applicant")
        uow.audit(actor, "registration_received", subject=f"registration:{reg.id}", after={
            "organisation": org.legal_id, "legal_name": org.legal_name, "country": org.country, "city": city,
            "partnership": partnership.code, "username": username, "client": client_sha})
        _link_mail(app, uow, reg, org, user, token)
        uow.commit()
    return RegistrationOut(organisation=form.legal_id, username=username)


def verify(app: App, token: str) -> VerificationOut:
    """Use the link of the email once: the address is verified and the partnership's officers get the
    `assess_registration` task. A link used already, or older than 48 hours, is refused with a sentence
    (an expired one sends a new link to the same address, once)."""
    from workflows.services.lifecycle import start

    with app.uow() as uow:
        reg = (uow.session.scalars(select(Registration).where(Registration.token_sha256 == digest(token)))
               .first() if token else None)
        if reg is None:
            raise Invalid.field("token", "this link is not one we sent, or a newer link replaced it: use the "
                                         "link of the latest email")
        org = uow.session.get(Organisation, reg.organisation_id)
        user = uow.session.get(User, reg.user_id)
        partnership = uow.session.get(Partnership, reg.partnership_id)
        assert org is not None and user is not None and partnership is not None
        if reg.verified_at is not None:
            raise Invalid.field("token", f"this link was used already: the address of {org.legal_name} was "
                                         f"verified on {reg.verified_at:%Y-%m-%d %H:%M} UTC; sign in as "
                                         f"{user.username} to follow the registration")
        if uow.now() > reg.token_expires_at:
            expired = reg.token_expires_at
            _link_mail(app, uow, reg, org, user, _new_token(uow, reg))
            uow.audit(ANONYMOUS, "registration_link_renewed", subject=f"registration:{reg.id}",
                      after={"expired_at": expired})
            uow.commit()
            raise Invalid.field("token", f"this link expired on {expired:%Y-%m-%d %H:%M} UTC (links are valid "
                                         f"48 hours): a new link was sent to {org.contact_email}")
        now = uow.now()
        reg.status = org.registration_status = RegistrationStatus.VERIFIED
        reg.verified_at = now
        actor = Actor(user.id, user.username, "applicant")
        uow.audit(actor, "registration_verified", subject=f"registration:{reg.id}",
                  after={"organisation": org.legal_id})
        start(app, uow, "registration", "registration", reg.id, {
            "registration_id": reg.id, "organisation_id": org.id, "partnership_id": reg.partnership_id,
            "subject_ref": f"REG-{reg.id:05d}", "organisation_name": org.legal_name}, actor)
        next_step = (f"{partnership.name} assesses the registration; you are told the outcome by email. "
                     f"Meanwhile you may sign in as {user.username}.")
        _received_mail(app, uow, reg, org, user, partnership, next_step)
        out = VerificationOut(organisation=org.legal_id, legal_name=org.legal_name, username=user.username,
                              status=reg.status, partnership=partnership.name, verified_at=now, next_step=next_step)
        uow.commit()
        return out


def _received_mail(app: App, uow: UnitOfWork, reg: Registration, org: Organisation, user: User,
                   partnership: Partnership, next_step: str) -> None:
    from workflows.outbox import enqueue

    enqueue(uow.session, template="registration_received", to=[org.contact_email],
            key=f"registration_received:{reg.id}", now=uow.now(), context={
                "recipient_name": user.display_name, "organisation": org.legal_name,
                "partnership": partnership.name, "next_step": next_step, "link": app.settings.link("/my")})


def refusal(uow: UnitOfWork, organisation: Organisation) -> str | None:
    """Why an organisation may not apply yet because of its registration, in words; None when approved."""
    status = organisation.registration_status
    if status == RegistrationStatus.APPROVED:
        return None
    reg = uow.session.scalars(select(Registration).where(Registration.organisation_id == organisation.id)).first()
    if status == RegistrationStatus.PENDING_VERIFICATION:
        return ("its registration is not verified yet: open the link of the email sent to "
                f"{organisation.contact_email}")
    if status == RegistrationStatus.VERIFIED:
        return "its registration waits for the partnership's assessment"
    if status == RegistrationStatus.INFORMATION_REQUESTED:
        question = f" ({reg.question})" if reg is not None and reg.question else ""
        return f"the partnership asked for information about its registration{question}: answer it in your tasks"
    reason = reg.reason if reg is not None and reg.reason else "no reason given"
    return f"its registration was rejected: {reason}"


def partnerships(app: App) -> list[tuple[str, str]]:
    """(code, name) of the partnerships an organisation may choose to assess its registration."""
    with app.uow() as uow:
        return [(code, name) for code, name in uow.session.execute(
            select(Partnership.code, Partnership.name).order_by(Partnership.name))]
