"""`cxp processes ...`: the deployed versions of the BPMN processes, and moving running instances.

    cxp processes list [--json]                                  every version, the current one marked
    cxp processes show VERSION [--json]                          what changed, its history, who it could take
    cxp processes deploy FILE --user ADMIN --reason TEXT         a new version, after its checks
    cxp processes migrate VERSION [--instance N]... [--dry-run] [--rollback] --user ADMIN [--reason TEXT]

VERSION is a version's id (`cxp processes list`) or PROCESS:VERSION (`exchange:2`). `migrate` without
`--instance` takes every unfinished instance of the process on another version (with `--rollback`:
every instance moved to VERSION and still on it). It exits 1 when an instance could not be moved.
Only administrators deploy and migrate; a refusal exits 3 and is audited.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from workflows.cli.common import app_for, handle_errors, principal_for_option
from workflows.cli.errors import EXIT_NOT_OK, CliError, echo_json

app = typer.Typer(no_args_is_help=True)

DbOption = typer.Option(None, "--db", help="database URL (default: CXP_DATABASE_URL or sqlite:///var/cxp.db)")
JsonOption = typer.Option(False, "--json", help="print one JSON document")
ReaderOption = typer.Option(None, "--user", help="who reads: an administrator or an auditor (default: the system)")
AdminOption = typer.Option(..., "--user", help="the administrator who acts (kept on the version's history)")
VersionArgument = typer.Argument(..., help="a version's id, or PROCESS:VERSION such as exchange:2")


def _version_id(cxp: Any, principal: Any, text: str) -> int:
    from workflows.services.process_version_views import list_versions

    value = text.strip()
    if value.isdigit():
        return int(value)
    process, _, number = value.partition(":")
    for row in list_versions(cxp, principal):
        if row.process == process and str(row.version) == number.strip():
            return row.id
    raise CliError(f"VERSION: {text!r} is no deployed version (an id, or PROCESS:VERSION such as exchange:2; "
                   "see `cxp processes list`)")


@app.command("list")
@handle_errors
def list_(user: str | None = ReaderOption, db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Every deployed version of every process, newest first; new instances start on the current one."""
    from workflows.services.process_version_views import list_versions

    cxp = app_for(db)
    rows = [v.model_dump(mode="json") for v in list_versions(cxp, principal_for_option(cxp, user))]
    if json_out:
        echo_json({"versions": rows})
        return
    for v in rows:
        current = "  (current)" if v["current"] else ""
        who = f"by {v['deployed_by']}" if v["deployed_by"] else "from the package"
        typer.echo(f"{v['id']:>4}  {v['process']}:{v['version']}{current}  {v['filename']}  {v['sha256'][:12]}  "
                   f"deployed {v['deployed_at'][:16]} {who}  {v['running']} running")


@app.command("show")
@handle_errors
def show(version: str = VersionArgument, user: str | None = ReaderOption, db: str | None = DbOption,
         json_out: bool = JsonOption) -> None:
    """One version: what changed from the previous one, its history, the instances it could take."""
    from workflows.services.process_version_views import version_detail

    cxp = app_for(db)
    principal = principal_for_option(cxp, user)
    detail = version_detail(cxp, principal, _version_id(cxp, principal, version)).model_dump(mode="json")
    if json_out:
        echo_json(detail)
        return
    typer.echo(f"{detail['process']}:{detail['version']}  {detail['filename']}  sha256 {detail['sha256']}")
    if detail["previous_version"] is not None:
        typer.echo(f"changes from version {detail['previous_version']}:")
    for c in detail["changes"]:
        _print_change(c)
    typer.echo("history:")
    for h in detail["history"]:
        on = f" {h['subject_ref'] or h['instance_id']}" if h["instance_id"] else ""
        typer.echo(f"  {h['at'][:16]}  {h['action']}{on} by {h['by']}: {h['reason'] or ''}")
    typer.echo(f"{len(detail['candidates'])} unfinished instance(s) on other versions")


