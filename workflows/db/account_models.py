"""Accounts (SPEC §10): API tokens (the secret is shown once, only its SHA-256 is kept), web sessions
(the same: the cookie carries the secret, the table its SHA-256) and the sign-in attempts of each
username. Every moment here is on the wall clock (`App.wall_clock`), never the programme's."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from workflows.db.base import Base, UTCDateTime


class ApiToken(Base):
    """A bearer token of one user: `cxp_<random>` given once; `token_hash` is the hex SHA-256 of it."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class WebSession(Base):
    """A signed-in web session: its cookie carries a random secret, `secret_hash` is its hex SHA-256.
    It holds until `expires_at` (fixed at sign-in), while used at least every `session_idle_minutes`
    (`last_seen_at`, moved at most once a minute), and until it is ended (`ended_at`, `end_reason`:
    logout, password_changed, user_disabled, sessions_ended)."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    end_reason: Mapped[str | None] = mapped_column(String(20), default=None)


class SignInAttempt(Base):
    """The sign-in attempts of one username — a user's or not, alike — counted when they are made,
    before the password is checked (workflows/services/throttle.py).

    `failures`: attempts checked since the last success (each one reserved as a failure until it
    succeeds); `blocked_until`: no attempt is checked before it (a pause, or a lock); `refused`: the
    attempts refused unchecked since the last checked one (the current window), `refused_before`: those
    of the window before it."""

    __tablename__ = "sign_in_attempts"

    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    refused_before: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
