"""The sign-in throttle holds in parallel, answers alike for any username, audits a wait once, and runs
on the wall clock (issue 18, points 2 and 4), on SQLite and PostgreSQL.

Thirty guesses at once went through to the password check 27 times on SQLite and 30 on PostgreSQL
when the count was read, the password verified and only then the failure written; one by one, 3 did.
How many were checked is read from the audit trail: every checked failure is audited with its reason
(`wrong_password`), a refusal unchecked is not one. The wall clock (`App.wall_clock`) stands still
here unless a test moves it, so thirty serial guesses meet exactly the limit, as parallel ones must."""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.wall_clock import WallClock
from tests.workflows.test_accounts import PASSWORD, WRONG, _populate, _settings
from workflows.app import App
from workflows.db.process_models import AuditEvent
from workflows.db.schema import upgrade
from workflows.services import Unauthenticated
from workflows.services.access import SYSTEM, principal_by_name
from workflows.services.accounts import add_user, authenticate, issue_token, principal_for_token

GUESSES = 30


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


def attempt(app: App, username: str, password: str = "a wrong guess") -> tuple[str, int | None]:
    """What the person is told: the sentence, and the seconds to wait (None: no wait asked)."""
    try:
        authenticate(app, username, password, "test")
    except Unauthenticated as err:
        return str(err), err.retry_after
    return "signed in", None


def audited(app: App, username: str, reason: str | None = None) -> int:
    """The `login_failed` events of `username` (of that reason)."""
    with app.uow() as uow:
        found = uow.session.scalars(select(AuditEvent.data_after).where(
            AuditEvent.action == "login_failed", AuditEvent.subject == f"user:{username}"))
        return sum(1 for after in found if reason is None or after["reason"] == reason)


def events(app: App) -> int:
    with app.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def at_once(count: int, work: object) -> list[tuple[str, int | None]]:
    """`work()` in `count` threads released together; their answers."""
    start = threading.Barrier(count)
    answers: list[tuple[str, int | None]] = []
    lock = threading.Lock()

    def run() -> None:
        start.wait(timeout=60)
        answer = work()  # type: ignore[operator]
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return answers


def test_thirty_parallel_guesses_are_checked_no_more_often_than_thirty_serial_ones(accounts: App) -> None:
    serial = [attempt(accounts, "officer1.north") for _ in range(GUESSES)]
    checked_serially = audited(accounts, "officer1.north", "wrong_password")
    parallel = at_once(GUESSES, lambda: attempt(accounts, "visitor"))
    checked_in_parallel = audited(accounts, "visitor", "wrong_password")
    print(f"\n{accounts.db.dialect.name}: {GUESSES} guesses checked: serial {checked_serially}, "
          f"parallel {checked_in_parallel}")
    assert checked_serially == accounts.settings.login_slowdown_after == 3
    assert checked_in_parallel <= checked_serially
    assert checked_in_parallel == 3  # the reservation is atomic: exactly the limit, not fewer
    for answers in (serial, parallel):
        assert Counter(answers) == {(WRONG, None): 3, ("too many failed sign-ins: try again in 1 s", 1): GUESSES - 3}


def test_parallel_guesses_for_an_unknown_username_meet_the_same_limit(accounts: App) -> None:
    answers = at_once(GUESSES, lambda: attempt(accounts, "nobody.at.all"))
    assert Counter(answers) == {(WRONG, None): 3, ("too many failed sign-ins: try again in 1 s", 1): GUESSES - 3}
    assert audited(accounts, "nobody.at.all", "unknown_user") == 3


def test_a_known_and_an_unknown_username_get_identical_answers_all_the_way_to_the_lock(accounts: App) -> None:
    """No 429-only-for-real-accounts: attempt by attempt, with the same waits in between, a real user
    and a made-up one are told the very same things — the real one's right password too, once locked."""
    told: dict[str, list[tuple[str, int | None]]] = {"officer1.north": [], "no.such.user": []}
    start = clock(accounts).moment
    for username, answers in told.items():
        clock(accounts).moment = start
        for wait in (0, 0, 0, 0, 1, 0, 2, 4, 8, 16, 32, 64, 0):
            clock(accounts).advance(seconds=wait)
            answers.append(attempt(accounts, username))
        answers.append(attempt(accounts, username, PASSWORD if username == "officer1.north" else "x"))
    assert told["officer1.north"] == told["no.such.user"]
    assert told["no.such.user"][-1] == ("too many failed sign-ins: try again in 900 s", 900)
    assert [wait for _, wait in told["no.such.user"]][:7] == [None, None, None, 1, None, 2, None]


def lock_out(app: App, username: str) -> None:
    """`login_lockout_after` wrong guesses, each after the pause the one before asked for: locked now."""
    settings = app.settings
    for failures in range(1, settings.login_lockout_after + 1):
        assert attempt(app, username)[0] == WRONG
        if failures < settings.login_lockout_after:
            clock(app).advance(seconds=2 ** max(failures - settings.login_slowdown_after, 0))


def test_a_hundred_refused_attempts_on_a_locked_account_write_one_audit_event(accounts: App) -> None:
    settings = accounts.settings
    lock_out(accounts, "admin")
    assert attempt(accounts, "admin", PASSWORD)[1] == 900  # locked: even the right password waits
    before = events(accounts)
    answers = [attempt(accounts, "admin", PASSWORD) for _ in range(100)]
    assert set(answers) == {("too many failed sign-ins: try again in 900 s", 900)}
    assert events(accounts) - before == 0  # the wait's first refusal was audited before these
    assert audited(accounts, "admin", "locked") == 1
    clock(accounts).advance(minutes=settings.login_lockout_minutes)
    assert attempt(accounts, "admin", PASSWORD) == ("signed in", None)
    with accounts.uow() as uow:
        login = uow.session.scalars(select(AuditEvent.data_after).where(AuditEvent.action == "login")
                                    .order_by(AuditEvent.id.desc())).first()
    assert login == {"source": "test", "refused_meanwhile": 101}  # the wait's count, recorded once


