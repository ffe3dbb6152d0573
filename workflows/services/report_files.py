"""The reports as files a person downloads from the reports page or the API: the KPI report (HTML,
XLSX, or its tables as a ZIP of CSVs) for the principal's scope, the ex-post publication extract and
the FSTP financial report (CSV or XLSX), and the audit sample as CSV — the same bytes as
`cxp reports …` and `cxp audit sample` write, built by the same functions.

Who may: the KPIs as `oversight.kpis` (officers and finance users their own partnership's);
the publication and FSTP reports finance users, auditors and administrators; the audit sample
auditors and administrators. Refusals are audited."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from workflows.app import App
from workflows.services.access import Principal, require_role
from workflows.services.downloads import Download

FINANCE_REPORT_ROLES = ("finance", "auditor", "administrator")
MEDIA = {"csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8", "zip": "application/zip",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _download(name: str, content: bytes) -> Download:
    import hashlib

    return Download(filename=name, media_type=MEDIA[name.rsplit(".", 1)[-1]], content=content,
                    sha256=hashlib.sha256(content).hexdigest())


def _picked(files: list[str], suffix: str) -> Download:
    path = Path(next(f for f in files if f.endswith(suffix)))
    return _download(path.name, path.read_bytes())


def publication_file(app: App, principal: Principal, year: int, fmt: Literal["csv", "xlsx"]) -> Download:
    """The year's ex-post publication extract (no personal data)."""
    from workflows.services.finance_reports import publication_extract

    require_role(app, None, principal, FINANCE_REPORT_ROLES, "download the publication extract")
    with tempfile.TemporaryDirectory(prefix="cxp-publication-") as folder:
        return _picked(publication_extract(app, year, folder)["files"], f".{fmt}")


def fstp_file(app: App, principal: Principal, call_code: str, fmt: Literal["csv", "xlsx"]) -> Download:
    """The call's FSTP financial report (per partnership and country, reconciled with the bank)."""
    from workflows.services.finance_reports import fstp_report

    require_role(app, None, principal, FINANCE_REPORT_ROLES, "download the FSTP report")
    with tempfile.TemporaryDirectory(prefix="cxp-fstp-") as folder:
        return _picked(fstp_report(app, call_code, folder)["files"], f".{fmt}")


def kpi_file(app: App, principal: Principal, period: str | None, partnership: str | None,
             fmt: Literal["html", "xlsx", "zip"]) -> Download:
    """The KPI report of the period for the principal's scope (see `oversight.kpis`): the HTML page
    with its charts, the workbook, or its tables as CSV files in one ZIP."""
    from reports.kpi_files import base_name, render_files
    from workflows.services.oversight import kpi_scope
    from workflows.services.reporting import kpi_tables

    report = kpi_tables(app, period, kpi_scope(app, principal, partnership))
    base = base_name(report)
    name = {"html": f"{base}.html", "xlsx": f"{base}.xlsx", "zip": f"{base}-csv.zip"}[fmt]
    return _download(name, render_files(report)[name])


def audit_sample_csv(app: App, principal: Principal, size: int, seed: int) -> Download:
    """The audit sample as CSV: exchange, reasons (`random` or the risk flags), seed."""
    from reports.xlsx import csv_bytes
    from workflows.services.oversight import audit_sample

    sample = audit_sample(app, principal, size, seed)
    rows = [(pick.exchange, " ".join(pick.reasons), sample.seed) for pick in sample.sample]
    return _download(f"audit-sample-seed{seed}-size{size}.csv", csv_bytes(("exchange", "reasons", "seed"), rows))


def report_choices(app: App, principal: Principal) -> tuple[bool, list[str], list[int]]:
    """For the reports page: whether the principal may download the publication and FSTP reports,
    the codes of the calls (published ones, newest first) and the years to pick from (this one and the
    three before it)."""
    from sqlalchemy import select

    from workflows.db.models import Call

    if principal.role not in FINANCE_REPORT_ROLES:
        return False, [], []
    with app.uow() as uow:
        calls = list(uow.session.scalars(select(Call.code).where(Call.status != "draft")
                                         .order_by(Call.opens_on.desc(), Call.code)))
        year = uow.now().year
    return True, calls, [year - n for n in range(4)]
