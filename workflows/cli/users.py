"""`cxp users ...`: accounts for the web workspace and the HTTP API, managed on the server.

    cxp users add USERNAME --role R [--partnership CODE] [--organisation LEGAL_ID] --name TEXT --email E
                  [--password-stdin | --no-password]     (else the password is asked twice, hidden)
    cxp users passwd USERNAME [--password-stdin] [--keep-tokens]
    cxp users token USERNAME [--name N] [--days D] [--json]    prints a new token's secret, once
    cxp users token USERNAME --list | --revoke ID
    cxp users disable USERNAME
    cxp users end-sessions USERNAME [--json]   every web session ends, every API token is revoked
    cxp users list [--json]
    cxp users signins [--json]                 a few demo users to sign in as, per role

The operator at the server's command line is trusted, as for `cxp init`: the commands act as the
system (and the audit trail says so) unless `--as ADMIN` names the administrator acting.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

from workflows.cli.common import app_for, handle_errors
from workflows.cli.errors import CliError, echo_json

if TYPE_CHECKING:
    from workflows.app import App
    from workflows.services.access import Principal

app = typer.Typer(no_args_is_help=True)

DbOption = typer.Option(None, "--db", help="database URL (default: CXP_DATABASE_URL or sqlite:///var/cxp.db)")
JsonOption = typer.Option(False, "--json", help="print one JSON document")
AsOption = typer.Option(None, "--as", help="the administrator acting (default: the operator, as the system)")
StdinOption = typer.Option(False, "--password-stdin", help="read the password from the first line of stdin")
UserArgument = typer.Argument(..., help="the user's username")


def _actor(cxp: App, username: str | None) -> Principal:
    from workflows.services import NotFound
    from workflows.services.access import SYSTEM, principal_by_name

    if username is None:
        return SYSTEM
    try:
        return principal_by_name(cxp, username)
    except NotFound:
        raise CliError(f"--as: no active user '{username}'") from None


def _password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or asked twice with the input hidden."""
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise CliError("--password-stdin: no password on standard input")
        return line
    if not sys.stdin.isatty():
        raise CliError("--password-stdin: give the password on standard input (no terminal to ask it on)")
    first: str = typer.prompt("Password", hide_input=True)  # typer types the answer as Any
    if typer.prompt("Password again", hide_input=True) != first:
        raise CliError("password: the two passwords differ; nothing was changed")
    return first


def _user_line(user: Any) -> str:
    where = user.partnership or user.organisation or "-"
    flags = ("" if user.active else " disabled") + ("" if user.has_password else " no-password")
    return f"{user.username:<24} {user.role:<14} {where:<22} {user.display_name}{flags}"


