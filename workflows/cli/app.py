"""The `cxp` command line: a thin entry point over the services in `workflows`.

Heavy libraries (Prefect, pandas, the web stack) are imported inside the commands that need them,
so that `cxp tasks` and friends start fast.
"""
from __future__ import annotations

import sys
from typing import Any, Optional

import typer

from workflows.cli import flows as flows_cli
from workflows.cli import payments as payments_cli
from workflows.cli import reports as reports_cli
from workflows.cli import rules as rules_cli
from workflows.cli.common import app_for, handle_errors, read_data
from workflows.cli.errors import CliError, echo_json, fail

app = typer.Typer(name="cxp", help="ClusterXchange grant orchestrator.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
app.add_typer(rules_cli.app, name="rules", help="Programme rules: working days, grant amounts.")
app.add_typer(flows_cli.app, name="flows", help="Scheduled jobs (Prefect): run one now, or serve the schedules.")
app.add_typer(payments_cli.app, name="payments", help="Payment batches and the bank's answers.")
app.add_typer(reports_cli.app, name="reports", help="KPI report, publication extract, FSTP report.")
task_app = typer.Typer(no_args_is_help=True, help="Claim, release and complete one human task.")
instance_app = typer.Typer(no_args_is_help=True, help="Process instances: state, open tasks, history.")
clock_app = typer.Typer(no_args_is_help=True, help="Simulated time (demo and tests): fires due timers.")
audit_app = typer.Typer(no_args_is_help=True, help="The audit trail.")
app.add_typer(task_app, name="task")
app.add_typer(instance_app, name="instance")
app.add_typer(clock_app, name="clock")
app.add_typer(audit_app, name="audit")
reports_cli.register(audit_app)

DbOption = typer.Option(None, "--db", help="database URL (default: CXP_DATABASE_URL or sqlite:///var/cxp.db)")
JsonOption = typer.Option(False, "--json", help="print one JSON document")


@app.command()
@handle_errors
def init(db: Optional[str] = DbOption, json_out: bool = JsonOption) -> None:
    """Create or upgrade the schema, load the rule sets and deploy the process versions."""
    from workflows.services.setup import init_database

    result = init_database(app_for(db))
    if json_out:
        echo_json(result)
    else:
        typer.echo(f"database ready: {result['database']}")
        for d in result["processes_deployed"]:
            typer.echo(f"deployed {d['process']} v{d['version']}")


@app.command()
@handle_errors
def demo(db: Optional[str] = DbOption, seed: int = typer.Option(7, "--seed"), json_out: bool = JsonOption) -> None:
    """Generate a realistic programme and drive it through every stage in simulated time."""
    from workflows.demo.run import run_demo

    result = run_demo(app_for(db), seed=seed, progress=not json_out)
    if json_out:
        echo_json(result)
    else:
        from workflows.cli.render import print_demo_summary

        print_demo_summary(result)


@app.command("import")
@handle_errors
def import_(file: str = typer.Argument(..., help="JSON file: partnerships, organisations, calls, applications"),
            db: Optional[str] = DbOption, json_out: bool = JsonOption) -> None:
    """Import partnerships, organisations, users, calls and applications (JSON)."""
    from workflows.services.imports import import_file

    result = import_file(app_for(db), file)
    echo_json(result) if json_out else typer.echo(", ".join(f"{k}: {v}" for k, v in result.items()))


@app.command()
@handle_errors
def tasks(user: Optional[str] = typer.Option(None, "--user"), role: Optional[str] = typer.Option(None, "--role"),
          limit: int = typer.Option(50, "--limit", min=1, max=1000), db: Optional[str] = DbOption,
          json_out: bool = JsonOption) -> None:
    """The task inbox (open tasks), soonest due first."""
    from workflows.services.inbox import list_tasks
    from workflows.services.views import task_view

    cxp = app_for(db)
    with cxp.uow() as uow:
        rows = [task_view(t) for t in list_tasks(uow, user, role, limit=limit)]
    if json_out:
        echo_json({"tasks": rows})
    else:
        from workflows.cli.render import print_tasks

        print_tasks(rows)


@task_app.command("claim")
@handle_errors
def task_claim(task_id: int, user: str = typer.Option(..., "--user"), db: Optional[str] = DbOption) -> None:
    """Take a task so that nobody else works on it."""
    from workflows.services.inbox import claim

    claim(app_for(db), task_id, user)
    typer.echo(f"task {task_id} claimed by {user}")


@task_app.command("unclaim")
@handle_errors
def task_unclaim(task_id: int, user: str = typer.Option(..., "--user"), db: Optional[str] = DbOption) -> None:
    """Give a claimed task back to the team."""
    from workflows.services.inbox import unclaim

    unclaim(app_for(db), task_id, user)
    typer.echo(f"task {task_id} released")


@task_app.command("complete")
@handle_errors
def task_complete(task_id: int, user: str = typer.Option(..., "--user"),
                  data: str = typer.Option("{}", "--data", help="JSON, or @FILE"),
                  db: Optional[str] = DbOption, json_out: bool = JsonOption) -> None:
    """Complete a task with its form data (validated; refused with field messages)."""
    from workflows.services.inbox import complete_task

    result = complete_task(app_for(db), task_id, user, read_data(data))
    echo_json(result) if json_out else typer.echo(f"task {task_id} completed; instance {result['instance']} "
                                                  f"is {result['instance_status']}")


@instance_app.command("show")
@handle_errors
def instance_show(instance_id: int, db: Optional[str] = DbOption, json_out: bool = JsonOption) -> None:
    """State, open tasks and history of one process instance."""
    from workflows.services.views import instance_view

    cxp = app_for(db)
    with cxp.uow() as uow:
        view = instance_view(uow, instance_id)
    if json_out:
        echo_json(view)
    else:
        from workflows.cli.render import print_instance

        print_instance(view)


@instance_app.command("retry")
@handle_errors
def instance_retry(instance_id: int, user: str = typer.Option(..., "--user"), db: Optional[str] = DbOption) -> None:
    """Retry the failed step of an instance with an open incident."""
    from workflows.services.incidents import retry

    result = retry(app_for(db), instance_id, user)
    typer.echo(f"instance {instance_id} is {result['status']}")


@clock_app.command("show")
@handle_errors
def clock_show(db: Optional[str] = DbOption, json_out: bool = JsonOption) -> None:
    """The current (simulated or wall-clock) time."""
    cxp = app_for(db)
    with cxp.uow() as uow:
        doc = {"now": uow.now().isoformat(), "simulated": uow.clock.simulated}
    echo_json(doc) if json_out else typer.echo(f"{doc['now']} ({'simulated' if doc['simulated'] else 'wall clock'})")


@clock_app.command("advance")
@handle_errors
def clock_advance(duration: str, db: Optional[str] = DbOption, json_out: bool = JsonOption) -> None:
    """Move simulated time forward by DURATION (3d, 2w, 12h, P7D) and fire due timers."""
    from workflows.clock import parse_duration
    from workflows.services.lifecycle import advance_clock

    try:
        delta = parse_duration(duration)
    except ValueError as err:
        raise CliError(f"duration: {err}") from None
    result = advance_clock(app_for(db), delta)
    echo_json(result) if json_out else typer.echo(f"now {result['now']}; {result['timers_fired']} timer(s) fired")


@audit_app.command("verify")
@handle_errors
def audit_verify(db: Optional[str] = DbOption, json_out: bool = JsonOption) -> None:
    """Recompute the audit hash chain; name the first event changed, removed or inserted."""
    from workflows import audit

    cxp = app_for(db)
    with cxp.uow() as uow:
        result = audit.verify(uow.session).to_dict()
    if json_out:
        echo_json(result)
    elif result["ok"]:
        typer.echo(f"ok: {result['events']} events, chain intact")
    else:
        typer.echo(f"NOT OK: event {result['first_bad_event']}: {result['problem']}")
    if not result["ok"]:
        raise typer.Exit(1)


def main() -> Any:
    """Console entry point: expected errors become one line on stderr and a non-zero exit."""
    try:
        return app()
    except CliError as err:
        fail(str(err), err.exit_code)
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        fail("interrupted", 130)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
