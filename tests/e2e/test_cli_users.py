"""`cxp users ...` as the operator on the server runs it: add users, set passwords, issue and revoke
API tokens, end every session of a user, disable and list users; errors in one line with the exit
codes of the CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.test_cli_foundation import Cli, cli  # noqa: F401
from workflows.db.account_models import ApiToken
from workflows.db.process_models import AuditEvent


def run(cli: Cli, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:  # noqa: F811
    return subprocess.run([sys.executable, "-m", "workflows.cli.app", "users", *args], cwd=cli.folder, env=cli.env,
                          input=stdin, capture_output=True, text=True, timeout=120)


def ok(cli: Cli, *args: str, stdin: str = "") -> Any:  # noqa: F811
    done = run(cli, *args, "--json", stdin=stdin)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def error(cli: Cli, *args: str, code: int, stdin: str = "") -> str:  # noqa: F811
    done = run(cli, *args, stdin=stdin)
    assert done.returncode == code, done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    return done.stderr


@pytest.fixture
def server(cli: Cli) -> Cli:  # noqa: F811
    """An upgraded, empty database file (`cxp init` is tested on its own)."""
    from workflows.db.schema import upgrade

    app = cli.app()
    try:
        upgrade(app.db)
    finally:
        app.close()
    return cli


def test_the_operator_adds_an_administrator_who_then_manages_users(server: Cli) -> None:
    added = ok(server, "add", "boss", "--role", "administrator", "--name", "The Boss", "--email", "boss@cx.local",
               "--password-stdin", stdin="a long password\n")
    assert (added["username"], added["has_password"], added["active"]) == ("boss", True, True)
    auditor = ok(server, "add", "ada", "--role", "auditor", "--name", "Ada", "--email", "ada@cx.local",
                 "--no-password", "--as", "boss")
    assert auditor["has_password"] is False
    assert "role: is not a role" in error(server, "add", "newbie", "--role", "wizard", "--name", "X", "--email",
                                          "x@cx.local", "--no-password", code=2)
    assert "partnership: is required for the role officer" in error(
        server, "add", "newbie", "--role", "officer", "--name", "X", "--email", "x@cx.local", "--no-password", code=2)
    assert "refused: ada is auditor and may not add users" in error(
        server, "add", "newbie", "--role", "auditor", "--name", "X", "--email", "x@cx.local", "--no-password",
        "--as", "ada", code=3)
    assert "--as: no active user 'ghost'" in error(server, "list", "--as", "ghost", code=2)
    assert "password: must be at least 8 characters" in error(server, "passwd", "ada", "--password-stdin",
                                                              stdin="short\n", code=2)
    assert "--password-stdin" in error(server, "passwd", "ada", code=2)  # no terminal to ask on
    listed = ok(server, "list")
    assert [(u["username"], u["role"]) for u in listed["users"]] == [("ada", "auditor"), ("boss", "administrator")]

    from workflows.services.accounts import authenticate

    app = server.app()
    try:
        assert authenticate(app, "boss", "a long password", "test").role == "administrator"
        with app.uow() as uow:
            actors = dict(uow.session.execute(select(AuditEvent.subject, AuditEvent.actor).where(
                AuditEvent.action == "user_added")).all())
        assert actors == {"user:boss": "system", "user:ada": "boss"}
    finally:
        app.close()


def test_a_token_is_printed_once_listed_and_revoked_and_dies_with_its_disabled_user(server: Cli) -> None:
    ok(server, "add", "boss", "--role", "administrator", "--name", "The Boss", "--email", "boss@cx.local",
       "--password-stdin", stdin="a long password\n")
    plain = run(server, "token", "boss", "--days", "2", "--name", "laptop")
    assert plain.returncode == 0 and plain.stdout.startswith("cxp_") and plain.stdout.count("\n") == 1
    assert "shown this once" in plain.stderr
    issued = ok(server, "token", "boss")
    listed = ok(server, "token", "boss", "--list")["tokens"]
    assert [(t["name"], t["revoked_at"]) for t in listed] == [("cli", None), ("laptop", None)]
    assert "--days: must be between 1 and 366" in error(server, "token", "boss", "--days", "0", code=2)
    assert "--revoke: give the token's id" in error(server, "token", "boss", "--revoke", "abc", code=2)
    assert "token: ada has no API token" in error(server, "token", "ada", "--revoke", str(issued["id"]), code=2)

    from workflows.services import Unauthenticated
    from workflows.services.accounts import principal_for_token

    app = server.app()
    try:
        assert principal_for_token(app, issued["token"]).username == "boss"
        secret = plain.stdout.strip()
        with app.uow() as uow:
            expires = {t.name: t.expires_at - t.created_at for t in
                       uow.session.scalars(select(ApiToken))}
        assert expires == {"laptop": timedelta(days=2), "cli": timedelta(hours=12)}
        assert ok(server, "token", "boss", "--revoke", str(issued["id"]))["revoked_at"] is not None
        with pytest.raises(Unauthenticated):
            principal_for_token(app, issued["token"])
        assert principal_for_token(app, secret).username == "boss"
        assert ok(server, "disable", "boss")["active"] is False
        with pytest.raises(Unauthenticated):
            principal_for_token(app, secret)
    finally:
        app.close()


def test_the_operator_ends_every_session_and_token_of_a_user_at_once(server: Cli) -> None:
    from workflows.services import Unauthenticated
    from workflows.services.accounts import authenticate, open_session, principal_for_session, principal_for_token

    ok(server, "add", "boss", "--role", "administrator", "--name", "The Boss", "--email", "boss@cx.local",
       "--password-stdin", stdin="a long password\n")
    ok(server, "add", "ada", "--role", "auditor", "--name", "Ada", "--email", "ada@cx.local",
       "--password-stdin", stdin="another password\n")
    token = ok(server, "token", "ada")["token"]
    app = server.app()
    try:
        sessions = [open_session(app, authenticate(app, "ada", "another password", "test")) for _ in range(2)]
        assert "--as: no active user 'nobody'" in error(server, "end-sessions", "ada", "--as", "nobody", code=2)
        assert "refused: ada may not end the sessions of boss" in error(
            server, "end-sessions", "boss", "--as", "ada", code=3)
        assert "user: no user 'ghost'" in error(server, "end-sessions", "ghost", code=2)
        plain = run(server, "end-sessions", "ada", "--as", "boss")
        assert plain.returncode == 0, plain.stderr
        assert plain.stdout == "sessions of ada ended: 2 web session(s), 1 API token(s) revoked\n"
        for secret in sessions:
            with pytest.raises(Unauthenticated):
                principal_for_session(app, secret)
        with pytest.raises(Unauthenticated):
            principal_for_token(app, token)
        assert ok(server, "end-sessions", "ada") == {"username": "ada", "sessions_ended": 0, "tokens_revoked": 0}
        with app.uow() as uow:
            actors = list(uow.session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "sessions_ended")))
        assert actors == ["boss", "system"]
    finally:
        app.close()


def test_the_demo_sign_ins_list_the_users_there_are(server: Cli) -> None:
    assert ok(server, "signins") == {"signins": []}  # no demo in this database: nobody to suggest
    ok(server, "add", "boss", "--role", "administrator", "--name", "The Boss", "--email", "boss@cx.local",
       "--no-password")
    assert ok(server, "signins")["signins"] == [{
        "username": "boss", "role": "administrator", "partnership": None, "organisation": None,
        "why": "manages calls, users, rule sets and process versions", "password": None}]
