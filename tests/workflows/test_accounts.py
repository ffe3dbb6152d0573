"""Accounts: users with argon2 passwords, sign-ins that slow down and lock, API tokens.

On a real database (SQLite file, and PostgreSQL when it answers) upgraded by the migrations. Account
protection runs on the wall clock, here a `WallClock` the test moves (a lock of fifteen minutes is
waited for by moving it), while the programme's simulated clock stands at START. Web sessions:
test_sessions.py; parallel sign-ins and the throttle's audit: test_sign_in_throttle.py."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update

from tests.wall_clock import WALL_START, WallClock
from tests.workflows.builders import START, _org
from workflows.app import App
from workflows.db.account_models import ApiToken, SignInAttempt
from workflows.db.models import Partnership, User
from workflows.db.process_models import AuditEvent
from workflows.db.schema import upgrade
from workflows.services import Invalid, NotFound, Refused, Unauthenticated
from workflows.services.access import SYSTEM, principal_by_name
from workflows.services.accounts import (
    add_user,
    authenticate,
    disable_user,
    find_users,
    issue_token,
    list_users,
    principal_for_token,
    revoke_token,
    set_password,
)
from workflows.settings import DEV_AUDIT_KEY, DEV_SECRET, Settings, SettingsError, check_serving, get_settings

PASSWORD = "correct horse battery"
WRONG = "wrong username or password"


def _settings(database_url: str, folder: Path, **values: Any) -> Settings:
    return Settings(database_url=database_url, files_dir=folder / "files", **values)


def _populate(app: App) -> None:
    app.wall_clock = WallClock()
    """A partnership, an organisation, and three users with PASSWORD: admin, an officer, an applicant."""
    with app.uow() as uow:
        uow.clock.set(START)
        north = Partnership(code="CXP-NORTH", name="ClusterXchange North", debtor_name="Cluster Alliance North",
                            debtor_iban="BE68539007547034", debtor_bic="GKCCBEBB", country="BE")
        uow.session.add(north)
        uow.session.flush()
        uow.session.add(_org(1, "Nova Cluster Brussels", "BE", "Brussels", 50.85, 4.35, north, "BE71096123456769"))
        uow.commit()
    add_user(app, SYSTEM, "admin", "Support Office", "support@cx.local", "administrator", password=PASSWORD)
    add_user(app, SYSTEM, "officer1.north", "Olga Officer", "o1@cx.local", "officer", partnership="CXP-NORTH")
    add_user(app, SYSTEM, "visitor", "Vera Visitor", "vera@nova.example", "applicant", organisation="BE100000001")
    with app.uow() as uow:  # the admin's hash for the other two: argon2 is slow on purpose, as in the demo
        uow.session.execute(update(User).where(User.username != "admin").values(
            password_hash=select(User.password_hash).where(User.username == "admin").scalar_subquery(),
            password_changed_at=uow.now()))
        uow.commit()


@pytest.fixture
def accounts(database_url: str, tmp_path: Path) -> Iterator[App]:
    app = App(_settings(database_url, tmp_path))
    upgrade(app.db)
    _populate(app)
    yield app
    app.close()


def wait(app: App, seconds: float) -> None:
    """Real time passes (the wall clock); the programme's clock stays where it is."""
    app.wall_clock.advance(seconds=seconds)  # type: ignore[attr-defined]


def counted(app: App, username: str) -> int:
    """The failed sign-ins of `username` counted since its last success (0 without a row)."""
    with app.uow() as uow:
        return uow.session.scalar(select(SignInAttempt.failures).where(SignInAttempt.username == username)) or 0


def events(app: App, action: str) -> list[AuditEvent]:
    with app.uow() as uow:
        rows = list(uow.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        uow.session.expunge_all()
    return rows


def row(app: App, username: str) -> User:
    with app.uow() as uow:
        user = uow.session.scalars(select(User).where(User.username == username)).one()
        uow.session.expunge(user)
    return user


def fails(app: App, username: str, password: str) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        authenticate(app, username, password, "test")
    return caught.value


# --- passwords and sign-in -------------------------------------------------------------------------

def test_the_product_hashes_with_pwdlibs_recommended_argon2id_parameters() -> None:
    from pwdlib.hashers.argon2 import Argon2Hasher

    from tests.conftest import PRODUCT_HASHER

    product = PRODUCT_HASHER[0]()  # the tests themselves hash cheaply (tests/conftest.py)
    stored = product.hash("correct horse battery staple")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), stored
    assert product.verify("correct horse battery staple", stored)
    assert isinstance(product.current_hasher, Argon2Hasher)


