"""Accounts: users with passwords for the web workspace and the HTTP API's password flow (SPEC §10).

- `add_user`, `set_password`, `disable_user`, `list_users`: managed by an administrator (or the system:
  the operator on the server's command line); a user may change their own password.
- `authenticate`: a username and password to a `Principal`, audited (`login`, `login_failed`) in a
  transaction of its own. It never says which of the two was wrong, and an unknown username costs
  the same argon2 verification as a known one. Repeated failures are slowed down — after
  `login_slowdown_after` failures, an attempt within 2**(failures - login_slowdown_after) seconds of
  the last one is refused unchecked — and then locked for `login_lockout_minutes` once
  `login_lockout_after` failures are reached; each failure past it locks again. A success resets.
- API tokens and web sessions: `workflows.services.tokens` (re-exported here).

Passwords are hashed with argon2id (pwdlib's recommended hasher) and rehashed at sign-in when its
parameters changed. No password, hash or token secret is ever written to the audit trail.
"""
from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import case, literal, select, update

from workflows.audit import Actor
from workflows.db.account_models import ApiToken
from workflows.db.base import UTCDateTime, rows_matched
from workflows.db.models import Organisation, Partnership, User
from workflows.services import FieldError, Invalid, NotFound, Unauthenticated
from workflows.services.access import (
    Principal,
    principal_of,
    require_account_admin,
    require_self_or_account_admin,
)
from workflows.services.tokens import (  # noqa: F401  (the accounts API in one place)
    TokenInfo,
    TokenOut,
    issue_token,
    list_tokens,
    principal_for_session,
    principal_for_token,
    revoke_token,
    session_issued_at,
)

if TYPE_CHECKING:
    from pwdlib import PasswordHash

    from workflows.app import App
    from workflows.settings import Settings
    from workflows.uow import UnitOfWork

ANONYMOUS = Actor(None, "anonymous", "anonymous")  # who tries to sign in, until it succeeds
WRONG = "wrong username or password"
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte of "password" is not one
USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]*$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"  # a shape check: EmailStr refuses the demo's .local domains
NEEDS_PARTNERSHIP = frozenset({"officer", "finance"})


# --- hashing ---------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def hasher() -> PasswordHash:
    """pwdlib's recommended hasher (argon2id), made once per process."""
    from pwdlib import PasswordHash

    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return hasher().hash(password)


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """A hash of nothing anyone knows: an unknown username is verified against it (same cost)."""
    return hash_password(secrets.token_urlsafe(24))


