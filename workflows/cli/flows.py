"""`cxp flows ...`: the scheduled jobs of SPEC §6.

    cxp flows run payment-batch|kpi-report|timers|outbox [--partnership P] [--no-prefect] [--db URL] [--json]
    cxp flows serve [--check] [--db URL] [--json]
    cxp flows deploy --pool NAME [--db URL] [--json]

`run` runs one flow now, as a Prefect flow run (against `PREFECT_API_URL`, or a temporary local
Prefect server when none is set — which takes several seconds to start); `--no-prefect` runs the same
job in this process without Prefect. `serve` serves every flow on its schedule (payment-batch:
`CXP_PAYMENT_BATCH_CRON`, default Mondays 06:00; kpi-report: `CXP_KPI_REPORT_CRON`, default the 1st
of the month at 07:00; in `CXP_TIMEZONE`); `--check` only prints them. `deploy --pool NAME` registers
the same schedules with the Prefect server of `PREFECT_API_URL` as deployments of the process work
pool NAME (created if missing), each with its concurrency limit, for `prefect worker start --pool NAME`
on any machine with the wheel installed and the same CXP_* settings (SPEC §15).
Both refuse a database that does not exist (only `cxp init` and `cxp demo` create one), before
Prefect starts. Prefect is imported only by these commands.
"""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

import typer

from workflows.cli.common import app_for, handle_errors, settings_message
from workflows.cli.errors import CliError, echo_json
from workflows.flows import FLOW_NAMES

app = typer.Typer(no_args_is_help=True)

DbOption = typer.Option(None, "--db", help="database URL (default: CXP_DATABASE_URL or sqlite:///var/cxp.db)")


def _database_for_flows(db: str | None) -> None:
    """Check the database the flows will use (they read it from their settings, so `--db` goes into
    CXP_DATABASE_URL); a missing or unusable one is refused here, before Prefect starts."""
    app_for(db).close()
    if db:
        os.environ["CXP_DATABASE_URL"] = db  # the flow reads its settings; the URL is no flow parameter
JsonOption = typer.Option(False, "--json", help="print one JSON document")


def _quiet_prefect() -> None:
    """No analytics and no banner; Prefect's own logs go to stderr, never into --json output."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def _print_result(name: str, result: dict[str, Any]) -> None:
    if name == "payment-batch":
        for b in result["batches"]:
            typer.echo(f"batch {b['batch']} ({b['partnership']}): {b['n_tx']} transfers, EUR {b['control_sum']}, "
                       f"executes {b['execution_date']}")
        for path in result["files"]:
            typer.echo(f"wrote {path}")
        for h in result["held"]:
            typer.echo(f"held {h['exchange']}: {h['reason']}")
        for path in result["recovered_files"]:
            typer.echo(f"restored {path}")
        for e in result["errors"]:
            typer.echo(f"not made for {e['partnership']}: {e['error']}", err=True)
        if not result["batches"]:
            typer.echo("no claims were due for payment")
    elif name == "kpi-report":
        from workflows.cli.reports import print_kpi

        print_kpi(result)
    elif name == "timers":
        typer.echo(f"{result['timers_fired']} timer(s) fired, {result['reminded']} task(s) reminded, "
                   f"{result['escalated']} escalated")
    else:
        typer.echo(f"{len(result['sent'])} email(s) sent, {len(result['retrying'])} to retry, "
                   f"{len(result['failed'])} failed, {result['waiting']} waiting")
        for r in result["retrying"] + result["failed"]:
            typer.echo(f"  outbox {r['id']} ({r['template']}): {r['status']} after {r['attempts']} attempt(s): "
                       f"{r['error']}", err=True)


@app.command("run")
@handle_errors
def run(name: str = typer.Argument(..., help="payment-batch | kpi-report | timers | outbox"),
        partnership: str | None = typer.Option(None, "--partnership", help="payment-batch, kpi-report: only this one"),
        no_prefect: bool = typer.Option(False, "--no-prefect", help="run the job here, without Prefect"),
        db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Run one scheduled job now."""
    if name not in FLOW_NAMES:
        raise CliError(f"NAME: {name!r} is not a flow here (flows: {', '.join(FLOW_NAMES)})")
    if partnership and name not in ("payment-batch", "kpi-report"):
        raise CliError("--partnership: only the payment-batch and kpi-report flows take a partnership")
    if no_prefect:
        from workflows.flows.jobs import run_job

        result = run_job(name, app_for(db), partnership)
    else:
        _database_for_flows(db)
        _quiet_prefect()
        from workflows.flows.definitions import FLOWS

        flow = FLOWS[name]
        result = flow(partnership) if partnership else flow()
    if json_out:
        echo_json({"flow": name, "orchestrated_by_prefect": not no_prefect, **result})
    else:
        _print_result(name, result)
    if name == "payment-batch" and result["errors"]:
        raise typer.Exit(1)


def _settings() -> Any:
    """The settings the flows run with; a wrong one is a CliError naming the variable."""
    from pydantic import ValidationError

    from workflows.settings import Settings

    try:
        return Settings()
    except ValidationError as err:
        raise CliError(settings_message(err)) from None


def _when(row: dict[str, Any]) -> str:
    """A deployment's schedule in words: its cron string or its interval."""
    return f"cron '{row['cron']}'" if row["cron"] else f"every {row['every_seconds']:.0f} s"


@app.command("serve")
@handle_errors
def serve(check: bool = typer.Option(False, "--check", help="print the schedules and exit"),
          db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Serve every flow on its schedule with Prefect, until interrupted."""
    if not check:
        _database_for_flows(db)
    _quiet_prefect()
    from workflows.flows.definitions import describe, serve_all

    settings = _settings()
    try:
        plan = describe(settings)
    except ValueError as err:  # a cron string or time zone Prefect does not accept
        raise CliError(f"schedule: {err}") from None
    if check:
        if json_out:
            echo_json({"deployments": plan})
        else:
            for row in plan:
                typer.echo(f"{row['flow']}: {_when(row)} ({row['timezone']})")
        return
    serve_all(settings)


@app.command("deploy")
@handle_errors
def deploy(pool: str = typer.Option(..., "--pool", help="the Prefect process work pool (created if missing)"),
           db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Register every scheduled job as a deployment of a Prefect process work pool."""
    if not pool.strip():
        raise CliError("--pool: give the name of a work pool")
    if not os.environ.get("PREFECT_API_URL"):
        raise CliError("PREFECT_API_URL: set it to the Prefect server the workers poll "
                       "(e.g. http://prefect.internal:4200/api)")
    _database_for_flows(db)
    _quiet_prefect()
    from workflows.flows.definitions import deploy_all

    settings = _settings()
    try:
        with contextlib.redirect_stdout(sys.stderr):  # Prefect prints its own table: never into --json
            result = deploy_all(settings, pool.strip())
    except ValueError as err:  # a pool of another type, a schedule Prefect does not accept
        raise CliError(f"--pool: {err}") from None
    if json_out:
        echo_json(result)
        return
    for row in result["deployments"]:
        typer.echo(f"{row['deployment']}: {_when(row)} ({row['timezone']}), at most {row['concurrency_limit']} at once")
    typer.echo(f"start workers with: prefect worker start --pool {result['pool']}")
