"""Registration of an organisation in the product (SPEC §13 "Registration"): the organisation and its
first user, the one-use verification link (only its SHA-256 is kept), the partnership that assesses it
and the outcome; and the per-client counts that rate-limit registrations (workflows/services/throttle.py)."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workflows.db.base import Base, UTCDateTime


class RegistrationStatus(enum.StrEnum):
    """Where a registration stands; the organisation carries the same value (`registration_status`)."""

    PENDING_VERIFICATION = "pending_verification"  # the address is not verified yet
    VERIFIED = "verified"  # waiting for the partnership's assessment
    INFORMATION_REQUESTED = "information_requested"  # the officers asked the applicant a question
    APPROVED = "approved"
    REJECTED = "rejected"


STATUSES_SQL = ", ".join(f"'{s.value}'" for s in RegistrationStatus)


class Registration(Base):
    """One organisation's registration (one per organisation; imported organisations have none)."""

    __tablename__ = "registrations"
    __table_args__ = (CheckConstraint(f"status IN ({STATUSES_SQL})", name="registration_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), unique=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(30))
    token_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)  # None once used
    token_expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    decided_by: Mapped[str | None] = mapped_column(String(80), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)  # of a rejection
    question: Mapped[str | None] = mapped_column(Text, default=None)  # the officers' last question
    answer: Mapped[str | None] = mapped_column(Text, default=None)  # the applicant's last answer
    client_sha256: Mapped[str | None] = mapped_column(String(64), default=None)  # who sent it, hashed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RequestCount(Base):
    """Requests counted per key (e.g. registrations per client address) in a fixed window, on the wall
    clock: `hits` since the window began; the count starts again once `window_ends` has passed."""

    __tablename__ = "request_counts"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    window_ends: Mapped[datetime] = mapped_column(UTCDateTime())
