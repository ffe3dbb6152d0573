"""The demo's sign-ins: every demo user's password (development mode only) and, once the demo has run,
a few users per role worth signing in as — for the README and `make run` to print."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.db.models import Exchange, Organisation, Partnership, User
from workflows.db.process_models import HumanTask, PaymentBatch

if TYPE_CHECKING:
    from workflows.app import App
    from workflows.settings import Settings


def with_passwords(settings: Settings, people: list[User], now: datetime) -> list[User]:
    """`people`, each given the password `CXP_DEMO_PASSWORD` in development mode (none in production:
    there is no default password there, and a demo user without one cannot sign in).

    The password is hashed once and every demo user gets that same hash: argon2 is slow on purpose
    (tens of milliseconds and 64 MiB a hash), and hashing each of the 60-odd demo users would add
    seconds to the demo for nothing — they share the password anyway. Argon2 salts each hash, so
    sharing one hash only shows what is already true: the demo's users have the same password."""
    if not settings.development or not settings.demo_password:
        return people
    from workflows.services.accounts import hash_password

    shared = hash_password(settings.demo_password)
    for person in people:
        person.password_hash, person.password_changed_at = shared, now
    return people


@dataclass(frozen=True)
class DemoSignin:
    """One user to sign in as: who, in which partnership or organisation, and why this one."""

    username: str
    role: str
    partnership: str | None
    organisation: str | None
    why: str
    password: str | None  # CXP_DEMO_PASSWORD in development mode, else None (set one: cxp users passwd)


def demo_signins(app: App) -> list[DemoSignin]:
    """The administrator, the auditor, an officer with open tasks (else the first), a finance user of a
    partnership with payment batches, and an applicant whose organisation has an exchange (one with an
    open task if any) — those that exist in the database, in that order."""
    with app.uow() as uow:
        s = uow.session
        picks: list[tuple[User | None, str]] = [
            (s.scalars(select(User).where(User.role == "administrator", User.active).order_by(User.id)).first(),
             "manages calls, users, rule sets and process versions"),
            (s.scalars(select(User).where(User.role == "auditor", User.active).order_by(User.id)).first(),
             "reads every partnership: search, history, sampling, export, chain verification"),
            _officer(s), _finance(s), _applicant(s),
        ]
        password = app.settings.demo_password if app.settings.development else None
        found = []
        for user, why in picks:
            if user is None:
                continue
            part = s.get(Partnership, user.partnership_id) if user.partnership_id else None
            org = s.get(Organisation, user.organisation_id) if user.organisation_id else None
            found.append(DemoSignin(user.username, user.role, part.code if part else None,
                                    org.legal_id if org else None, why,
                                    password if user.password_hash is not None else None))
        return found


def _first_of(s: Session, role: str, **where: int | None) -> User | None:
    query = select(User).where(User.role == role, User.active)
    for column, value in where.items():
        query = query.where(getattr(User, column) == value)
    return s.scalars(query.order_by(User.id)).first()


def _officer(s: Session) -> tuple[User | None, str]:
    busiest = s.execute(select(HumanTask.partnership_id, func.count()).where(
        HumanTask.status == "open", HumanTask.role == "officer", HumanTask.partnership_id.is_not(None))
        .group_by(HumanTask.partnership_id).order_by(func.count().desc(), HumanTask.partnership_id)).first()
    if busiest is not None:
        return _first_of(s, "officer", partnership_id=busiest[0]), f"{busiest[1]} open officer tasks in the inbox"
    return _first_of(s, "officer"), "reviews applications, proposals, evidence and payments"


def _finance(s: Session) -> tuple[User | None, str]:
    waiting = s.execute(select(PaymentBatch.partnership_id, func.count()).where(PaymentBatch.status == "created")
                        .group_by(PaymentBatch.partnership_id)
                        .order_by(func.count().desc(), PaymentBatch.partnership_id)).first()
    if waiting is not None:
        return (_first_of(s, "finance", partnership_id=waiting[0]),
                f"{waiting[1]} payment batch(es) waiting to be released, and the bank's answers")
    most = s.execute(select(PaymentBatch.partnership_id, func.count()).group_by(
        PaymentBatch.partnership_id).order_by(func.count().desc(), PaymentBatch.partnership_id)).first()
    if most is not None:
        return (_first_of(s, "finance", partnership_id=most[0]),
                f"{most[1]} payment batches of their partnership: files, release, the bank's answers")
    return _first_of(s, "finance"), "payment batches and the bank's answers"


def _applicant(s: Session) -> tuple[User | None, str]:
    waiting = s.execute(select(HumanTask.organisation_id, HumanTask.subject_ref).where(
        HumanTask.status == "open", HumanTask.role == "applicant", HumanTask.organisation_id.is_not(None))
        .order_by(HumanTask.id)).first()
    if waiting is not None:
        return _first_of(s, "applicant", organisation_id=waiting[0]), f"an open task of {waiting[1] or 'theirs'}"
    exchange = s.execute(select(Exchange.visitor_org_id, Exchange.ref, Exchange.status)
                         .order_by((Exchange.status == "closed").desc(), Exchange.id)).first()
    if exchange is not None:
        return (_first_of(s, "applicant", organisation_id=exchange[0]),
                f"the visitor of {exchange[1]} ({exchange[2].replace('_', ' ')})")
    return _first_of(s, "applicant"), "applies to calls and reports on visits"


__all__ = ["DemoSignin", "demo_signins", "with_passwords"]