@app.command("add")
@handle_errors
def add(username: str = UserArgument, role: str = typer.Option(..., "--role", help="applicant, officer, finance, "
                                                               "auditor or administrator"),
        partnership: str | None = typer.Option(None, "--partnership", help="its code (officer, finance)"),
        organisation: str | None = typer.Option(None, "--organisation", help="its legal id (applicant)"),
        name: str = typer.Option(..., "--name", help="the name shown to others"),
        email: str = typer.Option(..., "--email"), password_stdin: bool = StdinOption,
        no_password: bool = typer.Option(False, "--no-password", help="no password yet: cannot sign in"),
        acting: str | None = AsOption, db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Add a user; the password is asked twice (hidden) unless given on stdin or --no-password."""
    from workflows.services.accounts import add_user

    if password_stdin and no_password:
        raise CliError("--no-password: not with --password-stdin")
    cxp = app_for(db)
    actor = _actor(cxp, acting)
    password = None if no_password else _password(password_stdin)
    user = add_user(cxp, actor, username, name, email, role, partnership, organisation, password)
    echo_json(user.model_dump()) if json_out else typer.echo(f"user {user.username} added ({user.role})")


@app.command("passwd")
@handle_errors
def passwd(username: str = UserArgument, password_stdin: bool = StdinOption,
           keep_tokens: bool = typer.Option(False, "--keep-tokens", help="leave the user's API tokens valid"),
           acting: str | None = AsOption, db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Set a user's password: every web session of theirs ends and, unless --keep-tokens, their API
    tokens are revoked too."""
    from workflows.services.accounts import set_password

    cxp = app_for(db)
    actor = _actor(cxp, acting)
    user = set_password(cxp, actor, username, _password(password_stdin), revoke_tokens=not keep_tokens)
    echo_json(user.model_dump()) if json_out else typer.echo(f"password of {user.username} changed")


@app.command("token")
@handle_errors
def token(username: str = UserArgument, name: str = typer.Option("cli", "--name", help="what the token is for"),
          days: int | None = typer.Option(None, "--days", help="valid this many days (default: "
                                                                  "CXP_TOKEN_TTL_HOURS, 12 hours)"),
          revoke: str | None = typer.Option(None, "--revoke", help="revoke the token with this id instead"),
          list_: bool = typer.Option(False, "--list", help="list the user's tokens instead"),
          acting: str | None = AsOption, db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Issue an API token for the user and print its secret (shown this once); or --revoke, --list."""
    from workflows.services.tokens import MAX_TTL_HOURS, issue_token, list_tokens, revoke_token

    if revoke is not None and list_:
        raise CliError("--revoke: not with --list")
    if days is not None and not 1 <= days <= MAX_TTL_HOURS // 24:
        raise CliError(f"--days: must be between 1 and {MAX_TTL_HOURS // 24}")
    cxp = app_for(db)
    actor = _actor(cxp, acting)
    if list_:
        tokens = list_tokens(cxp, actor, username)
        if json_out:
            echo_json({"tokens": [t.model_dump() for t in tokens]})
        for t in ([] if json_out else tokens):
            state = "revoked" if t.revoked_at else f"expires {t.expires_at:%Y-%m-%d %H:%M} UTC"
            typer.echo(f"{t.id:>6}  {t.name:<20} {state}")
    elif revoke is not None:
        if not revoke.isdigit() and not revoke.startswith("cxp_"):
            raise CliError("--revoke: give the token's id (see --list) or its secret")
        done = revoke_token(cxp, actor, revoke, username)
        echo_json(done.model_dump()) if json_out else typer.echo(f"token {done.id} of {done.username} revoked")
    else:
        issued = issue_token(cxp, actor, username, name, None if days is None else days * 24)
        if json_out:
            echo_json(issued.model_dump())
        else:
            typer.echo(issued.token)
            typer.echo(f"token {issued.id} of {issued.username}, valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC; "
                       f"the secret above is shown this once", err=True)


@app.command("disable")
@handle_errors
def disable(username: str = UserArgument, acting: str | None = AsOption, db: str | None = DbOption,
            json_out: bool = JsonOption) -> None:
    """Disable a user: no more sign-ins; their API tokens are revoked and their sessions end."""
    from workflows.services.accounts import disable_user

    cxp = app_for(db)
    user = disable_user(cxp, _actor(cxp, acting), username)
    echo_json(user.model_dump()) if json_out else typer.echo(f"user {user.username} disabled")


@app.command("end-sessions")
@handle_errors
def end_sessions(username: str = UserArgument, acting: str | None = AsOption, db: str | None = DbOption,
                 json_out: bool = JsonOption) -> None:
    """End every web session of the user and revoke their API tokens, at once (they may sign in again)."""
    from workflows.services.accounts import end_sessions as end

    cxp = app_for(db)
    done = end(cxp, _actor(cxp, acting), username)
    if json_out:
        echo_json(done.model_dump())
    else:
        typer.echo(f"sessions of {done.username} ended: {done.sessions_ended} web session(s), "
                   f"{done.tokens_revoked} API token(s) revoked")


@app.command("list")
@handle_errors
def list_users_(acting: str | None = AsOption, db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Every user: username, role, partnership or organisation, name."""
    from workflows.services.accounts import list_users

    cxp = app_for(db)
    users = list_users(cxp, _actor(cxp, acting))
    if json_out:
        echo_json({"users": [u.model_dump() for u in users]})
    else:
        for user in users:
            typer.echo(_user_line(user))


@app.command("signins")
@handle_errors
def signins(db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """A few demo users to sign in as, one per role, with the demo password (development mode)."""
    from dataclasses import asdict

    from workflows.demo.signins import demo_signins

    found = demo_signins(app_for(db))
    if json_out:
        echo_json({"signins": [asdict(s) for s in found]})
    for s in ([] if json_out else found):
        where = s.partnership or s.organisation or ""
        typer.echo(f"{s.username:<18} {s.password or '(no password)':<14} {s.role:<14} {where:<14} {s.why}")