@app.command("deploy")
@handle_errors
def deploy(file: Path = typer.Argument(..., help="the BPMN 2.0 file of one process"), user: str = AdminOption,
           reason: str = typer.Option(..., "--reason", help="why this version (kept on its history)"),
           db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Deploy a new version of a process after its checks (parses, every service task bound, every
    user task has a form, bpmnlint clean); new instances start on it."""
    from workflows.services.process_versions import deploy_version

    if not file.is_file():
        raise CliError(f"FILE: {file} does not exist or is not a file")
    cxp = app_for(db)
    out = deploy_version(cxp, principal_for_option(cxp, user), file.read_bytes(), file.name, reason)
    if json_out:
        echo_json(out.model_dump(mode="json"))
        return
    v = out.version
    if out.created:
        typer.echo(f"deployed {v.process}:{v.version} (id {v.id}); new instances start on it")
        for c in out.changes:
            _print_change(c.model_dump())
    else:
        typer.echo(f"{file.name} is {v.process}:{v.version} (id {v.id}), the current version already: nothing new")
    typer.echo(f"lint: {out.lint}")


@app.command("migrate")
@handle_errors
def migrate(version: str = VersionArgument,
            instance: list[int] | None = typer.Option(None, "--instance", help="an instance id (repeat it); "
                                                      "default: every unfinished one on another version"),
            dry_run: bool = typer.Option(False, "--dry-run", help="only say what would change and who can move"),
            rollback: bool = typer.Option(False, "--rollback", help="put moved instances back on the version "
                                                                    "they had"),
            user: str = AdminOption, reason: str | None = typer.Option(None, "--reason", help="why (required "
                                                                                             "unless --dry-run)"),
            db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Move running instances to VERSION, each in one audited transaction that keeps its data; or say
    what would change (--dry-run); or roll moves back (--rollback). Exits 1 if one could not move."""
    from workflows.services.process_versions import migrate_instances, rollback_instances

    if dry_run and rollback:
        raise CliError("--dry-run/--rollback: a rollback has no dry run, ask for one or the other")
    if not dry_run and not (reason or "").strip():
        raise CliError("--reason: say why (it is kept on the version's and the instances' history)")
    cxp = app_for(db)
    principal = principal_for_option(cxp, user)
    version_id = _version_id(cxp, principal, version)
    if rollback:
        report = rollback_instances(cxp, principal, version_id, instance or None, reason)
    else:
        report = migrate_instances(cxp, principal, version_id, instance or None, reason, dry_run)
    data = report.model_dump(mode="json")
    if json_out:
        echo_json(data)
    else:
        _print_report(data)
    if not dry_run and data["cannot_move"]:
        raise typer.Exit(EXIT_NOT_OK)


def _print_change(c: dict[str, Any]) -> None:
    step = c["step"] + (f" -> {c['to_step']}" if c["to_step"] else "")
    label = f"'{c['label']}'" + (f" -> '{c['to_label']}'" if c["to_label"] else "")
    fields = f" ({', '.join(c['fields'])})" if c["fields"] else ""
    typer.echo(f"  {c['change']:<8} {step}  {label}{fields}")


def _print_report(data: dict[str, Any]) -> None:
    done = {"can move", "moved", "rolled back"}
    for r in data["results"]:
        where = f" (waiting on {', '.join(r['waiting_on'])})" if r["waiting_on"] else ""
        line = f"{r['instance_id']:>6} {r['subject_ref'] or '':<12} v{r['from_version']} -> v{r['to_version']}  " \
               f"{r['outcome']}{where}"
        typer.echo(line + ("" if r["outcome"] in done else ": " + "; ".join(r["reasons"])))
    verb = "can move" if data["dry_run"] else ("rolled back" if data["rollback"] else "moved")
    typer.echo(f"{data['process']}:{data['version']}: {data['can_move']} of {data['total']} {verb}, "
               f"{data['cannot_move']} not")
    for reason, count in data["cannot_by_reason"].items():
        typer.echo(f"  {count} x {reason}")
