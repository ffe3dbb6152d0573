"""The sign-in throttle: attempts counted per username, atomically, before the password is checked.

Each attempt first *reserves* its check in one statement — an `INSERT … ON CONFLICT DO UPDATE …
RETURNING` on the username's row of `sign_in_attempts`, which SQLite (≥ 3.35) and PostgreSQL both
run atomically — counting it as a failure in advance, and only then is the password verified
(outside any transaction); a success settles it by deleting the row (`forget`). So thirty guesses sent at once,
to one server process or several, meet the same limit as thirty sent one by one: after
`login_slowdown_after` failures each further attempt waits 2**(failures - login_slowdown_after)
seconds, and from `login_lockout_after` failures the username is locked `login_lockout_minutes`
(each further failure locks it again). An attempt made before then is refused unchecked.

Every username is counted alike, a user's or not, so that the answers never tell whether an account
exists. Times are on the wall clock (`App.wall_clock`), never the programme's simulated one.

Within a window (the time a username waits), only the first refusal is audited; the number of
refusals is counted in the row, and the window's total is handed to the next attempt that is checked
(`Checked.refused_before`), whose audit event records it once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import ColumnElement, Connection, case, delete, literal, or_
from sqlalchemy.dialects import postgresql, sqlite

from workflows.db.account_models import SignInAttempt
from workflows.db.base import UTCDateTime, table_of

if TYPE_CHECKING:
    from workflows.app import App
    from workflows.settings import Settings

_A = table_of(SignInAttempt)


@dataclass(frozen=True)
class Checked:
    """The attempt may be checked: it is the `failures`-th since the last success (counted already)."""

    failures: int
    refused_before: int  # attempts refused unchecked in the window that this one ends


@dataclass(frozen=True)
class Waiting:
    """The attempt is refused unchecked for `retry_after` seconds; `refusals` in this window so far."""

    reason: Literal["throttled", "locked"]
    retry_after: int
    refusals: int
    failures: int


def pause(settings: Settings, failures: int) -> timedelta | None:
    """How long a username waits after its `failures`-th failure: none, a pause, or the lock."""
    lock = settings.login_lockout_minutes * 60
    if failures >= settings.login_lockout_after:
        return timedelta(seconds=lock)
    if failures >= settings.login_slowdown_after:
        return timedelta(seconds=min(2 ** (failures - settings.login_slowdown_after), lock))
    return None


def _blocked_until(settings: Settings, failures: ColumnElement[Any], now: datetime) -> ColumnElement[Any]:
    """`now + pause(failures)` as SQL, for a count known only to the database: one bound moment per
    count that pauses differently (the pause doubles up to the lock: a few dozen at most)."""
    def moment(count: int) -> ColumnElement[Any] | None:
        waited = pause(settings, count)
        return None if waited is None else literal(now + waited, UTCDateTime())

    slow, lock = settings.login_slowdown_after, settings.login_lockout_after
    whens: list[tuple[ColumnElement[bool], Any]] = [(failures >= lock, moment(lock))]
    count = slow
    while count < lock and pause(settings, count) != pause(settings, lock):
        whens.append((failures == count, moment(count)))
        count += 1
    if count < lock:  # the pauses from here on are as long as the lock
        whens.append((failures >= count, moment(lock)))
    return case(*whens, else_=literal(None, UTCDateTime()))


def reserve(app: App, username: str) -> Checked | Waiting:
    """Count one attempt of `username` now, atomically, in a transaction of its own that writes first
    (on SQLite it waits for the write lock rather than failing): `Checked` when its password may be
    verified, else `Waiting`."""
    settings, now = app.settings, app.wall_clock()
    open_now = or_(_A.c.blocked_until.is_(None), _A.c.blocked_until <= literal(now, UTCDateTime()))
    counted = _A.c.failures + 1
    first = pause(settings, 1)
    with app.uow() as uow:
        dialect = uow.connection.dialect.name
        insert = postgresql.insert(_A) if dialect == "postgresql" else sqlite.insert(_A)
        statement = insert.values(
            username=username, failures=1, refused=0, refused_before=0, last_attempt_at=now,
            blocked_until=None if first is None else now + first,
        ).on_conflict_do_update(index_elements=[_A.c.username], set_={
            "failures": case((open_now, counted), else_=_A.c.failures),
            "blocked_until": case((open_now, _blocked_until(settings, counted, now)), else_=_A.c.blocked_until),
            "refused": case((open_now, 0), else_=_A.c.refused + 1),
            "refused_before": case((open_now, _A.c.refused), else_=_A.c.refused_before),
            "last_attempt_at": now,
        }).returning(_A.c.failures, _A.c.blocked_until, _A.c.refused, _A.c.refused_before)
        failures, blocked_until, refused, refused_before = uow.connection.execute(statement).one()
        uow.commit()
    if refused == 0:
        return Checked(failures, refused_before)
    longest = pause(settings, failures)  # an attempt that read the clock just before the one that blocked
    wait = max(1, math.ceil((blocked_until - now).total_seconds()))
    if longest is not None:
        wait = min(wait, math.ceil(longest.total_seconds()))
    reason: Literal["throttled", "locked"] = "locked" if failures >= settings.login_lockout_after else "throttled"
    return Waiting(reason, wait, refused, failures)


def forget(connection: Connection, username: str) -> None:
    """Clear the count of `username` (a success, a new password), in the caller's transaction."""
    connection.execute(delete(_A).where(_A.c.username == username))


