"""`cxp doctor [--db URL] [--json]`: list the stuck process instances; exit 1 when there is one."""
from __future__ import annotations

import typer

from workflows.cli.common import app_for, handle_errors
from workflows.cli.errors import echo_json

DbOption = typer.Option(None, "--db", help="database URL (default: CXP_DATABASE_URL or sqlite:///var/cxp.db)")
JsonOption = typer.Option(False, "--json", help="print one JSON document")


@handle_errors
def doctor(db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Find running process instances that wait for nothing (no task, timer, message or incident)."""
    from workflows.services.doctor import diagnose

    result = diagnose(app_for(db))
    if json_out:
        echo_json(result)
    elif not result["stuck"]:
        typer.echo(f"no stuck instance among {result['running']} running")
    else:
        for row in result["stuck"]:
            typer.echo(f"stuck: instance {row['instance']} ({row['process']}, {row['subject']}) "
                       f"since {row['since']}: {row['reason']}")
        typer.echo(f"{len(result['stuck'])} stuck instance(s) among {result['running']} running")
    if result["stuck"]:
        raise typer.Exit(1)
