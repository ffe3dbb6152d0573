"""Web sessions, kept on the server: who a page request comes from, and ending sessions.

Signing in on the web opens a session (`open_session`): a row of `web_sessions` holding the SHA-256
of a random secret, which the signed cookie carries (with the CSRF token, and nothing that says who
the user is). `principal_for_session` runs on every page request: one prepared SELECT on the unique
`secret_hash` index joined to the user. A session holds while

- it has not been ended: at logout (`end_session`), or — every session of the user at once, with
  their API tokens — when their password changes, they are disabled, or they or an administrator end
  them all (`end_sessions`, "sign out everywhere");
- its absolute lifetime has not run out (`session_hours`, 8, from sign-in: using it never extends it);
- it has been used within the last `session_idle_minutes` (60): its `last_seen_at` is moved at most
  once a minute, in a transaction of its own that may give up (a busy database never fails a page).

Every moment here is the wall clock's (`App.wall_clock`), never the programme's simulated one.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel
from sqlalchemy import bindparam, insert, literal, select, update
from sqlalchemy.exc import OperationalError

from workflows.db.account_models import WebSession
from workflows.db.base import UTCDateTime, rows_matched, table_of
from workflows.db.models import User
from workflows.db.prepared import Prepared
from workflows.services import NotFound, Unauthenticated
from workflows.services.access import Principal, principal_of, require_self_or_account_admin
from workflows.services.tokens import revoke_all, token_hash

if TYPE_CHECKING:
    from workflows.app import App
    from workflows.uow import UnitOfWork

TOUCH_EVERY = timedelta(minutes=1)
INVALID_SESSION = "the session has ended: sign in again"
MAX_SECRET = 200

_S, _U = table_of(WebSession), table_of(User)
_BY_SECRET = Prepared(
    select(_S.c.id, _S.c.expires_at, _S.c.last_seen_at, _S.c.ended_at, _U.c.id, _U.c.username, _U.c.role,
           _U.c.partnership_id, _U.c.organisation_id, _U.c.display_name, _U.c.active)
    .join_from(_S, _U, _U.c.id == _S.c.user_id).where(_S.c.secret_hash == bindparam("secret_hash")))
_TOUCH = Prepared(update(_S).where(_S.c.id == bindparam("session_id"), _S.c.ended_at.is_(None),
                                   _S.c.last_seen_at <= bindparam("stale")).values(last_seen_at=bindparam("now")))


class SessionsEnded(BaseModel):
    """What ending every session of a user did: the live sessions ended, the API tokens revoked."""

    username: str
    sessions_ended: int
    tokens_revoked: int


def _subject(username: str) -> str:
    return f"user:{username}"[:60]


def open_session(app: App, principal: Principal) -> str:
    """A new web session of `principal`, who has just signed in; its secret, for the cookie only.
    `Unauthenticated` when the user was disabled meanwhile (the row is written only for an active one)."""
    now, secret = app.wall_clock(), secrets.token_urlsafe(32)
    row = select(literal(principal.user_id), literal(token_hash(secret)), literal(now, UTCDateTime()),
                 literal(now + timedelta(hours=app.settings.session_hours), UTCDateTime()),
                 literal(now, UTCDateTime())).where(_U.c.id == principal.user_id, _U.c.active.is_(True))
    with app.uow() as uow:  # one statement that writes: no read first (SQLite's write lock is waited for)
        written = uow.connection.execute(insert(_S).from_select(
            ["user_id", "secret_hash", "created_at", "expires_at", "last_seen_at"], row).returning(_S.c.id)).first()
        uow.commit()
    if written is None:
        raise Unauthenticated(INVALID_SESSION)
    return secret


def principal_for_session(app: App, secret: str) -> Principal:
    """The principal of the session whose cookie carries `secret`; `Unauthenticated` for an unknown,
    ended, expired or idle session, or a disabled user."""
    if not secret or len(secret) > MAX_SECRET:
        raise Unauthenticated(INVALID_SESSION)
    with app.uow() as uow:
        row = _BY_SECRET.first(uow.connection, secret_hash=token_hash(secret))
    if row is None:
        raise Unauthenticated(INVALID_SESSION)
    session_id, expires_at, last_seen_at, ended_at, user_id, username, role, part, org, name, active = row
    now = app.wall_clock()
    idle = timedelta(minutes=app.settings.session_idle_minutes)
    if ended_at is not None or not active or now >= expires_at or now - last_seen_at >= idle:
        raise Unauthenticated(INVALID_SESSION)
    if now - last_seen_at >= TOUCH_EVERY:
        _touch(app, session_id, now)
    return Principal(user_id, username, role, part, org, name)


def _touch(app: App, session_id: int, now: datetime) -> None:
    """Move the session's `last_seen_at`, in a transaction of its own that writes first; given up when
    the database refuses (busy): the page is answered all the same."""
    try:
        with app.uow() as uow:
            _TOUCH.execute(uow.connection, session_id=session_id, stale=now - TOUCH_EVERY, now=now)
            uow.commit()
    except OperationalError:
        pass


def end_session(app: App, secret: str) -> None:
    """Sign out: the session whose cookie carries `secret` ends now (audited as `logout`); nothing for
    an unknown or already ended one."""
    if not secret or len(secret) > MAX_SECRET:
        return
    with app.uow() as uow:
        ended = uow.connection.execute(
            update(_S).where(_S.c.secret_hash == token_hash(secret), _S.c.ended_at.is_(None))
            .values(ended_at=app.wall_clock(), end_reason="logout").returning(_S.c.user_id)).first()
        if ended is None:
            return
        user = uow.session.get(User, ended[0])
        if user is not None:
            uow.audit(principal_of(user).actor, "logout", subject=_subject(user.username))
        uow.commit()


def end_all(uow: UnitOfWork, app: App, user_id: int, reason: str) -> int:
    """End every live session of the user (`reason` recorded), in the caller's transaction; how many."""
    now = app.wall_clock()
    idle = timedelta(minutes=app.settings.session_idle_minutes)
    return rows_matched(uow.session.execute(update(WebSession).where(
        WebSession.user_id == user_id, WebSession.ended_at.is_(None), WebSession.expires_at > now,
        WebSession.last_seen_at > now - idle).values(ended_at=now, end_reason=reason)))


def end_sessions(app: App, actor: Principal, username: str) -> SessionsEnded:
    """"Sign out everywhere": every web session of `username` ends and every API token of theirs is
    revoked, at once (the user themself, or an administrator for someone else). Audited as
    `sessions_ended` with the counts."""
    with app.uow() as uow:
        uow.write_lock()  # SQLite: it reads the user, then writes; pages touching sessions meanwhile
        require_self_or_account_admin(app, uow, actor, username, "end the sessions", subject=_subject(username))
        user = uow.session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise NotFound(f"user: no user '{username}'")
        done = SessionsEnded(username=username, sessions_ended=end_all(uow, app, user.id, "sessions_ended"),
                             tokens_revoked=revoke_all(uow, app, user.id))
        uow.audit(actor.actor, "sessions_ended", subject=_subject(username),
                  after=done.model_dump())
        uow.commit()
    return done


__all__ = ["INVALID_SESSION", "SessionsEnded", "end_all", "end_session", "end_sessions", "open_session",
           "principal_for_session"]
