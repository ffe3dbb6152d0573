"""`cxp payments ...`: payment batches and the bank's answers (SPEC §6, §10).

    cxp payments batches [--status S] [--partnership P] [--json]   every batch and its bank status
    cxp payments show BATCH [--json]                                one batch with its transfers
    cxp payments release BATCH --user U [--json]                    a finance user releases it (R-4EYES)
    cxp payments export BATCH [--out DIR] [--json]                  rebuild its files, byte for byte
    cxp payments import-status FILE --user U [--json]               a pain.002 or camt.054 from the bank

Batches are made by the payment-batch flow (`cxp flows run payment-batch`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from workflows.cli.common import app_for, handle_errors, principal_for_option
from workflows.cli.errors import CliError, echo_json

app = typer.Typer(no_args_is_help=True)

DbOption = typer.Option(None, "--db", help="database URL (default: CXP_DATABASE_URL or sqlite:///var/cxp.db)")
JsonOption = typer.Option(False, "--json", help="print one JSON document")
ReaderOption = typer.Option(None, "--user", help="who reads (default: the system, every partnership)")


def _print_batches(rows: list[dict[str, Any]]) -> None:
    if not rows:
        typer.echo("no payment batches")
        return
    for r in rows:
        answers = ", ".join(f"{v} {k}" for k, v in sorted(r["lines"].items()))
        released = f", released by {r['released_by']}" if r["released_by"] else ""
        typer.echo(f"{r['batch']}  {r['partnership']}  {r['status']}  executes {r['execution_date']}  "
                   f"{r['n_tx']} transfer(s)  EUR {r['control_sum']}  [{answers}]{released}")


@app.command("batches")
@handle_errors
def batches(status: str | None = typer.Option(None, "--status", help="created | released | settled"),
            partnership: str | None = typer.Option(None, "--partnership", help="partnership code"),
            user: str | None = ReaderOption, db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Every payment batch, newest first, with how the bank answered its transfers."""
    from workflows.services.payments import list_batches

    if status is not None and status not in ("created", "released", "settled"):
        raise CliError(f"--status: {status!r} is not a batch status (created, released, settled)")
    cxp = app_for(db)
    rows = [b.model_dump(mode="json") for b in list_batches(cxp, principal_for_option(cxp, user), status, partnership)]
    echo_json({"batches": rows}) if json_out else _print_batches(rows)


@app.command("show")
@handle_errors
def show(batch: str = typer.Argument(..., help="the batch's MsgId"), user: str | None = ReaderOption,
         db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """One batch with its transfers and the bank's answer to each."""
    from workflows.services.payments import batch_detail

    cxp = app_for(db)
    view = batch_detail(cxp, principal_for_option(cxp, user), batch).model_dump(mode="json")
    if json_out:
        echo_json(view)
        return
    _print_batches([view])
    for t in view["transfers"]:
        reason = f" ({t['reason_code']}: {t['reason']})" if t["reason_code"] else ""
        typer.echo(f"  {t['exchange']}  {t['amount']:>10}  {t['iban']}  {t['status']}{reason}")


@app.command("release")
@handle_errors
def release(batch: str = typer.Argument(..., help="the batch's MsgId"),
            user: str = typer.Option(..., "--user", help="a finance user of the batch's partnership"),
            db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Release a batch to the bank (not by anyone who approved one of its payments)."""
    from workflows.services.payment_files import paths_for
    from workflows.services.payments import release_batch

    cxp = app_for(db)
    result = release_batch(cxp, batch, principal_for_option(cxp, user))
    path = str(paths_for(cxp, result.batch)[0])  # the operator's: where the file to upload is on this machine
    echo_json({**result.model_dump(mode="json"), "path": path}) if json_out else typer.echo(
        f"batch {batch} released by {user}; upload {path}")


@app.command("export")
@handle_errors
def export(batch: str = typer.Argument(..., help="the batch's MsgId"),
           out: Path | None = typer.Option(None, "--out", help="folder to write to (default: the payments folder)"),
           db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Rebuild a batch's pain.001 and CSV from the database: the same bytes as when it was made."""
    from workflows.services.payments import export_batch

    result = export_batch(app_for(db), batch, out)
    if json_out:
        echo_json(result)
    else:
        for path in result["files"]:
            typer.echo(f"wrote {path}")
        typer.echo(f"sha256 {result['sha256']} (as committed with the batch)")


@app.command("import-status")
@handle_errors
def import_status(file: Path = typer.Argument(..., help="a pain.002 status report or camt.054 notification"),
                  user: str = typer.Option(..., "--user", help="a finance user of the batch's partnership, "
                                                               "or an administrator"),
                  db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Apply the bank's answer: paid on confirmation, rejected back to the exchange for correction.

    The file must match the official XSD of its version: pain.002.001.03 or .12, camt.054.001.02 or .08.
    """
    from workflows.services.payments import import_status as apply_bank_file

    if not file.is_file():
        raise CliError(f"FILE: {file} does not exist or is not a file")
    cxp = app_for(db)
    result = apply_bank_file(cxp, file.read_bytes(), file.name, principal_for_option(cxp, user)).model_dump(mode="json")
    if json_out:
        echo_json(result)
        return
    typer.echo(f"{result['version']} {result['message_id']} imported by {result['imported_by']}: "
               f"{result['executed']} executed, "
               f"{result['accepted']} accepted, {result['rejected']} rejected, {result['pending']} pending")
    for r in result["returned"]:
        typer.echo(f"  {r['exchange']} rejected ({r['code']}: {r['reason']}): sent back for correction")
    for warning in result["warnings"]:
        typer.echo(f"  warning: {warning}", err=True)
