"""Web sessions kept on the server (issue 18, point 3), on SQLite and PostgreSQL: a session ends at
logout, every session (and API token) of a user ends at once when their password changes, when they
are disabled and when they or an administrator end them all; an absolute lifetime and an idle
timeout both hold, on the wall clock (`App.wall_clock`), whatever the programme's clock does.
The same through the cookies of the web workspace: tests/web/test_sessions_web.py."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.wall_clock import WALL_START, WallClock
from tests.workflows.test_accounts import PASSWORD, _populate, _settings, events
from workflows.app import App
from workflows.db.account_models import WebSession
from workflows.db.schema import upgrade
from workflows.services import NotFound, Refused, Unauthenticated
from workflows.services.access import SYSTEM, Principal, principal_by_name
from workflows.services.accounts import (
    authenticate,
    disable_user,
    end_session,
    end_sessions,
    issue_token,
    open_session,
    principal_for_session,
    principal_for_token,
    set_password,
)


@pytest.fixture
def accounts(database_url: str, tmp_path: Path) -> Iterator[App]:
    app = App(_settings(database_url, tmp_path))
    upgrade(app.db)
    _populate(app)  # admin, officer1.north, visitor with PASSWORD; a WallClock standing still
    yield app
    app.close()


def clock(app: App) -> WallClock:
    assert isinstance(app.wall_clock, WallClock)
    return app.wall_clock


def signed_in(app: App, username: str) -> str:
    """A new session of `username` (signed in with the password): its secret, as the cookie carries it."""
    return open_session(app, authenticate(app, username, PASSWORD, "test"))


def holds(app: App, secret: str) -> bool:
    try:
        principal_for_session(app, secret)
    except Unauthenticated:
        return False
    return True


def test_a_session_is_stored_as_the_sha256_of_its_secret_and_stands_for_its_user(accounts: App) -> None:
    import hashlib

    secret = signed_in(accounts, "visitor")
    with accounts.uow() as uow:
        row = uow.session.scalars(select(WebSession)).one()
        uow.session.expunge(row)
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in row.secret_hash
    assert (row.created_at, row.expires_at) == (WALL_START, WALL_START + timedelta(hours=8))
    principal = principal_for_session(accounts, secret)
    assert (principal.username, principal.role, principal.organisation_id) == ("visitor", "applicant", 1)
    for forged in ("", "x" * 300, secret[:-1] + ("A" if secret[-1] != "A" else "B")):
        assert not holds(accounts, forged)


def test_logout_ends_that_session_only_and_is_audited(accounts: App) -> None:
    first, second = signed_in(accounts, "visitor"), signed_in(accounts, "visitor")
    end_session(accounts, first)
    assert not holds(accounts, first) and holds(accounts, second)
    end_session(accounts, first)  # again: nothing more happens
    assert [e.actor for e in events(accounts, "logout")] == ["visitor"]


def test_a_new_password_ends_every_session_of_the_user(accounts: App) -> None:
    mine, elsewhere, theirs = signed_in(accounts, "visitor"), signed_in(accounts, "visitor"), signed_in(
        accounts, "officer1.north")
    set_password(accounts, SYSTEM, "visitor", "a brand new one")
    assert not holds(accounts, mine) and not holds(accounts, elsewhere) and holds(accounts, theirs)
    assert events(accounts, "password_changed")[-1].data_after == {
        "username": "visitor", "sessions_ended": 2, "tokens_revoked": 0}
    assert holds(accounts, open_session(accounts, authenticate(accounts, "visitor", "a brand new one", "test")))


def test_disabling_a_user_ends_every_session_and_a_disabled_user_gets_no_new_one(accounts: App) -> None:
    secret = signed_in(accounts, "visitor")
    principal = principal_for_session(accounts, secret)
    disable_user(accounts, SYSTEM, "visitor")
    assert not holds(accounts, secret)
    with pytest.raises(Unauthenticated):  # signed in a moment before being disabled
        open_session(accounts, principal)


def test_ending_all_sessions_ends_every_session_and_token_at_once(accounts: App) -> None:
    sessions = [signed_in(accounts, "officer1.north") for _ in range(3)]
    tokens = [issue_token(accounts, SYSTEM, "officer1.north").token for _ in range(2)]
    other = signed_in(accounts, "visitor")
    admin = principal_by_name(accounts, "admin")
    done = end_sessions(accounts, admin, "officer1.north")
    assert (done.sessions_ended, done.tokens_revoked) == (3, 2)
    assert not any(holds(accounts, s) for s in sessions) and holds(accounts, other)
    for token in tokens:
        with pytest.raises(Unauthenticated):
            principal_for_token(accounts, token)
    ended = events(accounts, "sessions_ended")[-1]
    assert (ended.actor, ended.subject, ended.data_after) == (
        "admin", "user:officer1.north", {"username": "officer1.north", "sessions_ended": 3, "tokens_revoked": 2})
    assert holds(accounts, signed_in(accounts, "officer1.north"))  # they may sign in again


def test_a_user_signs_out_everywhere_but_only_an_administrator_ends_someone_elses_sessions(accounts: App) -> None:
    visitor: Principal = principal_for_session(accounts, signed_in(accounts, "visitor"))
    assert end_sessions(accounts, visitor, "visitor").sessions_ended == 1
    officer = signed_in(accounts, "officer1.north")
    with pytest.raises(Refused, match="visitor may not end the sessions of officer1.north"):
        end_sessions(accounts, visitor, "officer1.north")
    assert holds(accounts, officer)
    assert [e.actor for e in events(accounts, "access_refused")] == ["visitor"]
    with pytest.raises(NotFound):
        end_sessions(accounts, SYSTEM, "nobody")


def test_a_session_ends_eight_hours_after_sign_in_however_busy_it_is(accounts: App) -> None:
    secret = signed_in(accounts, "visitor")
    for _ in range(15):  # used every half hour: it never idles, and is never extended
        clock(accounts).advance(minutes=30)
        assert holds(accounts, secret)
    clock(accounts).advance(minutes=29, seconds=59)
    assert holds(accounts, secret)
    clock(accounts).advance(seconds=1)  # 8 hours since sign-in
    assert not holds(accounts, secret)


def test_a_session_unused_for_its_idle_timeout_ends(accounts: App) -> None:
    secret = signed_in(accounts, "visitor")
    clock(accounts).advance(minutes=59, seconds=59)
    assert holds(accounts, secret)  # used: the idle time starts again
    clock(accounts).advance(minutes=59, seconds=59)
    assert holds(accounts, secret)
    clock(accounts).advance(minutes=60)
    assert not holds(accounts, secret)


def test_a_session_records_its_use_at_most_once_a_minute(accounts: App) -> None:
    secret = signed_in(accounts, "visitor")

    def last_seen() -> object:
        with accounts.uow() as uow:
            return uow.session.scalars(select(WebSession.last_seen_at)).one()

    for _ in range(5):
        principal_for_session(accounts, secret)
    clock(accounts).advance(seconds=59)
    principal_for_session(accounts, secret)
    assert last_seen() == WALL_START
    clock(accounts).advance(seconds=1)
    principal_for_session(accounts, secret)
    assert last_seen() == WALL_START + timedelta(minutes=1)


def test_sessions_run_on_real_time_wherever_the_programme_clock_goes(accounts: App) -> None:
    secret = signed_in(accounts, "visitor")
    with accounts.uow() as uow:  # the demo moves its programme a year ahead
        uow.clock.advance(timedelta(days=365))
        uow.commit()
    assert holds(accounts, secret)  # still a fresh session: eight real hours, not simulated ones
    clock(accounts).advance(hours=1)
    assert not holds(accounts, secret)  # an hour idle, in real time