def test_passwords_are_stored_as_argon2id_hashes_and_never_audited(accounts: App) -> None:
    stored = row(accounts, "officer1.north").password_hash
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    for event in events(accounts, "user_added"):
        assert "$argon2" not in str(event.data_after) and PASSWORD not in str(event.data_after)
        assert event.actor == "system"
    assert [u.username for u in list_users(accounts, SYSTEM)] == ["admin", "officer1.north", "visitor"]


def test_the_right_password_signs_in_as_the_user_and_is_audited(accounts: App) -> None:
    principal = authenticate(accounts, "officer1.north", PASSWORD, "127.0.0.1")
    assert (principal.username, principal.role, principal.partnership_id) == ("officer1.north", "officer", 1)
    login = events(accounts, "login")[-1]
    assert (login.actor, login.data_after) == ("officer1.north", {"source": "127.0.0.1"})
    assert row(accounts, "officer1.north").last_login_at == WALL_START  # the wall clock's moment
    assert login.occurred_at == START  # the audit trail keeps the programme's


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer_and_are_both_audited(accounts: App) -> None:
    assert str(fails(accounts, "officer1.north", "not the password")) == WRONG
    assert str(fails(accounts, "nobody", PASSWORD)) == WRONG
    failed = events(accounts, "login_failed")
    assert [(e.data_after["username"], e.data_after["reason"]) for e in failed] == [
        ("officer1.north", "wrong_password"), ("nobody", "unknown_user")]
    assert all(e.actor == "anonymous" and PASSWORD not in str(e.data_after) for e in failed)


def test_a_disabled_user_or_one_without_a_password_cannot_sign_in(accounts: App) -> None:
    add_user(accounts, SYSTEM, "auditor", "Ada Auditor", "ada@cx.local", "auditor")
    assert str(fails(accounts, "auditor", "")) == WRONG
    disable_user(accounts, SYSTEM, "visitor")
    assert str(fails(accounts, "visitor", PASSWORD)) == WRONG
    assert [e.data_after["reason"] for e in events(accounts, "login_failed")] == ["no_password", "disabled"]


def test_repeated_failures_slow_down_then_lock_the_account_until_the_lock_expires(accounts: App) -> None:
    for _ in range(3):
        assert fails(accounts, "officer1.north", "guess").retry_after is None
    soon = fails(accounts, "officer1.north", PASSWORD)  # even the right password is not checked now
    assert (str(soon), soon.retry_after) == ("too many failed sign-ins: try again in 1 s", 1)
    for failures, pause in ((4, 1), (5, 2), (6, 4), (7, 8), (8, 16), (9, 32)):
        wait(accounts, pause)
        fails(accounts, "officer1.north", "guess")
        assert counted(accounts, "officer1.north") == failures
        assert fails(accounts, "officer1.north", PASSWORD).retry_after == 2 ** (failures - 3)
    wait(accounts, 64)
    fails(accounts, "officer1.north", "guess")  # the tenth: locked for 15 minutes
    locked = fails(accounts, "officer1.north", PASSWORD)
    assert (str(locked), locked.retry_after) == ("too many failed sign-ins: try again in 900 s", 900)
    wait(accounts, 14 * 60)
    assert fails(accounts, "officer1.north", PASSWORD).retry_after == 60
    wait(accounts, 60)
    assert authenticate(accounts, "officer1.north", PASSWORD, "test").username == "officer1.north"
    assert counted(accounts, "officer1.north") == 0
    reasons = [e.data_after["reason"] for e in events(accounts, "login_failed")]
    # one refusal audited per wait; the second refusal of the lock is counted, and recorded once
    assert reasons.count("wrong_password") == 10 and reasons.count("throttled") == 7 and reasons.count("locked") == 1
    assert events(accounts, "login")[-1].data_after == {"source": "test", "refused_meanwhile": 2}


