"""API tokens (the HTTP API's bearer tokens): who an API request comes from.

A token's secret is `cxp_<43 url-safe characters>` (32 random bytes), shown once by `issue_token`;
the database keeps its SHA-256 (hex) only, so a leaked table signs nobody in. `principal_for_token`
runs on every API request: one prepared SELECT on the unique `token_hash` index, joined to the user,
with no ORM session; it writes only to move `last_used_at`, at most once a minute per token, in a
transaction of its own that may give up (a busy database never fails a request over it).

A token's moments — issued, expires, revoked, last used — are the wall clock's (`App.wall_clock`),
never the programme's simulated one: a token of 12 hours lasts 12 real hours however far the demo's
clock moves. Web sessions are `workflows.services.sessions`.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import OperationalError

from workflows.db.account_models import ApiToken
from workflows.db.base import rows_matched, table_of
from workflows.db.models import User
from workflows.db.prepared import Prepared
from workflows.services import Invalid, NotFound, Unauthenticated
from workflows.services.access import Principal, require_self_or_account_admin

if TYPE_CHECKING:
    from workflows.app import App
    from workflows.uow import UnitOfWork

PREFIX = "cxp_"
MAX_TTL_HOURS = 366 * 24
TOUCH_EVERY = timedelta(minutes=1)
INVALID_TOKEN = "the API token is unknown, expired or revoked"

_T, _U = table_of(ApiToken), table_of(User)
_BY_TOKEN = Prepared(
    select(_T.c.id, _T.c.expires_at, _T.c.revoked_at, _T.c.last_used_at, _U.c.id, _U.c.username, _U.c.role,
           _U.c.partnership_id, _U.c.organisation_id, _U.c.display_name, _U.c.active)
    .join_from(_T, _U, _U.c.id == _T.c.user_id).where(_T.c.token_hash == bindparam("token_hash")))
_TOUCH = Prepared(update(_T).where(_T.c.id == bindparam("token_id"), or_(
    _T.c.last_used_at.is_(None), _T.c.last_used_at <= bindparam("stale"))).values(last_used_at=bindparam("now")))


class TokenOut(BaseModel):
    """A token just issued: `token` is the secret, shown this once."""

    id: int
    token: str
    name: str
    username: str
    expires_at: datetime


class TokenInfo(BaseModel):
    """A token as listed or revoked (never its secret)."""

    id: int
    name: str
    username: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _info(token: ApiToken, username: str) -> TokenInfo:
    return TokenInfo(id=token.id, name=token.name, username=username, created_at=token.created_at,
                     expires_at=token.expires_at, revoked_at=token.revoked_at, last_used_at=token.last_used_at)


def _subject(username: str) -> str:
    return f"user:{username}"[:60]


def issue_token(app: App, actor: Principal, username: str, name: str = "cli",
                ttl_hours: int | None = None) -> TokenOut:
    """A new API token of `username` (the user themself or an administrator), valid `ttl_hours`
    (default `token_ttl_hours`, 12)."""
    ttl = app.settings.token_ttl_hours if ttl_hours is None else ttl_hours
    with app.uow() as uow:
        require_self_or_account_admin(app, uow, actor, username, "issue API tokens", subject=_subject(username))
        if not 1 <= ttl <= MAX_TTL_HOURS:
            raise Invalid.field("ttl_hours", f"must be between 1 and {MAX_TTL_HOURS} hours (a year)")
        name = (name or "").strip()
        if not 1 <= len(name) <= 80:
            raise Invalid.field("name", "must be 1 to 80 characters")
        user = uow.session.scalars(select(User).where(User.username == username)).first()
        if user is None or not user.active:
            raise NotFound(f"user: no active user '{username}'")
        secret = PREFIX + secrets.token_urlsafe(32)
        now = app.wall_clock()
        token = ApiToken(user_id=user.id, name=name, token_hash=token_hash(secret), created_at=now,
                         expires_at=now + timedelta(hours=ttl))
        uow.session.add(token)
        uow.session.flush()
        uow.audit(actor.actor, "token_issued", subject=_subject(username),
                  after={"token_id": token.id, "name": name, "username": username, "expires_at": token.expires_at})
        uow.commit()
    return TokenOut(id=token.id, token=secret, name=name, username=username, expires_at=token.expires_at)


def _find(uow: UnitOfWork, token: int | str) -> tuple[ApiToken, str]:
    text = str(token).strip()
    if text.startswith(PREFIX):
        where, shown = ApiToken.token_hash == token_hash(text), "given"
    elif text.isdigit():
        where, shown = ApiToken.id == int(text), text
    else:
        raise Invalid.field("token", "give the token's id or its secret (cxp_…)")
    row = uow.session.execute(select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
                              .where(where)).first()
    if row is None:
        raise NotFound(f"token: no API token {shown}")
    return row[0], row[1]


def revoke_token(app: App, actor: Principal, token: int | str, username: str | None = None) -> TokenInfo:
    """Revoke a token, by its id or its secret (its user or an administrator); a token already
    revoked stays as it was. With `username`, a token of another user is not found."""
    with app.uow() as uow:
        row, owner = _find(uow, token)
        if username is not None and owner != username:
            raise NotFound(f"token: {username} has no API token {token if str(token).isdigit() else 'given'}")
        username = owner
        require_self_or_account_admin(app, uow, actor, username, "revoke the API tokens", subject=_subject(username))
        if row.revoked_at is None:
            row.revoked_at = app.wall_clock()
            uow.audit(actor.actor, "token_revoked", subject=_subject(username),
                      after={"token_id": row.id, "name": row.name, "username": username})
            uow.commit()
        return _info(row, username)


def list_tokens(app: App, actor: Principal, username: str) -> list[TokenInfo]:
    """The tokens of `username`, newest first (the user themself or an administrator)."""
    with app.uow() as uow:
        require_self_or_account_admin(app, uow, actor, username, "list the API tokens", subject=_subject(username))
        rows = uow.session.scalars(select(ApiToken).join(User, User.id == ApiToken.user_id)
                                   .where(User.username == username).order_by(ApiToken.id.desc()))
        return [_info(t, username) for t in rows]


def principal_for_token(app: App, secret: str) -> Principal:
    """The principal of a bearer token; `Unauthenticated` for an unknown, expired or revoked token, or
    a disabled user. The hot path of every API request (see the module's docstring)."""
    principal, touch = token_principal(app, secret)
    if touch is not None:
        touch()
    return principal


def token_principal(app: App, secret: str) -> tuple[Principal, Callable[[], None] | None]:
    """`principal_for_token` in two halves: the one indexed read, and — at most once a minute — the
    write of the token's `last_used_at`, returned for the caller to run where a wait does not hurt
    (the HTTP layer runs the read in its event loop and the write in its thread pool)."""
    if not secret or not secret.startswith(PREFIX) or len(secret) > 200:
        raise Unauthenticated(INVALID_TOKEN)
    with app.uow() as uow:
        row = _BY_TOKEN.first(uow.connection, token_hash=token_hash(secret))
    if row is None:
        raise Unauthenticated(INVALID_TOKEN)
    token_id, expires_at, revoked_at, last_used_at, user_id, username, role, part, org, name, active = row
    now = app.wall_clock()
    if revoked_at is not None or expires_at <= now or not active:
        raise Unauthenticated(INVALID_TOKEN)
    principal = Principal(user_id, username, role, part, org, name)
    if last_used_at is None or now - last_used_at >= TOUCH_EVERY:
        return principal, lambda: _touch(app, token_id, now)
    return principal, None


def _touch(app: App, token_id: int, now: datetime) -> None:
    """Move the token's `last_used_at` (a hint, at most once a minute), in a transaction of its own
    that writes first: on SQLite, a transaction that read and then writes fails at once when another
    one wrote meanwhile (as concurrent requests of one token do) rather than waiting its turn. A write
    the database still refuses (busy, a serialization failure) is given up: never the request."""
    try:
        with app.uow() as uow:
            _TOUCH.execute(uow.connection, token_id=token_id, stale=now - TOUCH_EVERY, now=now)
            uow.commit()
    except OperationalError:
        pass


def revoke_all(uow: UnitOfWork, app: App, user_id: int) -> int:
    """Revoke every API token of the user not revoked yet, in the caller's transaction; how many."""
    return rows_matched(uow.session.execute(update(ApiToken).where(
        ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)).values(revoked_at=app.wall_clock())))


__all__ = ["INVALID_TOKEN", "TokenInfo", "TokenOut", "issue_token", "list_tokens", "principal_for_token",
           "revoke_all", "revoke_token", "token_hash"]
