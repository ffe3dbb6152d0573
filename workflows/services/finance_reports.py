"""The ex-post publication extract and the FSTP financial report (SPEC §7), as CSV and XLSX."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from workflows.app import App
from workflows.db.models import Call, Claim, ClaimStatus, Exchange, Organisation, Partnership
from workflows.db.process_models import PaymentLine
from workflows.services import NotFound, ServiceError
from workflows.services.payment_files import write_atomically
from workflows.services.reporting import reports_dir
from workflows.uow import UnitOfWork

if TYPE_CHECKING:
    from reports.xlsx import Sheet


def _claims(uow: UnitOfWork, *where: Any) -> list[Any]:
    from reports.publication import PaidClaim

    s = uow.session
    orgs = {o.id: o for o in s.scalars(select(Organisation))}
    codes = {i: c for i, c in s.execute(select(Partnership.id, Partnership.code))}
    calls = {i: c for i, c in s.execute(select(Call.id, Call.code))}
    rows = s.execute(select(Claim, Exchange).join(Exchange, Exchange.id == Claim.exchange_id).where(*where)
                     .order_by(Exchange.ref)).all()
    return [PaidClaim(x.ref, calls[c.call_id], codes[c.partnership_id], orgs[x.visitor_org_id].legal_name,
                      orgs[x.visitor_org_id].country, orgs[x.host_org_id].country if x.host_org_id else None,
                      x.format, c.amount, c.status) for c, x in rows]


def _folder(app: App, out_dir: str | Path | None, kind: str) -> Path:
    if out_dir is None:
        return reports_dir(app) / kind
    target = Path(out_dir).resolve()
    if target.exists() and not target.is_dir():
        raise ServiceError(f"--out: {target} is not a folder")
    return target


def _write(folder: Path, base: str, title: str, columns: Any, rows: list[Any], created: datetime,
           extra: Sequence[Sheet] = ()) -> list[str]:
    from reports.xlsx import Sheet, csv_bytes, workbook_bytes

    sheets = [Sheet(base[:31], title, columns, rows), *extra]
    files = {f"{base}.csv": csv_bytes(columns, rows), f"{base}.xlsx": workbook_bytes(sheets, created, title)}
    for name, content in files.items():
        write_atomically(folder / name, content)
    return [str(folder / name) for name in sorted(files)]


def publication_extract(app: App, year: int, out_dir: str | Path | None = None) -> dict[str, Any]:
    """The year's paid grants (paid in the programme's time zone's calendar year), one line each."""
    from reports.publication import PUBLICATION_COLUMNS, publication_rows

    zone = ZoneInfo(app.settings.timezone)
    start = datetime.combine(date(year, 1, 1), time(0), zone)
    end = datetime.combine(date(year + 1, 1, 1), time(0), zone)
    folder = _folder(app, out_dir, "publication")
    with app.uow() as uow:
        claims = _claims(uow, Claim.status == ClaimStatus.PAID, Claim.paid_at >= start, Claim.paid_at < end)
    rows = publication_rows(claims)
    total = sum((c.amount for c in claims), Decimal("0"))
    files = _write(folder, f"publication-{year}", f"ClusterXchange ex-post publication {year}", PUBLICATION_COLUMNS,
                   rows, end.astimezone(UTC))
    return {"year": year, "recipients": len(rows), "total_eur": f"{total:.2f}", "files": files}


def fstp_report(app: App, call_code: str, out_dir: str | Path | None = None) -> dict[str, Any]:
    """The call's FSTP report per partnership and country, with its reconciliation to the bank."""
    from reports.publication import FSTP_COLUMNS, differences, fstp_rows
    from reports.xlsx import Sheet

    folder = _folder(app, out_dir, "fstp")
    with app.uow() as uow:
        call = uow.session.scalars(select(Call).where(Call.code == call_code)).first()
        if call is None:
            raise NotFound(f"--call: no call '{call_code}'")
        claims = _claims(uow, Claim.call_id == call.id, Claim.status.in_(
            (ClaimStatus.PAID, *ClaimStatus.COMMITTING)))
        executed: dict[str, Decimal] = {}
        for ref, amount in uow.session.execute(
                select(Exchange.ref, PaymentLine.amount).join(Claim, Claim.id == PaymentLine.claim_id)
                .join(Exchange, Exchange.id == Claim.exchange_id)
                .where(Claim.call_id == call.id, PaymentLine.status == "executed")):
            executed[ref] = executed.get(ref, Decimal("0")) + amount
        created = max((c for c in uow.session.scalars(select(Claim.paid_at).where(
            Claim.call_id == call.id, Claim.paid_at.is_not(None))) if c is not None),
                      default=datetime(2000, 1, 1, tzinfo=UTC))
        budget = call.budget
    rows = fstp_rows(claims, executed)
    diffs = differences(claims, executed)
    paid = sum((c.amount for c in claims if c.status == "paid"), Decimal("0"))
    bank = sum(executed.values(), Decimal("0"))
    columns = ("exchange", "paid_eur", "executed_eur", "problem")
    extra = [Sheet("differences", "Differences between the paid claims and the bank's executed lines", columns,
                   [tuple(d[c] for c in columns) for d in diffs])]
    files = _write(folder, f"fstp-{call_code}", f"FSTP financial report, call {call_code} (budget EUR {budget:.2f})",
                   FSTP_COLUMNS, rows, created, extra)
    return {"call": call_code, "budget_eur": f"{budget:.2f}", "total_eur": f"{paid:.2f}",
            "executed_eur": f"{bank:.2f}", "reconciled": not diffs and paid == bank, "differences": diffs,
            "files": files}