def _verify(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(matches, a new hash when pwdlib asks for a rehash). Without a hash (or for a password longer
    than any a user may have), the same cost spent on the decoy."""
    decoy = _decoy_hash()  # made on the first sign-in of the process, whoever it is for
    if password_hash is None or len(password) > MAX_PASSWORD:
        hasher().verify(password[:MAX_PASSWORD], decoy)
        return False, None
    return hasher().verify_and_update(password, password_hash)


# --- shapes ----------------------------------------------------------------------------------------

class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    email: str
    role: str
    partnership: str | None  # its code
    organisation: str | None  # its legal id
    active: bool
    has_password: bool
    last_login_at: datetime | None


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=80, pattern=USERNAME)
    display_name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=254, pattern=EMAIL)
    role: Literal["applicant", "officer", "finance", "auditor", "administrator"]
    partnership: str | None = None
    organisation: str | None = None


def _message(error: Any) -> str:
    if error["type"] == "string_pattern_mismatch":
        return ("is not an email address" if error["loc"] == ("email",)
                else "letters, digits and . _ @ - only, starting with a letter or digit")
    if error["type"] in ("string_too_short", "string_too_long"):
        limit = error["ctx"].get("min_length", error["ctx"].get("max_length"))
        if error["type"] == "string_too_short" and limit == 1:
            return "is required"
        return f"must be at {'least' if error['type'] == 'string_too_short' else 'most'} {limit} characters"
    if error["type"] == "literal_error":
        return f"is not a role ({error['ctx']['expected']})"
    return str(error["msg"]).removeprefix("Value error, ")


def _invalid(err: ValidationError) -> Invalid:
    fields = [FieldError(tuple(e["loc"]), _message(e)) for e in err.errors(include_url=False)]
    return Invalid("; ".join(f"{f.field}: {f.msg}" for f in fields), fields)


def check_password(settings: Settings, password: str | None, field: str = "password") -> str:
    """The password if it may be given (long enough for the mode), else `Invalid` naming `field`."""
    if password is None or len(password) < settings.min_password_length:
        raise Invalid.field(field, f"must be at least {settings.min_password_length} characters "
                                   f"({settings.mode} mode)")
    if len(password) > MAX_PASSWORD:
        raise Invalid.field(field, f"must be at most {MAX_PASSWORD} characters")
    return password


def _out(uow: UnitOfWork, user: User) -> UserOut:
    part = uow.session.get(Partnership, user.partnership_id) if user.partnership_id else None
    org = uow.session.get(Organisation, user.organisation_id) if user.organisation_id else None
    return UserOut(id=user.id, username=user.username, display_name=user.display_name, email=user.email,
                   role=user.role, partnership=part.code if part else None, organisation=org.legal_id if org else None,
                   active=user.active, has_password=user.password_hash is not None, last_login_at=user.last_login_at)


def _user(uow: UnitOfWork, username: str) -> User:
    user = uow.session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"user: no user '{username}'")
    return user


def _subject(username: str) -> str:
    return f"user:{username}"[:60]


# --- managing users --------------------------------------------------------------------------------

def add_user(app: App, actor: Principal, username: str, display_name: str, email: str, role: str,
             partnership: str | None = None, organisation: str | None = None,
             password: str | None = None) -> UserOut:
    """A new active user (administrator or system only). An officer or finance user belongs to a
    partnership (its code), an applicant to an organisation (its legal id); without a password the
    user cannot sign in until one is set."""
    with app.uow() as uow:
        require_account_admin(app, uow, actor, "add users", subject=_subject(username))
        try:
            new = NewUser.model_validate({  # the role too is checked here, a person's input
                "username": username, "display_name": display_name, "email": email, "role": role,
                "partnership": partnership or None, "organisation": organisation or None})
        except ValidationError as err:
            raise _invalid(err) from None
        if password is not None:
            check_password(app.settings, password)
        user = User(username=new.username, display_name=new.display_name, email=new.email, role=new.role,
                    active=True, failed_logins=0)
        _place(uow, user, new)
        if uow.session.scalar(select(User.id).where(User.username == new.username)) is not None:
            raise Invalid.field("username", f"'{new.username}' is taken")
        now = uow.now()
        if password is not None:
            user.password_hash, user.password_changed_at = hash_password(password), now
        uow.session.add(user)
        uow.session.flush()
        out = _out(uow, user)
        uow.audit(actor.actor, "user_added", subject=_subject(user.username),
                  after=out.model_dump(include={"username", "display_name", "email", "role", "partnership",
                                                "organisation", "has_password"}))
        uow.commit()
    return out


def _place(uow: UnitOfWork, user: User, new: NewUser) -> None:
    """The user's partnership and organisation, as its role needs them."""
    if new.role in NEEDS_PARTNERSHIP and not new.partnership:
        raise Invalid.field("partnership", f"is required for the role {new.role}")
    if new.role == "applicant" and not new.organisation:
        raise Invalid.field("organisation", "is required for the role applicant")
    if new.partnership:
        if new.role not in NEEDS_PARTNERSHIP:
            raise Invalid.field("partnership", f"only officers and finance users belong to a partnership, "
                                               f"not the role {new.role}")
        user.partnership_id = uow.session.scalar(select(Partnership.id).where(Partnership.code == new.partnership))
        if user.partnership_id is None:
            raise Invalid.field("partnership", f"no partnership '{new.partnership}'")
    if new.organisation:
        if new.role != "applicant":
            raise Invalid.field("organisation", f"only applicants belong to an organisation, not the role {new.role}")
        user.organisation_id = uow.session.scalar(select(Organisation.id).where(
            Organisation.legal_id == new.organisation))
        if user.organisation_id is None:
            raise Invalid.field("organisation", f"no organisation '{new.organisation}'")


def set_password(app: App, actor: Principal, username: str, password: str, revoke_tokens: bool = True) -> UserOut:
    """Give `username` a new password (the user themself or an administrator). Web sessions issued
    before it end (`principal_for_session`), the sign-in counters reset, and unless `revoke_tokens`
    is false the user's API tokens are revoked too (a changed password is what one does after a leak)."""
    with app.uow() as uow:
        require_self_or_account_admin(app, uow, actor, username, "change the password", subject=_subject(username))
        check_password(app.settings, password)
        user = _user(uow, username)
        now = uow.now()
        user.password_hash, user.password_changed_at = hash_password(password), now
        user.failed_logins, user.locked_until = 0, None
        revoked = _revoke_all(uow, user.id, now) if revoke_tokens else 0
        uow.audit(actor.actor, "password_changed", subject=_subject(username),
                  after={"username": username, "tokens_revoked": revoked})
        out = _out(uow, user)
        uow.commit()
    return out


def disable_user(app: App, actor: Principal, username: str) -> UserOut:
    """The user may no longer sign in or act (administrator only); their API tokens are revoked and
    their web sessions end. Nothing is deleted: the records they made keep naming them."""
    with app.uow() as uow:
        require_account_admin(app, uow, actor, "disable users", subject=_subject(username))
        user = _user(uow, username)
        now = uow.now()
        was = user.active
        user.active = False
        revoked = _revoke_all(uow, user.id, now)
        uow.audit(actor.actor, "user_disabled", subject=_subject(username),
                  before={"active": was}, after={"active": False, "tokens_revoked": revoked})
        out = _out(uow, user)
        uow.commit()
    return out


def _revoke_all(uow: UnitOfWork, user_id: int, now: datetime) -> int:
    return rows_matched(uow.session.execute(update(ApiToken).where(
        ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)))


def list_users(app: App, actor: Principal) -> list[UserOut]:
    """Every user, by username (administrator or system only)."""
    with app.uow() as uow:
        require_account_admin(app, uow, actor, "list users")
        return [_out(uow, u) for u in uow.session.scalars(select(User).order_by(User.username))]


# --- signing in ------------------------------------------------------------------------------------

def _wait(settings: Settings, user: User, now: datetime) -> tuple[str, int] | None:
    """(why, seconds) when a sign-in of `user` is refused unchecked now: locked, or too soon."""
    if user.locked_until is not None and now < user.locked_until:
        return "locked", math.ceil((user.locked_until - now).total_seconds())
    over = user.failed_logins - settings.login_slowdown_after
    if over >= 0 and user.last_failed_login_at is not None:
        pause = min(2 ** over, settings.login_lockout_minutes * 60)
        until = user.last_failed_login_at + timedelta(seconds=pause)
        if now < until:
            return "throttled", math.ceil((until - now).total_seconds())
    return None


def authenticate(app: App, username: str, password: str, source: str) -> Principal:
    """The active user whose password this is, as a principal; else `Unauthenticated` (audited as
    `login_failed`: "wrong username or password" whatever was wrong, or "too many failed sign-ins:
    try again in N s" with `retry_after` N). `source` says where the attempt came from (the client's
    address, "cli"…) and is kept in the audit event."""
    username, source = (username or "").strip()[:80], str(source)[:200]
    with app.uow() as uow:
        user = uow.session.scalars(select(User).where(User.username == username)).first()
        waiting = _wait(app.settings, user, uow.now()) if user is not None else None
        if user is not None:
            uow.session.expunge(user)
    if waiting is not None:
        _failed(app, user, username, waiting[0], source, count=False)
        raise Unauthenticated(f"too many failed sign-ins: try again in {waiting[1]} s", retry_after=waiting[1])
    # the slow part, outside any transaction
    ok, rehashed = _verify(password or "", user.password_hash if user is not None else None)
    if user is None or not user.active or not ok:
        reason = ("unknown_user" if user is None else "disabled" if not user.active
                  else "no_password" if user.password_hash is None else "wrong_password")
        _failed(app, user, username, reason, source, count=reason == "wrong_password")
        raise Unauthenticated(WRONG)
    with app.uow() as uow:
        now = uow.now()
        values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
        if rehashed is not None:
            values["password_hash"] = rehashed  # the same password: not a change (sessions stay)
        uow.session.execute(update(User).where(User.id == user.id).values(**values))
        principal = principal_of(user)
        uow.audit(principal.actor, "login", subject=_subject(username), after={"source": source})
        uow.commit()
    return principal


def _failed(app: App, user: User | None, username: str, reason: str, source: str, count: bool) -> None:
    """Audit a failed sign-in; with `count`, one more consecutive failure (locking at the limit)."""
    settings = app.settings
    with app.uow() as uow:
        now = uow.now()
        if count and user is not None:
            failures = User.failed_logins + 1
            uow.session.execute(update(User).where(User.id == user.id).values(
                failed_logins=failures, last_failed_login_at=now,
                locked_until=case((failures >= settings.login_lockout_after,
                                   literal(now + timedelta(minutes=settings.login_lockout_minutes), UTCDateTime())),
                                  else_=User.locked_until)))
        after: dict[str, Any] = {"username": username, "reason": reason, "source": source}
        if user is not None:
            after["failures"] = user.failed_logins + (1 if count else 0)
        uow.audit(ANONYMOUS, "login_failed", subject=_subject(username), after=after)
        uow.commit()


__all__ = ["NewUser", "TokenInfo", "TokenOut", "UserOut", "add_user", "authenticate", "check_password",
           "disable_user", "hash_password", "issue_token", "list_tokens", "list_users", "principal_for_session",
           "principal_for_token", "revoke_token", "session_issued_at", "set_password"]
