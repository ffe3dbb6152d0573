"""Accounts: users with passwords for the web workspace and the HTTP API's password flow (SPEC §10).

- `add_user`, `set_password`, `disable_user`, `list_users`: managed by an administrator (or the system:
  the operator on the server's command line); a user may change their own password.
- `authenticate`: a username and password to a `Principal`, audited (`login`, `login_failed`). It
  never says which of the two was wrong, and an unknown username costs the same argon2 verification
  as a known one. Every attempt is first counted for its username, known or not, atomically in the
  database (`workflows.services.throttle`): after `login_slowdown_after` failures each further
  attempt waits 2**(failures - login_slowdown_after) seconds, and from `login_lockout_after` failures
  the username is locked for `login_lockout_minutes`; an attempt made before then is refused
  unchecked, and only the first refusal of each wait is audited. A success resets the count.
- A new password, a disabled user, and `end_sessions` ("sign out everywhere") end every web session
  of the user (`workflows.services.sessions`) and revoke their API tokens (`workflows.services.tokens`).

Account protection runs on the wall clock (`App.wall_clock`); the audit trail keeps the programme's.
Passwords are hashed with argon2id (pwdlib's recommended hasher) and rehashed at sign-in when its
parameters changed. No password, hash, token or session secret is ever written to the audit trail.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import ColumnElement, func, or_, select, update

from workflows.audit import Actor
from workflows.db.models import Organisation, Partnership, User
from workflows.services import FieldError, Invalid, NotFound, Unauthenticated
from workflows.services.access import (
    Principal,
    principal_of,
    require_account_admin,
    require_self_or_account_admin,
)
from workflows.services.sessions import (  # noqa: F401  (the accounts API in one place)
    SessionsEnded,
    end_all,
    end_session,
    end_sessions,
    open_session,
    principal_for_session,
)
from workflows.services.throttle import Waiting, forget, reserve
from workflows.services.tokens import (  # noqa: F401
    TokenInfo,
    TokenOut,
    issue_token,
    list_tokens,
    principal_for_token,
    revoke_all,
    revoke_token,
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
                    active=True)
        _place(uow, user, new)
        if uow.session.scalar(select(User.id).where(User.username == new.username)) is not None:
            raise Invalid.field("username", f"'{new.username}' is taken")
        if password is not None:
            user.password_hash, user.password_changed_at = hash_password(password), app.wall_clock()
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
    """Give `username` a new password (the user themself or an administrator). Every web session of
    theirs ends, the count of failed sign-ins of the username starts again, and unless `revoke_tokens`
    is false their API tokens are revoked too (a changed password is what one does after a leak)."""
    with app.uow() as uow:
        uow.write_lock()  # SQLite: it reads, then writes the user, their sessions and tokens
        require_self_or_account_admin(app, uow, actor, username, "change the password", subject=_subject(username))
        check_password(app.settings, password)
        user = _user(uow, username)
        user.password_hash, user.password_changed_at = hash_password(password), app.wall_clock()
        forget(uow.connection, username)
        ended = end_all(uow, app, user.id, "password_changed")
        revoked = revoke_all(uow, app, user.id) if revoke_tokens else 0
        uow.audit(actor.actor, "password_changed", subject=_subject(username),
                  after={"username": username, "sessions_ended": ended, "tokens_revoked": revoked})
        out = _out(uow, user)
        uow.commit()
    return out


def disable_user(app: App, actor: Principal, username: str) -> UserOut:
    """The user may no longer sign in or act (administrator only); their web sessions end and their
    API tokens are revoked. Nothing is deleted: the records they made keep naming them."""
    with app.uow() as uow:
        uow.write_lock()
        require_account_admin(app, uow, actor, "disable users", subject=_subject(username))
        user = _user(uow, username)
        was = user.active
        user.active = False
        ended = end_all(uow, app, user.id, "user_disabled")
        revoked = revoke_all(uow, app, user.id)
        uow.audit(actor.actor, "user_disabled", subject=_subject(username), before={"active": was},
                  after={"active": False, "sessions_ended": ended, "tokens_revoked": revoked})
        out = _out(uow, user)
        uow.commit()
    return out


def list_users(app: App, actor: Principal) -> list[UserOut]:
    """Every user, by username (administrator or system only)."""
    with app.uow() as uow:
        require_account_admin(app, uow, actor, "list users")
        return [_out(uow, u) for u in uow.session.scalars(select(User).order_by(User.username))]


USER_ROLES = ("applicant", "officer", "finance", "auditor", "administrator")
MAX_USER_PAGE = 200


class UserPageOut(BaseModel):
    users: list[UserOut]
    total: int = Field(description="users matching the search, over every page")
    page: int
    page_size: int
    pages: int


def find_users(app: App, actor: Principal, q: str = "", role: str | None = None, state: str = "all",
               page: int = 1, page_size: int = 50) -> UserPageOut:
    """The users whose username, name or email holds `q` (any case), of `role` and `state` (all, active,
    disabled), by username, one page at a time (administrator or system only)."""
    text = (q or "").strip()
    if "\x00" in text or len(text) > 200:
        raise Invalid.field("q", "must be at most 200 characters of text")
    if role and role not in USER_ROLES:
        raise Invalid.field("role", f"must be one of {', '.join(USER_ROLES)}")
    if state not in ("all", "active", "disabled"):
        raise Invalid.field("state", "must be all, active or disabled")
    if not 1 <= page_size <= MAX_USER_PAGE:
        raise Invalid.field("page_size", f"must be 1 to {MAX_USER_PAGE}")
    if not 1 <= page <= 100_000:
        raise Invalid.field("page", "must be 1 or more")
    where: list[ColumnElement[bool]] = []
    if text:
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(or_(*(func.lower(column).like(pattern, escape="\\")
                           for column in (User.username, User.display_name, User.email))))
    if role:
        where.append(User.role == role)
    if state != "all":
        where.append(User.active.is_(state == "active"))
    with app.uow() as uow:
        require_account_admin(app, uow, actor, "list users")
        total = uow.session.scalar(select(func.count(User.id)).where(*where)) or 0
        rows = uow.session.scalars(select(User).where(*where).order_by(User.username)
                                   .offset((page - 1) * page_size).limit(page_size)).all()
        return UserPageOut(users=[_out(uow, u) for u in rows], total=total, page=page, page_size=page_size,
                           pages=max(1, -(-total // page_size)))


# --- signing in ------------------------------------------------------------------------------------

def authenticate(app: App, username: str, password: str, source: str) -> Principal:
    """The active user whose password this is, as a principal; else `Unauthenticated`: "wrong username
    or password" whatever was wrong, or "too many failed sign-ins: try again in N s" with
    `retry_after` N — for a username that exists or not, alike. `source` says where the attempt came
    from (the client's address, "cli"…) and is kept in the audit event.

    The attempt is counted before the password is verified (`throttle.reserve`, one atomic statement),
    so that guesses sent in parallel meet the limit of guesses sent one by one; the verification runs
    outside any transaction."""
    # no username holds a NUL (USERNAME), and PostgreSQL cannot even compare one: counted as another
    username = (username or "").replace("\x00", "\ufffd").strip()[:80]
    source = str(source)[:200]
    attempt = reserve(app, username)
    if isinstance(attempt, Waiting):
        if attempt.refusals == 1:  # the first refusal of this wait is audited; the others are counted
            _audit_failed(app, username, {"reason": attempt.reason, "source": source,
                                          "failures": attempt.failures, "retry_after": attempt.retry_after})
        raise Unauthenticated(f"too many failed sign-ins: try again in {attempt.retry_after} s",
                              retry_after=attempt.retry_after)
    with app.uow() as uow:
        user = uow.session.scalars(select(User).where(User.username == username)).first()
        if user is not None:
            uow.session.expunge(user)
    meanwhile = {"refused_meanwhile": attempt.refused_before} if attempt.refused_before else {}
    # the slow part, outside any transaction
    ok, rehashed = _verify(password or "", user.password_hash if user is not None else None)
    if user is None or not user.active or not ok:
        reason = ("unknown_user" if user is None else "disabled" if not user.active
                  else "no_password" if user.password_hash is None else "wrong_password")
        _audit_failed(app, username, {"reason": reason, "source": source, "failures": attempt.failures, **meanwhile})
        raise Unauthenticated(WRONG)
    with app.uow() as uow:
        values: dict[str, Any] = {"last_login_at": app.wall_clock()}
        if rehashed is not None:
            values["password_hash"] = rehashed  # the same password: not a change (sessions stay)
        uow.session.execute(update(User).where(User.id == user.id).values(**values))
        forget(uow.connection, username)  # a success: the count starts again
        principal = principal_of(user)
        uow.audit(principal.actor, "login", subject=_subject(username), after={"source": source, **meanwhile})
        uow.commit()
    return principal


def _audit_failed(app: App, username: str, after: dict[str, Any]) -> None:
    """Audit a failed sign-in of `username` (`login_failed`, by the anonymous actor)."""
    with app.uow() as uow:
        uow.write_lock()  # SQLite: the chain's head is read then written; wait for the lock first
        uow.audit(ANONYMOUS, "login_failed", subject=_subject(username), after={"username": username, **after})
        uow.commit()


__all__ = ["NewUser", "SessionsEnded", "TokenInfo", "TokenOut", "UserOut", "UserPageOut", "add_user", "authenticate",
           "check_password", "disable_user", "end_session", "end_sessions", "hash_password", "issue_token",
           "find_users", "list_tokens", "list_users", "open_session", "principal_for_session", "principal_for_token",
           "revoke_token", "set_password"]
