"""The `cxp` command line: a thin entry point over the services in `workflows`.

Heavy libraries (Prefect, pandas, the web stack) are imported inside the commands that need them,
so that `cxp tasks` and friends start fast.
"""
from __future__ import annotations

import sys

import typer

from workflows.cli import calls as calls_cli
from workflows.cli import doctor as doctor_cli
from workflows.cli import exchanges as exchanges_cli
from workflows.cli import flows as flows_cli
from workflows.cli import payments as payments_cli
from workflows.cli import processes as processes_cli
from workflows.cli import reports as reports_cli
from workflows.cli import rules as rules_cli
from workflows.cli import serve as serve_cli
from workflows.cli import task_show as task_show_cli
from workflows.cli import users as users_cli
from workflows.cli.common import app_for, handle_errors, principal_for_option, read_data
from workflows.cli.errors import EXIT_CODES_HELP, EXIT_INPUT, EXIT_NOT_OK, CliError, echo_json, fail

app = typer.Typer(name="cxp", help="ClusterXchange grant orchestrator.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False, epilog=EXIT_CODES_HELP)
app.add_typer(rules_cli.app, name="rules", help="Programme rules: working days, grant amounts.")
app.add_typer(flows_cli.app, name="flows", help="Scheduled jobs (Prefect): run one now, or serve the schedules.")
app.add_typer(payments_cli.app, name="payments", help="Payment batches and the bank's answers.")
app.add_typer(exchanges_cli.app, name="exchange", help="Cancel a running exchange, ask for or decide an extension.")
app.add_typer(reports_cli.app, name="reports", help="KPI report, publication extract, FSTP report.")
app.add_typer(users_cli.app, name="users", help="Accounts: add users, set passwords, issue and revoke API tokens.")
app.add_typer(processes_cli.app, name="processes", help="Process versions: list, deploy, migrate running instances.")
app.add_typer(calls_cli.app, name="calls", help="Calls: list, show, create a draft from JSON, publish, budget, close.")
task_app = typer.Typer(no_args_is_help=True, help="Claim, release and complete one human task.")
instance_app = typer.Typer(no_args_is_help=True, help="Process instances: state, open tasks, history.")
clock_app = typer.Typer(no_args_is_help=True, help="Simulated time (demo and tests): fires due timers.")
audit_app = typer.Typer(no_args_is_help=True, help="The audit trail.")
app.add_typer(task_app, name="task")
app.add_typer(instance_app, name="instance")
app.add_typer(clock_app, name="clock")
app.add_typer(audit_app, name="audit")
reports_cli.register(audit_app)
app.command("doctor")(doctor_cli.doctor)
app.command("serve")(serve_cli.serve)
task_app.command("show")(task_show_cli.task_show)

DbOption = typer.Option(None, "--db", help="database URL (default: CXP_DATABASE_URL or sqlite:///var/cxp.db); "
                                          "only init and demo create a database")
JsonOption = typer.Option(False, "--json", help="print one JSON document")


@app.command()
@handle_errors
def init(db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Create or upgrade the schema, load the rule sets and deploy the process versions."""
    from workflows.services.setup import init_database

    result = init_database(app_for(db, create=True))
    if json_out:
        echo_json(result)
    else:
        typer.echo(f"database ready: {result['database']}")
        for d in result["processes_deployed"]:
            typer.echo(f"deployed {d['process']} v{d['version']}")


@app.command()
@handle_errors
def demo(db: str | None = DbOption, seed: int = typer.Option(7, "--seed"),
         size: str = typer.Option("full", "--size", help="full | small (fewer organisations, the same paths)"),
         until: str | None = typer.Option(None, "--until", metavar="YYYY-MM-DD",
                                             help="stop at that day's opening with work waiting in the inboxes "
                                                  "(running the demo again continues it)"),
         json_out: bool = JsonOption) -> None:
    """Generate a realistic programme and drive it through every stage in simulated time; on a database
    holding an unfinished demo, continue it."""
    from datetime import date

    from workflows.demo.run import run_demo

    try:
        stop = date.fromisoformat(until) if until else None
    except ValueError:
        raise CliError(f"--until: {until!r} is not a date (YYYY-MM-DD)") from None
    result = run_demo(app_for(db, create=True), seed=seed, size=size, progress=not json_out,
                      say=lambda line: typer.echo(line, err=True), until=stop)
    if json_out:
        echo_json(result)
    else:
        from workflows.cli.render import print_demo_summary

        print_demo_summary(result)


@app.command("import")
@handle_errors
def import_(file: str = typer.Argument(..., help="JSON file: partnerships, organisations, calls, applications"),
            db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Import partnerships, organisations, users, calls and applications (JSON)."""
    from workflows.services.imports import import_file

    result = import_file(app_for(db), file)
    echo_json(result) if json_out else typer.echo(", ".join(f"{k}: {v}" for k, v in result.items()))


@app.command()
@handle_errors
def tasks(user: str | None = typer.Option(None, "--user", help="whose inbox (default: every open task)"),
          role: str | None = typer.Option(None, "--role"),
          process: str | None = typer.Option(None, "--process", help="process id, e.g. exchange_lifecycle"),
          task: str | None = typer.Option(None, "--task", help="task id, e.g. assess_application"),
          status: str = typer.Option("open", "--status", help="open | claimed | unclaimed | mine | overdue"),
          sort: str = typer.Option("due", "--sort", help="due, -due, created, -created, task, -task"),
          page: int = typer.Option(1, "--page", min=1),
          limit: int = typer.Option(50, "--limit", min=1, max=200, help="tasks per page"),
          db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """The task inbox (open tasks), soonest due first."""
    from workflows.services.inbox import list_tasks

    cxp = app_for(db)
    found = list_tasks(cxp, principal_for_option(cxp, user), role=role, process=process, task=task,
                       status=status, sort=sort, page=page, page_size=limit)
    document = found.model_dump(mode="json")
    if json_out:
        echo_json(document)
    else:
        from workflows.cli.render import print_tasks

        print_tasks(document["tasks"])


@task_app.command("claim")
@handle_errors
def task_claim(task_id: int, user: str = typer.Option(..., "--user"), db: str | None = DbOption,
               json_out: bool = JsonOption) -> None:
    """Take a task so that nobody else works on it (exit 4 if someone else changed it meanwhile)."""
    from workflows.services.inbox import claim

    cxp = app_for(db)
    view = claim(cxp, task_id, principal_for_option(cxp, user))
    echo_json(view.model_dump(mode="json")) if json_out else typer.echo(f"task {task_id} claimed by {user}")


@task_app.command("unclaim")
@handle_errors
def task_unclaim(task_id: int, user: str = typer.Option(..., "--user"), db: str | None = DbOption,
                 json_out: bool = JsonOption) -> None:
    """Give a claimed task back to the team (exit 4 if someone else changed it meanwhile)."""
    from workflows.services.inbox import unclaim

    cxp = app_for(db)
    view = unclaim(cxp, task_id, principal_for_option(cxp, user))
    echo_json(view.model_dump(mode="json")) if json_out else typer.echo(f"task {task_id} released")


@task_app.command("reassign")
@handle_errors
def task_reassign(task_id: int, to: str = typer.Option(..., "--to", help="the colleague who takes it over"),
                  user: str = typer.Option(..., "--user"), db: str | None = DbOption,
                  json_out: bool = JsonOption) -> None:
    """Hand an open task to a colleague of the same role and partnership (an administrator: to anyone
    with the task's role)."""
    from workflows.services.inbox import reassign

    cxp = app_for(db)
    view = reassign(cxp, task_id, principal_for_option(cxp, user), to)
    echo_json(view.model_dump(mode="json")) if json_out else typer.echo(f"task {task_id} reassigned to {to}")


@task_app.command("complete")
@handle_errors
def task_complete(task_id: int, user: str = typer.Option(..., "--user"),
                  data: str = typer.Option("{}", "--data", help="JSON, or @FILE"),
                  db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Complete a task with its form data (validated; refused with field messages; exit 4 when it was
    completed or changed by someone else meanwhile)."""
    from workflows.services.inbox import complete_task

    cxp = app_for(db)
    form = read_data(data)
    result = complete_task(cxp, task_id, principal_for_option(cxp, user), form)
    echo_json(result.model_dump(mode="json")) if json_out else typer.echo(
        f"task {task_id} completed; instance {result.instance} is {result.instance_status}")


InstanceArgument = typer.Argument(..., metavar="INSTANCE", help="instance id (12) or exchange reference (EX-000123)")


@instance_app.command("show")
@handle_errors
def instance_show(instance: str = InstanceArgument,
                  user: str | None = typer.Option(None, "--user", help="who reads (default: the system)"),
                  db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """State, open tasks and history of one process instance."""
    from workflows.services.views import instance_view, resolve_instance

    cxp = app_for(db)
    principal = principal_for_option(cxp, user)
    with cxp.uow() as uow:
        view = instance_view(uow, principal, resolve_instance(uow, principal, instance)).model_dump(mode="json")
    if json_out:
        echo_json(view)
    else:
        from workflows.cli.render import print_instance

        print_instance(view)


@instance_app.command("retry")
@handle_errors
def instance_retry(instance: str = InstanceArgument, user: str = typer.Option(..., "--user"),
                   db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Retry the failed step of an instance with an open incident; exit 1 (and the incident printed)
    when the incident is still open afterwards."""
    from workflows.services.incidents import retry
    from workflows.services.views import resolve_instance

    cxp = app_for(db)
    principal = principal_for_option(cxp, user)
    with cxp.uow() as uow:
        instance_id = resolve_instance(uow, principal, instance)
    result = retry(cxp, instance_id, principal)
    if json_out:
        echo_json(result.model_dump(mode="json"))
    else:
        typer.echo(f"instance {instance_id} is {result.status}")
        if result.incident:
            incident = result.incident
            typer.echo(f"incident still open at {incident.get('task')}: {incident.get('error')}")
    if result.incident:
        raise typer.Exit(EXIT_NOT_OK)


@clock_app.command("show")
@handle_errors
def clock_show(db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """The current (simulated or wall-clock) time."""
    cxp = app_for(db)
    with cxp.uow() as uow:
        doc = {"now": uow.now().isoformat(), "simulated": uow.clock.simulated}
    echo_json(doc) if json_out else typer.echo(f"{doc['now']} ({'simulated' if doc['simulated'] else 'wall clock'})")


@clock_app.command("advance")
@handle_errors
def clock_advance(duration: str, db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Move simulated time forward by DURATION (3d, 2w, 12h, P7D) and fire due timers (development
    mode only: CXP_MODE=development)."""
    from workflows.clock import parse_duration
    from workflows.services.lifecycle import advance_clock

    try:
        delta = parse_duration(duration)
    except ValueError as err:
        raise CliError(f"duration: {err}") from None
    cxp = app_for(db)
    if cxp.settings.mode != "development":
        raise CliError(f"CXP_MODE: the clock is advanced in development mode only, and this is {cxp.settings.mode} "
                       "mode (cxp clock show still tells the time)")
    result = advance_clock(cxp, delta)
    echo_json(result) if json_out else typer.echo(f"now {result['now']}; {result['timers_fired']} timer(s) fired")


@audit_app.command("verify")
@handle_errors
def audit_verify(db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Recompute the audit chains and check them against every anchor; name the first event changed,
    removed or inserted, or the anchor that no longer matches. A passing check writes an anchor."""
    from workflows.services.audit_trail import verify_trail

    result = verify_trail(app_for(db))
    if json_out:
        echo_json(result)
    elif result["ok"]:
        typer.echo(f"ok: {result['events']} events, chains intact, {result['anchors_checked']} anchors "
                   f"checked; anchor {result['anchor']} written")
    else:
        where = f"event {result['first_bad_event']}: " if result["first_bad_event"] is not None else ""
        typer.echo(f"NOT OK: {where}{result['problem']}")
    if not result["ok"]:
        raise typer.Exit(1)


def main(args: list[str] | None = None) -> int:
    """Console entry point: expected errors — and the command line's own usage errors — become one
    line on stderr and a non-zero exit."""
    from typer._click import exceptions as usage  # typer's own copy of click's exceptions

    try:
        code = app(args=args, standalone_mode=False)
    except usage.NoArgsIsHelpError as err:  # `cxp`, `cxp task`: the help, as asked
        typer.echo(err.ctx.get_help() if err.ctx else str(err))
        return EXIT_INPUT
    except usage.UsageError as err:  # an unknown command or option, a missing or malformed value
        where = f" (see {err.ctx.command_path} --help)" if err.ctx else ""
        fail(f"{err.format_message().rstrip('.')}{where}", EXIT_INPUT)
    except usage.ClickException as err:  # a file argument that cannot be opened, …
        fail(err.format_message(), err.exit_code)
    except CliError as err:
        fail(str(err), err.exit_code)
    except (KeyboardInterrupt, typer.Abort):  # pragma: no cover - interactive only
        fail("interrupted", 130)
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