# --- the wall clock, whatever the programme's clock says (point 4) -----------------------------------

@pytest.mark.parametrize("programme_at", [datetime(2099, 12, 31, tzinfo=UTC), datetime(1999, 1, 4, tzinfo=UTC)])
def test_a_lock_ends_after_its_minutes_of_real_time_wherever_the_programme_clock_stands(
        accounts: App, programme_at: datetime) -> None:
    with accounts.uow() as uow:  # the simulated clock may not go back: set it straight
        from workflows.db.process_models import ClockState

        uow.session.get(ClockState, 1).now = programme_at
        uow.commit()
    add_user(accounts, SYSTEM, "fuzzed", "Fuzzed Admin", "f@cx.local", "administrator", password=PASSWORD)
    lock_out(accounts, "fuzzed")
    assert attempt(accounts, "fuzzed", PASSWORD)[1] == 15 * 60
    with accounts.uow() as uow:  # a year of programme time goes by: the lock does not care
        uow.clock.advance(timedelta(days=365))
        uow.commit()
    assert attempt(accounts, "fuzzed", PASSWORD)[1] == 15 * 60
    clock(accounts).advance(minutes=15)
    assert attempt(accounts, "fuzzed", PASSWORD) == ("signed in", None)
    with accounts.uow() as uow:  # the audit trail keeps the programme's time
        at = uow.session.scalars(select(AuditEvent.occurred_at).where(AuditEvent.action == "login")
                                 .order_by(AuditEvent.id.desc())).first()
    assert at == programme_at + timedelta(days=365)


def test_a_token_expires_on_real_time_wherever_the_programme_clock_goes(accounts: App) -> None:
    issued = issue_token(accounts, principal_by_name(accounts, "visitor"), "visitor", ttl_hours=12)
    assert issued.expires_at == clock(accounts).moment + timedelta(hours=12)
    with accounts.uow() as uow:  # the demo runs its programme a year ahead: the token still holds
        uow.clock.advance(timedelta(days=365))
        uow.commit()
    assert principal_for_token(accounts, issued.token).username == "visitor"
    clock(accounts).advance(hours=12)
    with pytest.raises(Unauthenticated):
        principal_for_token(accounts, issued.token)


def test_the_pauses_double_up_to_the_lock_and_a_long_count_neither_overflows_nor_unlocks(accounts: App) -> None:
    from workflows.db.account_models import SignInAttempt
    from workflows.services.throttle import Checked, Waiting, pause, reserve

    accounts.settings = accounts.settings.model_copy(update={"login_slowdown_after": 1, "login_lockout_after": 1000})
    seconds = [None if p is None else p.total_seconds() for p in (pause(accounts.settings, n) for n in range(6))]
    assert seconds == [None, 1, 2, 4, 8, 16]
    assert pause(accounts.settings, 500) == pause(accounts.settings, 999) == timedelta(minutes=15)
    now = clock(accounts).moment
    with accounts.uow() as uow:
        uow.session.add(SignInAttempt(username="visitor", failures=500, refused=0, refused_before=0,
                                      blocked_until=now, last_attempt_at=now))
        uow.commit()
    assert reserve(accounts, "visitor") == Checked(501, 0)
    assert reserve(accounts, "visitor") == Waiting("throttled", 900, 1, 501)


def test_a_username_with_a_nul_byte_is_answered_like_any_unknown_one(accounts: App) -> None:
    assert attempt(accounts, "admin\x00") == (WRONG, None)  # PostgreSQL cannot store nor compare a NUL
    assert audited(accounts, "admin\ufffd", "unknown_user") == 1


# --- the counts do not pile up -----------------------------------------------------------------------

def test_counts_of_usernames_not_tried_for_a_day_are_swept_and_their_untold_refusals_audited(accounts: App) -> None:
    from workflows.db.account_models import SignInAttempt
    from workflows.services.throttle import FORGOTTEN_AFTER, sweep_attempts

    for n in range(5):  # made-up usernames: one guess each
        attempt(accounts, f"nobody{n}")
    lock_out(accounts, "admin")
    for _ in range(7):  # refused while locked; no later attempt reports them
        attempt(accounts, "admin")
    assert sweep_attempts(accounts).removed == 0  # tried just now: kept
    clock(accounts).advance(FORGOTTEN_AFTER, seconds=1)
    swept = sweep_attempts(accounts)
    assert (swept.removed, swept.refusals_reported) == (6, 7)
    with accounts.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(SignInAttempt)) == 0
        told = list(uow.session.scalars(select(AuditEvent.data_after).where(AuditEvent.action == "login_refusals")))
    assert [t["refused"] for t in told] == [7] and told[0]["username"] == "admin"
    assert sweep_attempts(accounts).removed == 0  # nothing left, nothing audited twice


def test_a_username_still_waiting_is_not_swept(accounts: App) -> None:
    from workflows.services.throttle import sweep_attempts

    lock_out(accounts, "admin")
    assert sweep_attempts(accounts, older_than=timedelta(0)).removed == 0  # locked for 15 minutes yet
    assert attempt(accounts, "admin", PASSWORD)[1] is not None
