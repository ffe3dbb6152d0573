"""`cxp exchange ...`: what officers (and the two organisations) do to a running exchange.

    cxp exchange cancel EX --user U --reason TEXT            cancel it now, or discontinue the visit
    cxp exchange extend EX --until DATE --user U --reason T  ask for a longer stay (host consents, officer decides)
    cxp exchange decide-extension EX --approve|--refuse --user U [--comment TEXT]

Refusals (not the exchange's officers, a declared conflict of interest) exit with code 3 and are audited.
"""
from __future__ import annotations

import typer

from workflows.cli.common import app_for, handle_errors, principal_for_option
from workflows.cli.errors import CliError, echo_json
from workflows.cli.rules import parse_date_option

app = typer.Typer(no_args_is_help=True)

DbOption = typer.Option(None, "--db", help="database URL (default: CXP_DATABASE_URL or sqlite:///var/cxp.db)")
JsonOption = typer.Option(False, "--json", help="print one JSON document")
UserOption = typer.Option(..., "--user", help="who acts: an officer of the exchange's partnerships")
ReasonOption = typer.Option(..., "--reason", help="why (kept in the exchange's history)")


@app.command("cancel")
@handle_errors
def cancel(ref: str = typer.Argument(..., help="the exchange's reference, EX-…"), user: str = UserOption,
           reason: str = ReasonOption, db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Cancel a running exchange (during the visit: discontinue it; the closing report is still asked for)."""
    from workflows.services.exchanges import cancel_exchange

    cxp = app_for(db)
    result = cancel_exchange(cxp, ref, principal_for_option(cxp, user), reason)
    if json_out:
        echo_json(result.model_dump(mode="json"))
    elif result.action == "discontinued":
        typer.echo(f"{ref}: the visit is discontinued; the closing report is still asked for")
    else:
        typer.echo(f"{ref}: cancelled at stage {result.stage}; its open tasks and budget commitment are released")


@app.command("extend")
@handle_errors
def extend(ref: str = typer.Argument(..., help="the exchange's reference, EX-…"),
           until: str = typer.Option(..., "--until", help="the new departure date, YYYY-MM-DD"),
           user: str = UserOption, reason: str = ReasonOption, db: str | None = DbOption,
           json_out: bool = JsonOption) -> None:
    """Ask to extend the visit (at most one month in all); the host consents and an officer decides."""
    from workflows.services.exchanges import request_extension

    cxp = app_for(db)
    result = request_extension(cxp, ref, principal_for_option(cxp, user), parse_date_option("--until", until), reason)
    echo_json(result.model_dump(mode="json")) if json_out else typer.echo(
        f"{ref}: extension to {result.requested_departure} requested; the host is asked to consent")


@app.command("decide-extension")
@handle_errors
def decide(ref: str = typer.Argument(..., help="the exchange's reference, EX-…"), user: str = UserOption,
           approve: bool | None = typer.Option(None, "--approve/--refuse", help="the decision"),
           comment: str | None = typer.Option(None, "--comment", help="required when refusing"),
           db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Decide an extension the host consented to (the exchange's open decide-extension task)."""
    from workflows.services.exchanges import decide_extension

    if approve is None:
        raise CliError("--approve/--refuse: say which decision you take")
    cxp = app_for(db)
    result = decide_extension(cxp, ref, principal_for_option(cxp, user), approve, comment)
    echo_json(result.model_dump(mode="json")) if json_out else typer.echo(
        f"{ref}: extension {'approved' if approve else 'refused'} (task {result.task})")