def test_a_success_resets_the_count_of_failures(accounts: App) -> None:
    for _ in range(3):
        fails(accounts, "visitor", "guess")
    wait(accounts, 1)
    authenticate(accounts, "visitor", PASSWORD, "test")
    for _ in range(3):  # three more at once: no slowdown yet, the count started again
        assert fails(accounts, "visitor", "guess").retry_after is None


def test_failures_past_the_limit_lock_again_after_the_lock_expired(accounts: App) -> None:
    with accounts.uow() as uow:
        uow.session.add(SignInAttempt(username="visitor", failures=10, refused=0, refused_before=0,
                                      blocked_until=WALL_START, last_attempt_at=WALL_START))
        uow.commit()
    fails(accounts, "visitor", "guess")
    assert fails(accounts, "visitor", PASSWORD).retry_after == 900


# --- managing users --------------------------------------------------------------------------------

BAD_USERS = [  # (the field named, what differs from a good officer, the message)
    ("role", {"role": "wizard"}, "is not a role"),
    ("partnership", {"partnership": "CXP-NOWHERE"}, "no partnership 'CXP-NOWHERE'"),
    ("partnership", {"partnership": None}, "is required for the role officer"),
    ("partnership", {"role": "auditor"}, "only officers and finance users belong to a partnership"),
    ("organisation", {"role": "applicant", "partnership": None}, "is required for the role applicant"),
    ("organisation", {"role": "applicant", "partnership": None, "organisation": "XX1"}, "no organisation 'XX1'"),
    ("username", {"username": "officer1.north"}, "'officer1.north' is taken"),
    ("username", {"username": "two words"}, "letters, digits"),
    ("email", {"email": "not-an-address"}, "is not an email address"),
    ("password", {"password": "seven77"}, "at least 8 characters (development mode)"),
]


def test_a_user_with_bad_data_is_refused_naming_the_field(accounts: App) -> None:
    good = {"username": "officer3.north", "display_name": "Otto", "email": "o3@cx.local", "role": "officer",
            "partnership": "CXP-NORTH", "password": "long enough"}
    for field, changes, message in BAD_USERS:
        with pytest.raises(Invalid) as caught:
            add_user(accounts, SYSTEM, **(good | changes))
        assert [f.field for f in caught.value.fields] == [field] and message in str(caught.value), changes
    assert add_user(accounts, SYSTEM, **good).partnership == "CXP-NORTH"


def test_production_mode_asks_for_passwords_of_twelve_characters(database_url: str, tmp_path: Path) -> None:
    app = App(_settings(database_url, tmp_path, mode="production", secret_key="a-real-secret-for-the-test",
                        audit_key="a-real-audit-key-for-the-test"))
    try:
        upgrade(app.db)
        with pytest.raises(Invalid, match=r"password: must be at least 12 characters \(production mode\)"):
            add_user(app, SYSTEM, "admin", "Admin", "a@cx.local", "administrator", password="eleven char")
        assert add_user(app, SYSTEM, "admin", "Admin", "a@cx.local", "administrator",
                        password="twelve chars").has_password
    finally:
        app.close()


def test_only_an_administrator_adds_users_and_disables_them_and_refusals_are_audited(accounts: App) -> None:
    officer = principal_by_name(accounts, "officer1.north")
    with pytest.raises(Refused, match="officer1.north is officer and may not add users"):
        add_user(accounts, officer, "friend", "Friend", "f@cx.local", "auditor")
    with pytest.raises(Refused):
        disable_user(accounts, officer, "visitor")
    with pytest.raises(Refused):
        list_users(accounts, officer)
    assert [e.actor for e in events(accounts, "access_refused")] == ["officer1.north"] * 3
    admin = principal_by_name(accounts, "admin")
    assert add_user(accounts, admin, "friend", "Friend", "f@cx.local", "auditor").has_password is False
    assert events(accounts, "user_added")[-1].actor == "admin"


