"""Programme records of SPEC §2: partnerships, users, organisations, calls, events, applications,
match proposals, exchanges and claims. One class per table; statuses are named constants."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflows.db.base import Base, UTCDateTime
from workflows.db.folding import organisation_fold

ROLES = ("applicant", "officer", "finance", "auditor", "administrator")


class Partnership(Base):
    __tablename__ = "partnerships"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    debtor_name: Mapped[str] = mapped_column(String(140))
    debtor_iban: Mapped[str] = mapped_column(String(34))
    debtor_bic: Mapped[str | None] = mapped_column(String(11))
    country: Mapped[str] = mapped_column(String(2))


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(20))
    partnership_id: Mapped[int | None] = mapped_column(ForeignKey("partnerships.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # sign-in (workflows/services/accounts.py): no password hash, no sign-in
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    # on the wall clock (App.wall_clock); failed sign-ins are counted per username in sign_in_attempts
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    partnership: Mapped[Partnership | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()


class ConflictDeclaration(Base):
    """A user declared a conflict of interest with an organisation (R-4EYES)."""

    __tablename__ = "conflict_declarations"
    __table_args__ = (UniqueConstraint("user_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint("registration_status IN ('pending_verification', 'verified', "
                                      "'information_requested', 'approved', 'rejected')",
                                      name="registration_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    legal_id: Mapped[str] = mapped_column(String(40), unique=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    org_type: Mapped[str] = mapped_column(String(40))
    cluster_member: Mapped[bool] = mapped_column(Boolean, default=False)
    host_prior_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    country: Mapped[str] = mapped_column(String(2))
    subdivision: Mapped[str | None] = mapped_column(String(10))
    region_category: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str] = mapped_column(String(120))
    latitude: Mapped[float] = mapped_column()
    longitude: Mapped[float] = mapped_column()
    sectors: Mapped[list[Any]] = mapped_column(default=list)
    contact_email: Mapped[str] = mapped_column(String(254))
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    account_holder: Mapped[str | None] = mapped_column(String(140))
    partnership_id: Mapped[int | None] = mapped_column(ForeignKey("partnerships.id"))
    # a deactivated organisation can neither apply nor be matched; its records and history stay
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    deactivated_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # legal name, legal id and city folded (workflows/db/folding.py), kept by the listener below on every
    # insert and update: what the searches match, in any script, case or accent
    search_fold: Mapped[str] = mapped_column(Text, default="", server_default="")
    # where its registration stands (workflows/db/registration_models.py): an imported organisation is
    # approved; one that registered itself applies only once its partnership approved it
    registration_status: Mapped[str] = mapped_column(String(30), default="approved", server_default="approved")


@event.listens_for(Organisation, "before_insert")
@event.listens_for(Organisation, "before_update")
def _fold_organisation(_mapper: Any, _connection: Any, org: Organisation) -> None:
    org.search_fold = organisation_fold(org.legal_name, org.legal_id, org.city)


class RuleSetRecord(Base):
    """A stored rule-set version (the data of `rules.ruleset.RuleSet`), kept once by its content:
    `sha256` is `rules.ruleset.rule_set_digest` (the values without the version's name)."""

    __tablename__ = "rule_sets"

    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sha256: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    created_by: Mapped[str | None] = mapped_column(String(80), default=None)


call_partnerships = Table(
    "call_partnerships",
    Base.metadata,
    Column("call_id", ForeignKey("calls.id"), primary_key=True),
    Column("partnership_id", ForeignKey("partnerships.id"), primary_key=True),
)


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    lead_partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"))
    lead_partnership: Mapped[Partnership] = relationship(foreign_keys=[lead_partnership_id])
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    matching_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    budget: Mapped[Decimal] = mapped_column()
    rule_set_version: Mapped[str] = mapped_column(ForeignKey("rule_sets.version"))
    formats: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_reason: Mapped[str | None] = mapped_column(Text, default=None)
    partnerships: Mapped[list[Partnership]] = relationship(secondary=call_partnerships)
    events: Mapped[list[CallEvent]] = relationship(back_populates="call", order_by="CallEvent.starts_on")


class CallEvent(Base):
    """A marketplace window or event of a call."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200), default="online")
    call: Mapped[Call] = relationship(back_populates="events")


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (Index("ix_applications_call_role_status", "call_id", "role", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"))
    role: Mapped[str] = mapped_column(String(10))
    format: Mapped[str] = mapped_column(String(30), default="exchange_visit")
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    sectors: Mapped[list[Any]] = mapped_column(default=list)
    wished_countries: Mapped[list[Any]] = mapped_column(default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=0)
    topics: Mapped[list[Any]] = mapped_column(default=list)
    activities_offered: Mapped[list[Any]] = mapped_column(default=list)
    motivation: Mapped[str] = mapped_column(Text, default="")
    declaration_given: Mapped[bool] = mapped_column(Boolean, default=False)
    audit_rights_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="submitted")
    eligibility: Mapped[dict[str, Any] | None] = mapped_column()
    # a visitor's preferred host offers (application ids, at most three): the solver's bonus
    preferred_offers: Mapped[list[Any] | None] = mapped_column(default=None)
    organisation: Mapped[Organisation] = relationship()


class MatchProposal(Base):
    __tablename__ = "match_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"))
    round: Mapped[int] = mapped_column(Integer)
    visitor_application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    host_application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    score: Mapped[Decimal] = mapped_column()
    explanation: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Exchange(Base):
    """One per visitor application: the main lifecycle record."""

    __tablename__ = "exchanges"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    visitor_application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    visitor_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    visitor_partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"))
    host_application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    host_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    host_partnership_id: Mapped[int | None] = mapped_column(ForeignKey("partnerships.id"))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("match_proposals.id"))
    format: Mapped[str] = mapped_column(String(30))
    arrival: Mapped[date | None] = mapped_column(Date)
    departure: Mapped[date | None] = mapped_column(Date)
    agenda: Mapped[dict[str, Any] | None] = mapped_column()
    extensions: Mapped[list[Any]] = mapped_column(default=list)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    evidence: Mapped[dict[str, Any] | None] = mapped_column()
    working_days: Mapped[dict[str, Any] | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(30), default="submitted", index=True)
    outcome: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Claim(Base):
    """The grant claim of an exchange: amount, how it was computed, who validated and approved."""

    __tablename__ = "claims"
    __table_args__ = (Index("ix_claims_partnership_status", "partnership_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id"), unique=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"))
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"))
    amount: Mapped[Decimal] = mapped_column()
    computation: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="computed")
    status_reason: Mapped[str | None] = mapped_column(String(300))
    validated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    override: Mapped[dict[str, Any] | None] = mapped_column()
    creditor_name: Mapped[str | None] = mapped_column(String(140))
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    batch_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BudgetReservation(Base):
    """R-BUDGET without holding the call row for a whole step: a grant's commitment, taken in a short
    transaction of its own (the call row locked only there) and committed at once, before the step
    that commits the grant ends. The step adopts it — deletes it in the transaction that marks the
    claim committed — so an amount counts once, as a reservation or as a committed claim, never both
    and never neither. A retried step finds its exchange's reservation and reuses it; a cancellation
    deletes it; one whose step was killed is swept by the next reservation of the call
    (`workflows.budget`)."""

    __tablename__ = "budget_reservations"

    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id"), primary_key=True, autoincrement=False)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    amount: Mapped[Decimal] = mapped_column()
    decision: Mapped[dict[str, Any]] = mapped_column()  # R-BUDGET's decision when reserved, reused on retry
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClaimStatus:
    """Named claim statuses; commitments count against the call budget (R-BUDGET)."""

    COMPUTED = "computed"
    WAITING_BUDGET = "waiting_budget"
    COMMITTED = "committed"
    APPROVED = "approved"
    HELD = "held"
    BATCHED = "batched"
    REJECTED = "rejected"
    PAID = "paid"
    RELEASED = "released"
    COMMITTING = (COMMITTED, APPROVED, HELD, BATCHED, REJECTED)


class EvidenceFile(Base):
    """An evidence file uploaded for an exchange, stored once by content hash outside any web root
    (`<files_dir>/evidence/ab/cd/<sha256>`); the closing report's documents name it by its hash."""

    __tablename__ = "evidence_files"
    __table_args__ = (UniqueConstraint("exchange_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(40))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
