"""`cxp reports ...` and the auditors' `cxp audit export|sample` (SPEC §7, §10).

    cxp reports kpi [--period YYYY-MM] [--partnership P] [--out DIR] [--email] [--json]
    cxp reports publication --year YYYY [--out DIR] [--json]
    cxp reports fstp --call CODE [--out DIR] [--json]
    cxp audit export EXCHANGE --out DIR [--json]
    cxp audit sample --size N --seed S [--json]

`reports kpi` runs the kpi-report job now in this process (`cxp flows run kpi-report` runs it as a
Prefect flow, which also mails it); it mails the officers only with `--email`.
"""
from __future__ import annotations

from typing import Any

import typer

from workflows.cli.common import app_for, handle_errors
from workflows.cli.errors import echo_json

app = typer.Typer(no_args_is_help=True)

DbOption = typer.Option(None, "--db", help="database URL (default: CXP_DATABASE_URL or sqlite:///var/cxp.db)")
JsonOption = typer.Option(False, "--json", help="print one JSON document")
OutOption = typer.Option(None, "--out", help="folder for the files (default: the files folder's reports/)")


def print_kpi(result: dict[str, Any]) -> None:
    kpis = result["kpis"]
    typer.echo(f"KPI report {result['period']} ({result['scope']}), as of {result['as_of']}")
    for status, n in kpis["exchanges_by_status"].items():
        typer.echo(f"  {status}: {n}")
    typer.echo(f"  paid EUR {kpis['paid_eur']}, committed EUR {kpis['committed_eur']}, "
               f"remaining EUR {kpis['remaining_eur']}")
    for path in result["files"]:
        if not path.endswith(".csv"):
            typer.echo(f"wrote {path}")
    typer.echo(f"  and {sum(1 for p in result['files'] if p.endswith('.csv'))} CSV file(s)")


def _print_files(result: dict[str, Any]) -> None:
    typer.echo(f"total EUR {result['total_eur']}")
    for path in result["files"]:
        typer.echo(f"wrote {path}")


@app.command("kpi")
@handle_errors
def kpi(period: str | None = typer.Option(None, "--period", help="YYYY-MM (default: last month)"),
        partnership: str | None = typer.Option(None, "--partnership", help="only this partnership's report"),
        out: str | None = OutOption, email: bool = typer.Option(False, "--email", help="mail it to the officers"),
        db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """The KPI report (HTML with charts, XLSX, CSV), programme-wide and per partnership."""
    from workflows.services.reporting import kpi_report

    result = kpi_report(app_for(db), period, partnership, out, email=email)
    echo_json(result) if json_out else print_kpi(result)


@app.command("publication")
@handle_errors
def publication(year: int = typer.Option(..., "--year", min=2000, max=2100), out: str | None = OutOption,
                db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """Ex-post publication extract of the year's payments (no personal data), CSV and XLSX."""
    from workflows.services.finance_reports import publication_extract

    result = publication_extract(app_for(db), year, out)
    echo_json(result) if json_out else _print_files(result)


@app.command("fstp")
@handle_errors
def fstp(call: str = typer.Option(..., "--call", help="call code"), out: str | None = OutOption,
         db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """FSTP financial report of a call per partnership and country, reconciled to the bank."""
    from workflows.services.finance_reports import fstp_report

    result = fstp_report(app_for(db), call, out)
    if json_out:
        echo_json(result)
    else:
        _print_files(result)
        typer.echo("reconciled with the bank" if result["reconciled"] else
                   f"NOT reconciled: {len(result['differences'])} difference(s)")
        for d in result["differences"]:
            typer.echo(f"  {d['exchange']}: {d['problem']}")


def register(audit_app: typer.Typer) -> None:
    """Add `export` and `sample` to the `cxp audit` commands."""

    @audit_app.command("export")
    @handle_errors
    def audit_export(exchange: str = typer.Argument(..., help="exchange reference, e.g. EX-000012"),
                     out: str = typer.Option(..., "--out", help="folder for the ZIP"),
                     db: str | None = DbOption, json_out: bool = JsonOption) -> None:
        """One exchange's audit file: a ZIP with an HTML and a PDF summary and the process diagram."""
        from workflows.services.audit_files import export_audit_file

        result = export_audit_file(app_for(db), exchange, out)
        echo_json(result) if json_out else typer.echo(f"wrote {result['zip']} (sha256 {result['sha256']})")

    @audit_app.command("sample")
    @handle_errors
    def audit_sample(size: int = typer.Option(..., "--size", min=0, max=100_000),
                     seed: int = typer.Option(..., "--seed"), db: str | None = DbOption,
                     json_out: bool = JsonOption) -> None:
        """A random sample reproducible from the seed, plus the risk-based picks, each with its reasons."""
        from workflows.services.audit_files import draw_sample

        result = draw_sample(app_for(db), size, seed)
        if json_out:
            echo_json(result)
        else:
            for pick in result["sample"]:
                typer.echo(f"{pick['exchange']}: {', '.join(pick['reasons'])}")