def test_a_user_changes_their_own_password_but_not_someone_elses(accounts: App) -> None:
    visitor = principal_by_name(accounts, "visitor")
    with pytest.raises(Refused, match="may not change the password of officer1.north"):
        set_password(accounts, visitor, "officer1.north", "a new password")
    set_password(accounts, visitor, "visitor", "a new password")
    assert str(fails(accounts, "visitor", PASSWORD)) == WRONG
    assert authenticate(accounts, "visitor", "a new password", "test").username == "visitor"
    changed = events(accounts, "password_changed")[-1]
    assert changed.actor == "visitor" and "new password" not in str(changed.data_after)
    with pytest.raises(Invalid, match="password: must be at least 8"):
        set_password(accounts, visitor, "visitor", "short")
    with pytest.raises(NotFound):
        set_password(accounts, SYSTEM, "nobody", "a new password")


# --- tokens ----------------------------------------------------------------------------------------

def test_a_token_is_shown_once_and_stored_as_its_sha256_only(accounts: App) -> None:
    visitor = authenticate(accounts, "visitor", PASSWORD, "test")
    issued = issue_token(accounts, visitor, "visitor", name="api")
    assert issued.token.startswith("cxp_") and len(issued.token) == 4 + 43
    assert issued.expires_at == WALL_START + timedelta(hours=12)  # 12 real hours
    with accounts.uow() as uow:
        stored = uow.session.scalars(select(ApiToken)).one()
        assert stored.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert issued.token not in str([e.data_after for e in events(accounts, "token_issued")])
    principal = principal_for_token(accounts, issued.token)
    assert (principal.username, principal.role, principal.organisation_id) == ("visitor", "applicant", 1)


def test_a_token_stops_working_when_it_expires_is_revoked_or_its_user_is_disabled(accounts: App) -> None:
    officer = principal_by_name(accounts, "officer1.north")
    short = issue_token(accounts, officer, "officer1.north", ttl_hours=1)
    by_id, by_secret = (issue_token(accounts, SYSTEM, "officer1.north", ttl_hours=48) for _ in range(2))
    wait(accounts, 3599)
    principal_for_token(accounts, short.token)
    wait(accounts, 1)
    for secret in (short.token, "cxp_not-a-token", "Bearer something", ""):
        with pytest.raises(Unauthenticated, match="unknown, expired or revoked"):
            principal_for_token(accounts, secret)
    assert revoke_token(accounts, officer, by_id.id).revoked_at == WALL_START + timedelta(hours=1)
    revoke_token(accounts, officer, by_secret.token)
    for secret in (by_id.token, by_secret.token):
        with pytest.raises(Unauthenticated):
            principal_for_token(accounts, secret)
    kept = issue_token(accounts, SYSTEM, "visitor")
    disable_user(accounts, SYSTEM, "visitor")
    with pytest.raises(Unauthenticated):
        principal_for_token(accounts, kept.token)
    assert [e.data_after["token_id"] for e in events(accounts, "token_revoked")] == [by_id.id, by_secret.id]
    assert events(accounts, "user_disabled")[-1].data_after == {"active": False, "sessions_ended": 0,
                                                                "tokens_revoked": 1}


def test_tokens_are_issued_and_revoked_by_their_user_or_an_administrator_only(accounts: App) -> None:
    visitor = principal_by_name(accounts, "visitor")
    with pytest.raises(Refused):
        issue_token(accounts, visitor, "officer1.north")
    theirs = issue_token(accounts, principal_by_name(accounts, "admin"), "officer1.north", ttl_hours=24)
    with pytest.raises(Refused):
        revoke_token(accounts, visitor, theirs.id)
    with pytest.raises(NotFound):
        revoke_token(accounts, SYSTEM, 999)
    with pytest.raises(Invalid, match="ttl_hours"):
        issue_token(accounts, visitor, "visitor", ttl_hours=0)


def test_a_token_records_its_use_at_most_once_a_minute(accounts: App) -> None:
    issued = issue_token(accounts, SYSTEM, "visitor")

    def last_used() -> datetime | None:
        with accounts.uow() as uow:
            return uow.session.get(ApiToken, issued.id).last_used_at

    principal_for_token(accounts, issued.token)
    assert last_used() == WALL_START
    wait(accounts, 59)
    principal_for_token(accounts, issued.token)
    assert last_used() == WALL_START
    wait(accounts, 1)
    principal_for_token(accounts, issued.token)
    assert last_used() == WALL_START + timedelta(minutes=1)