# A username's row is kept while it can still matter: while it waits, and for a day after its last
# attempt (a username that fails again within the day keeps its count). Rows older than that are
# swept by the timers job, so that made-up usernames cannot grow the table for ever.
FORGOTTEN_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class AttemptsSwept:
    removed: int
    refusals_reported: int  # refusals of a last window no later attempt reported, now on the trail


def sweep_attempts(app: App, older_than: timedelta = FORGOTTEN_AFTER) -> AttemptsSwept:
    """Remove the counts of usernames not tried for `older_than` whose wait is over; a window whose
    refusals no checked attempt reported (`refused`) is audited once as `login_refusals` first. The
    request counts (registrations per address) whose window ended `older_than` ago go too."""
    from sqlalchemy import select

    from workflows.audit import Actor

    now = app.wall_clock()
    stale = (_A.c.last_attempt_at < literal(now - older_than, UTCDateTime())) & or_(
        _A.c.blocked_until.is_(None), _A.c.blocked_until <= literal(now, UTCDateTime()))
    with app.uow() as uow:
        uow.write_lock()
        rows = uow.connection.execute(select(_A.c.username, _A.c.refused, _A.c.last_attempt_at).where(stale)
                                      .order_by(_A.c.username).with_for_update(skip_locked=True)).all()
        reported = 0
        for username, refused, last in rows:
            if refused:
                reported += refused
                uow.audit(Actor(None, "anonymous", "anonymous"), "login_refusals", subject=f"user:{username}"[:60],
                          after={"username": username, "refused": refused, "last_attempt_at": last.isoformat()})
        if rows:
            uow.connection.execute(delete(_A).where(_A.c.username.in_([r[0] for r in rows])))
        forget_requests(uow.connection, now - older_than)
        uow.commit()
    return AttemptsSwept(removed=len(rows), refusals_reported=reported)


def forget_requests(connection: Connection, ended_before: datetime) -> int:
    """Remove the request counts whose window ended before `ended_before` (they count nothing any more)."""
    from workflows.db.registration_models import RequestCount

    table = table_of(RequestCount)
    return int(connection.execute(delete(table).where(
        table.c.window_ends < literal(ended_before, UTCDateTime()))).rowcount or 0)


# --- requests per key (registrations per client address) --------------------------------------------

def count_request(connection: Connection, key: str, limit: int, window: timedelta, now: datetime) -> int | None:
    """Count one request of `key` (e.g. `register:<sha256 of the client address>`) in the caller's
    transaction, atomically (`INSERT … ON CONFLICT DO UPDATE … RETURNING`): None when it is within
    `limit` per fixed `window`, else the seconds until the window ends (the request is then refused, and
    the caller's rollback leaves the count as it was). A window that has ended starts again at one."""
    from workflows.db.registration_models import RequestCount

    table = table_of(RequestCount)
    ended = table.c.window_ends <= literal(now, UTCDateTime())
    insert = (postgresql.insert(table) if connection.dialect.name == "postgresql" else sqlite.insert(table))
    statement = insert.values(key=key[:120], hits=1, window_ends=now + window).on_conflict_do_update(
        index_elements=[table.c.key], set_={
            "hits": case((ended, 1), else_=table.c.hits + 1),
            "window_ends": case((ended, literal(now + window, UTCDateTime())), else_=table.c.window_ends),
        }).returning(table.c.hits, table.c.window_ends)
    hits, window_ends = connection.execute(statement).one()
    if hits <= limit:
        return None
    return max(1, math.ceil((window_ends - now).total_seconds()))
