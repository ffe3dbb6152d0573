"""`cxp calls ...`: calls as an operator manages them, through the same use cases as the workspace.

    cxp calls list [--json]                                       every call, drafts too, with its budget
    cxp calls show CODE [--json]                                  one call, its waiting grants and history
    cxp calls create FILE [--user ADMIN] [--json]                 a draft from a JSON file (POST /api/calls' body)
    cxp calls publish CODE [--user ADMIN] [--reason TEXT]         start its process, email the officers
    cxp calls budget CODE --budget EUR --reason TEXT [--user ADMIN]   raise or lower; waiting grants approved
    cxp calls close CODE --reason TEXT [--user ADMIN]             close early

Without `--user` the operator at the console acts as the system (audited as such). A wrong field is
named (exit 2), a refusal exits 3 (audited), a call no longer a draft or already closed exits 4."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from workflows.cli.common import app_for, handle_errors, principal_for_option, read_text
from workflows.cli.errors import CliError, echo_json

app = typer.Typer(no_args_is_help=True)

DbOption = typer.Option(None, "--db", help="database URL (default: CXP_DATABASE_URL or sqlite:///var/cxp.db)")
JsonOption = typer.Option(False, "--json", help="print one JSON document")
UserOption = typer.Option(None, "--user", help="the administrator who acts (default: the system, at the console)")
CodeArgument = typer.Argument(..., help="the call's code, e.g. CXP-2027-02")


def _print_call(detail: dict[str, Any]) -> None:
    c, b = detail["call"], detail["budget"]
    typer.echo(f"{c['code']}  {c['title']}  [{c['status']}]  {c['opens_on']} to {c['closes_on']}, matching until "
               f"{c['matching_deadline'][:16]}, rule set {c['rule_set_version']}, {', '.join(c['partnerships'])}")
    typer.echo(f"  budget EUR {b['budget']}: committed {b['committed']}, paid {b['paid']}, waiting {b['waiting']} "
               f"({b['waiting_grants']} grant(s)), left {b['left']}")


@app.command("list")
@handle_errors
def list_(user: str | None = UserOption, db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Every call, drafts included, newest opening first, with its budget."""
    from workflows.services.call_views import list_calls

    cxp = app_for(db)
    rows = [r.model_dump(mode="json") for r in list_calls(cxp, principal_for_option(cxp, user))]
    if json_out:
        echo_json({"calls": rows})
        return
    for row in rows:
        _print_call(row)


@app.command("show")
@handle_errors
def show(code: str = CodeArgument, user: str | None = UserOption, db: str | None = DbOption,
         json_out: bool = JsonOption) -> None:
    """One call: its values, budget, the grants waiting for budget, exchanges by status, history."""
    from workflows.services.call_views import call_detail

    cxp = app_for(db)
    detail = call_detail(cxp, principal_for_option(cxp, user), code).model_dump(mode="json")
    if json_out:
        echo_json(detail)
        return
    _print_call(detail)
    for w in detail["waiting"]:
        typer.echo(f"  waiting: {w['exchange']} {w['organisation']} EUR {w['amount']} since {w['since'][:16]}")
    for h in detail["history"]:
        typer.echo(f"  {h['at'][:16]}  {h['actor']}: {h['what']}" + (f" ({h['reason']})" if h["reason"] else ""))


@app.command("create")
@handle_errors
def create(file: Path = typer.Argument(..., help="a JSON file: code, title, lead_partnership, partnerships, "
                                                 "opens_on, closes_on, matching_deadline, budget, formats, "
                                                 "rule_set_version, events"),
           user: str | None = UserOption, db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """A new call from a JSON file, kept as a draft; every wrong field named, nothing written."""
    from workflows.services.call_admin import create_call

    if not file.is_file():
        raise CliError(f"FILE: {file} does not exist or is not a file")
    try:
        data = json.loads(read_text(file, "FILE"))
    except json.JSONDecodeError as err:
        raise CliError(f"{file.name}: not valid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    cxp = app_for(db)
    out = create_call(cxp, principal_for_option(cxp, user), data).model_dump(mode="json")
    if json_out:
        echo_json(out)
        return
    typer.echo(f"created the draft {out['call']['code']}; publish it with `cxp calls publish {out['call']['code']}`")


@app.command("publish")
@handle_errors
def publish(code: str = CodeArgument, reason: str | None = typer.Option(None, "--reason", help="a note for its history"),
            user: str | None = UserOption, db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Publish a draft: its call process starts and the officers are emailed; its windows freeze."""
    from workflows.services.call_admin import publish_call

    cxp = app_for(db)
    out = publish_call(cxp, principal_for_option(cxp, user), code, reason).model_dump(mode="json")
    if json_out:
        echo_json(out)
        return
    typer.echo(f"published {out['call']['code']} ({out['call']['status']}); its process is instance "
               f"{out['instance_id']}")


@app.command("budget")
@handle_errors
def budget(code: str = CodeArgument, amount: str = typer.Option(..., "--budget", help="the new budget in EUR"),
           reason: str = typer.Option(..., "--reason", help="why (kept on the call's history)"),
           user: str | None = UserOption, db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Raise or lower a call's budget (never below committed and paid); the grants waiting for budget
    that now fit are approved in their order, at once."""
    from workflows.services.calls import change_budget

    cxp = app_for(db)
    out = change_budget(cxp, code, principal_for_option(cxp, user), amount, reason).model_dump(mode="json")
    if json_out:
        echo_json(out)
        return
    typer.echo(f"{out['call']}: budget EUR {out['budget_before']} -> EUR {out['budget']}; left EUR {out['after']['left']}")
    if out["approved"]:
        typer.echo(f"approved the waiting grants of {', '.join(out['approved'])}")
    if out["after"]["waiting_grants"]:
        typer.echo(f"{out['after']['waiting_grants']} grant(s) still wait (EUR {out['after']['waiting']})")


@app.command("close")
@handle_errors
def close(code: str = CodeArgument, reason: str = typer.Option(..., "--reason", help="why the call closes early"),
          user: str | None = UserOption, db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Close a call early: its applications not yet matched end (and are told), matched exchanges go on."""
    from workflows.services.call_admin import close_call

    cxp = app_for(db)
    out = close_call(cxp, principal_for_option(cxp, user), code, reason).model_dump(mode="json")
    if json_out:
        echo_json(out)
        return
    typer.echo(f"closed {out['call']}: {len(out['ended'])} application(s) ended, {len(out['continuing'])} "
               "exchange(s) go on")