def test_a_password_change_revokes_the_users_tokens_unless_asked_to_keep_them(accounts: App) -> None:
    first, second = issue_token(accounts, SYSTEM, "visitor"), issue_token(accounts, SYSTEM, "visitor")
    set_password(accounts, SYSTEM, "visitor", "another password", revoke_tokens=False)
    principal_for_token(accounts, first.token)
    set_password(accounts, SYSTEM, "visitor", "yet another one")
    for token in (first, second):
        with pytest.raises(Unauthenticated):
            principal_for_token(accounts, token.token)


# --- settings --------------------------------------------------------------------------------------

def test_serving_in_production_mode_needs_a_secret_key_and_an_audit_key(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    built = Settings.model_construct(mode="production", secret_key=DEV_SECRET, audit_key=DEV_AUDIT_KEY)
    with pytest.raises(SettingsError, match="CXP_SECRET_KEY must be set in production mode; CXP_AUDIT_KEY"):
        check_serving(built)
    assert check_serving(Settings(files_dir=tmp_path)).development  # development mode: its own keys will do
    monkeypatch.setenv("CXP_MODE", "production")
    monkeypatch.setenv("CXP_FILES_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError, match="^CXP_SECRET_KEY must be set in production mode$"):
            check_serving()
        monkeypatch.setenv("CXP_SECRET_KEY", "short")
        monkeypatch.setenv("CXP_AUDIT_KEY", "an-audit-key-of-sixteen+")
        get_settings.cache_clear()
        with pytest.raises(SettingsError, match="CXP_SECRET_KEY must be at least 16 characters"):
            check_serving()
        monkeypatch.setenv("CXP_SECRET_KEY", "a-secret-key-long-enough")
        get_settings.cache_clear()
        assert check_serving().mode == "production"
    finally:
        get_settings.cache_clear()


# --- the migration ---------------------------------------------------------------------------------

def test_migration_0007_keeps_existing_users_without_a_password(database_url: str, tmp_path: Path) -> None:
    from importlib.resources import as_file

    from alembic import command

    from workflows.db.base import make_engine
    from workflows.db.schema import MIGRATIONS, alembic_config

    engine = make_engine(database_url)
    try:
        with as_file(MIGRATIONS) as folder, engine.begin() as connection:
            config = alembic_config(database_url, str(folder))
            config.attributes["connection"] = connection
            command.upgrade(config, "0006_demo_state")
            connection.execute(text("INSERT INTO users (username, display_name, email, role, active) "
                                    "VALUES ('old', 'Old Timer', 'old@cx.local', 'auditor', true)"))
            command.upgrade(config, "head")
        app = App(_settings(database_url, tmp_path))
        try:
            old = row(app, "old")
            assert (old.password_hash, counted(app, "old")) == (None, 0)
            assert str(fails(app, "old", "anything at all")) == WRONG
            set_password(app, SYSTEM, "old", "now with a password")
            assert authenticate(app, "old", "now with a password", "test").username == "old"
            assert issue_token(app, SYSTEM, "old").expires_at > datetime.now(UTC) - timedelta(days=1)
        finally:
            app.close()
    finally:
        engine.dispose()


def test_migration_0011_moves_the_sign_in_counts_off_users_and_can_be_undone(database_url: str,
                                                                          tmp_path: Path) -> None:
    """A user locked (on the simulated clock, far ahead) before 0011 can sign in after it: the counts
    start again on the wall clock; the users table keeps its rows and what refers to them (tokens)."""
    from importlib.resources import as_file

    from alembic import command

    from workflows.db.base import make_engine
    from workflows.db.schema import MIGRATIONS, alembic_config

    app = App(_settings(database_url, tmp_path))
    upgrade(app.db)
    _populate(app)
    issued = issue_token(app, SYSTEM, "visitor", ttl_hours=24)
    app.close()
    engine = make_engine(database_url)
    try:
        with as_file(MIGRATIONS) as folder, engine.begin() as connection:
            config = alembic_config(database_url, str(folder))
            config.attributes["connection"] = connection
            command.downgrade(config, "0010_process_versions")
            assert {"web_sessions", "sign_in_attempts"}.isdisjoint(
                __import__("sqlalchemy").inspect(connection).get_table_names())
            connection.execute(text("UPDATE users SET failed_logins = 12, "
                                    "locked_until = '2099-01-01 00:00:00' WHERE username = 'visitor'"))
            command.upgrade(config, "head")
            columns = {c["name"] for c in __import__("sqlalchemy").inspect(connection).get_columns("users")}
            assert {"failed_logins", "locked_until", "last_failed_login_at"}.isdisjoint(columns)
    finally:
        engine.dispose()
    app = App(_settings(database_url, tmp_path))
    try:
        app.wall_clock = WallClock()
        assert authenticate(app, "visitor", PASSWORD, "test").username == "visitor"
        assert principal_for_token(app, issued.token).username == "visitor"
    finally:
        app.close()


# --- the demo --------------------------------------------------------------------------------------

def test_demo_users_sign_in_with_the_demo_password_in_development_mode(app: App) -> None:
    from workflows.demo.run import Demo
    from workflows.demo.signins import demo_signins

    Demo(app, 7, "small").populate()
    with app.uow() as uow:
        hashes = set(uow.session.scalars(select(User.password_hash)))
    assert len(hashes) == 1 and next(iter(hashes)).startswith("$argon2id$")  # hashed once, shared
    signins = demo_signins(app)
    assert [(s.username, s.role, s.password) for s in signins][:2] == [
        ("admin", "administrator", "demo"), ("auditor", "auditor", "demo")]
    assert [s.role for s in signins[2:]] == ["officer", "finance", "applicant"]
    assert all(s.partnership for s in signins[2:4]) and signins[4].organisation
    for signin in signins:
        assert authenticate(app, signin.username, "demo", "test").role == signin.role
    assert str(fails(app, "officer1.north", "not demo")) == WRONG


def test_the_demo_gives_no_password_in_production_mode(tmp_path: Path) -> None:
    from workflows.demo.signins import with_passwords

    production = Settings(database_url=f"sqlite:///{tmp_path}/p.db", files_dir=tmp_path, mode="production",
                          secret_key="a-real-secret-for-the-test", audit_key="a-real-audit-key-for-the-test")
    people = with_passwords(production, [User(username="admin", display_name="A", email="a@cx.local",
                                              role="administrator")], START)
    assert people[0].password_hash is None


def test_the_administrator_searches_the_users_by_text_role_and_state_one_page_at_a_time(accounts: App) -> None:
    admin = principal_by_name(accounts, "admin")
    for n in range(1, 8):
        add_user(accounts, admin, f"officer{n + 1}.south", f"Sam Süd {n}", f"s{n}@south.example", "administrator"
                 if n % 2 else "auditor")
    disable_user(accounts, admin, "officer3.south")

    def names(**search: Any) -> list[str]:
        return [u.username for u in find_users(accounts, admin, **search).users]

    assert names(q="SÜD", page_size=3) == ["officer2.south", "officer3.south", "officer4.south"]
    last = find_users(accounts, admin, q="süd", page=3, page_size=3)
    assert ([u.username for u in last.users], last.total, last.pages) == (["officer8.south"], 7, 3)
    assert names(q="vera@nova") == ["visitor"]  # the email too
    assert names(q="100%_") == []  # LIKE's wildcards are searched for as text
    assert names(role="auditor") == ["officer3.south", "officer5.south", "officer7.south"]
    assert names(role="auditor", state="active") == ["officer5.south", "officer7.south"]
    assert names(state="disabled") == ["officer3.south"]
    for field, search in (("role", {"role": "wizard"}), ("state", {"state": "gone"}), ("page_size", {"page_size": 0}),
                          ("page", {"page": 0}), ("q", {"q": "x" * 201})):
        with pytest.raises(Invalid) as err:
            find_users(accounts, admin, **search)
        assert [f.loc for f in err.value.fields] == [(field,)]
    with pytest.raises(Refused):
        find_users(accounts, principal_by_name(accounts, "officer1.north"), q="a")
