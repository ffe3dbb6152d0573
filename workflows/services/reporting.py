"""The monthly KPI report (SPEC §6): select the rows, compute the KPIs (`reports.kpi`), write the HTML,
XLSX and CSV files and queue the emails to the officers, in one unit of work.

The rows are read once for all scopes — through the driver for the audit events, the large table —
and each scope (the programme, each partnership) is computed from them. The period is a calendar
month in the programme's time zone; the report is as of the month's end, or now if that is later.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select

from workflows import outbox
from workflows.app import App
from workflows.audit import SYSTEM
from workflows.db.models import Application, Call, Claim, Exchange, Organisation, Partnership, User, call_partnerships
from workflows.db.process_models import HumanTask
from workflows.services import NotFound, ServiceError
from workflows.services.payment_files import sha256, write_atomically
from workflows.uow import UnitOfWork

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
EVENT_ACTIONS = ("exchange_status", "application_status", "task_completed", "evidence_recorded", "budget_committed",
                 "payment_executed")
MIME = {".html": "text/html", ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".csv": "text/csv", ".zip": "application/zip"}


@dataclass(frozen=True)
class Period:
    label: str
    cutoff: datetime  # the first instant after the month, UTC


def parse_period(value: str | None, now: datetime, zone: str) -> Period:
    """`YYYY-MM`, or the month before `now`'s (the monthly run reports the month just ended)."""
    tz = ZoneInfo(zone)
    if value is None:
        local = now.astimezone(tz).date().replace(day=1)
        year, month = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
    else:
        found = _PERIOD.match(value.strip())
        if not found:
            raise ServiceError(f"--period: {value!r} is not a month written YYYY-MM (for example 2027-03)")
        year, month = int(found[1]), int(found[2])
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    cutoff = datetime.combine(following, time(0), tz).astimezone(timezone.utc)
    return Period(f"{year:04d}-{month:02d}", cutoff)


def _events_sql(dialect: str) -> str:
    """The audit events the KPIs read, by their existing columns, JSON fields extracted by the database."""
    if dialect == "postgresql":
        status, decision = "data_after->>'status'", "data_after->'form'->>'decision'"
    else:
        status, decision = "json_extract(data_after, '$.status')", "json_extract(data_after, '$.form.decision')"
    actions = ", ".join(f"'{a}'" for a in EVENT_ACTIONS)
    return (f"SELECT id, occurred_at, action, subject, task, {status}, {decision} FROM audit_events "
            f"WHERE action IN ({actions}) AND occurred_at < %(cutoff)s ORDER BY id")


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    return [list(c) for c in zip(*rows)] if rows else [[] for _ in range(width)]


def select_rows(uow: UnitOfWork, cutoff: datetime) -> Any:
    """Every row the KPIs of any scope need, up to `cutoff`, as Arrow tables (`reports.kpi.KpiRows`)."""
    from reports.kpi import KpiRows, arrow_table

    s = uow.session
    codes = {r[0]: r[1] for r in s.execute(select(Partnership.id, Partnership.code))}
    orgs = {o.id: o for o in s.scalars(select(Organisation))}
    calls = {c.id: c for c in s.scalars(select(Call))}
    exchanges = []
    for x in s.scalars(select(Exchange).where(Exchange.created_at < cutoff).order_by(Exchange.ref)):
        v, h = orgs[x.visitor_org_id], orgs.get(x.host_org_id)
        exchanges.append((x.ref, codes[x.visitor_partnership_id], calls[x.call_id].code, x.format, v.country,
                          h.country if h else None, v.org_type, ";".join(sorted(v.sectors or ())), v.region_category,
                          h.region_category if h else None,
                          (x.working_days or {}).get("working_days"), _naive(x.created_at)))
    apps = [(a.id, codes[a.partnership_id], a.role, a.format, orgs[a.organisation_id].org_type,
             orgs[a.organisation_id].country, ";".join(sorted(a.sectors or ())), _naive(a.submitted_at))
            for a in s.scalars(select(Application).where(Application.submitted_at < cutoff).order_by(Application.id))]
    refs = {r[0]: r[1] for r in s.execute(select(Exchange.id, Exchange.ref))}
    claims = [(refs[c.exchange_id], calls[c.call_id].code, codes[c.partnership_id], f"{c.amount:.2f}")
              for c in s.scalars(select(Claim).order_by(Claim.id))]
    members: dict[int, set[str]] = {}
    for call_id, partnership_id in s.execute(select(call_partnerships.c.call_id, call_partnerships.c.partnership_id)):
        members.setdefault(call_id, set()).add(codes[partnership_id])
    call_rows = [(c.code, f"{c.budget:.2f}", ";".join(sorted(members.get(c.id, set()) | {codes[c.lead_partnership_id]})))
                 for c in sorted(calls.values(), key=lambda c: c.code)]
    tasks = [(t.task_spec, codes.get(t.partnership_id), t.subject_ref, _naive(t.due_at), _naive(t.created_at),
              _naive(t.completed_at))
             for t in s.scalars(select(HumanTask).where(HumanTask.due_at.is_not(None), HumanTask.created_at < cutoff)
                                .order_by(HumanTask.id))]
    conn = uow.connection
    bound = cutoff if conn.dialect.name == "postgresql" else cutoff.replace(tzinfo=None).isoformat(" ", "microseconds")
    sql = _events_sql(conn.dialect.name)
    if conn.dialect.paramstyle == "qmark":
        events = conn.exec_driver_sql(sql.replace("%(cutoff)s", "?"), (bound,)).fetchall()
    else:
        events = conn.exec_driver_sql(sql, {"cutoff": bound}).fetchall()
    return KpiRows(
        exchanges=arrow_table("exchanges", _columns(exchanges, 12)), applications=arrow_table("applications", _columns(apps, 8)),
        claims=arrow_table("claims", _columns(claims, 4)), calls=arrow_table("calls", _columns(call_rows, 3)),
        tasks=arrow_table("tasks", _columns(tasks, 6)), events=arrow_table("events", _columns(events, 7)))


def _as_of(period: Period, now: datetime) -> datetime:
    """The month's end, or — for the month under way — now, this very moment's changes included."""
    return min(period.cutoff, now + timedelta(microseconds=1))


def _naive(moment: datetime | None) -> datetime | None:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment is not None else None


def kpi_tables(app: App, period: str | None = None, partnership: str | None = None) -> Any:
    """The KPI tables of one scope, no files (the benchmark's figure, and a read for the web)."""
    from reports.kpi import compute

    with app.uow() as uow:
        chosen = parse_period(period, uow.now(), app.settings.timezone)
        as_of = _as_of(chosen, uow.now())
        if partnership:
            _partnership(uow, partnership)
        rows = select_rows(uow, as_of)
    return compute(rows, _naive(as_of), chosen.label, partnership)


def _partnership(uow: UnitOfWork, code: str) -> Partnership:
    found = uow.session.scalars(select(Partnership).where(Partnership.code == code)).first()
    if found is None:
        raise NotFound(f"--partnership: no partnership '{code}'")
    return found


def reports_dir(app: App) -> Path:
    return Path(app.settings.files_dir).resolve() / "reports"


def kpi_report(app: App, period: str | None = None, partnership: str | None = None,
               out_dir: str | Path | None = None, email: bool = True) -> dict[str, Any]:
    """The kpi-report job: the programme-wide report and one per partnership (or only `partnership`'s),
    written to `out_dir` (default: the files folder's reports/kpi/PERIOD), and — with `email` — queued
    to each partnership's officers (the programme-wide one to the administrators), files attached."""
    from reports.kpi import compute
    from reports.kpi_files import base_name, render_files

    target_dir = _out_dir(out_dir)
    with app.uow() as uow:
        chosen = parse_period(period, uow.now(), app.settings.timezone)
        as_of = _as_of(chosen, uow.now())
        scopes: list[str | None] = [partnership] if partnership else [None, *sorted(
            uow.session.scalars(select(Partnership.code)))]
        if partnership:
            _partnership(uow, partnership)
        folder = target_dir or reports_dir(app) / "kpi" / chosen.label
        rows = select_rows(uow, as_of)
        results: dict[str, Any] = {}
        for scope in scopes:
            report = compute(rows, _naive(as_of), chosen.label, scope)
            written = _write(folder, render_files(report))
            results[report.scope] = {"files": [str(p) for p in written], "kpis": report.headline()}
            if email:
                _queue_email(app, uow, report, base_name(report), folder)
        uow.audit(SYSTEM, "kpi_report_generated", subject=f"kpi:{chosen.label}", after={
            "scopes": sorted(results), "as_of": as_of, "emailed": email})
        uow.commit()
    main = results["programme"] if partnership is None else results[partnership]
    return {"period": chosen.label, "as_of": as_of.isoformat(), "scope": partnership or "programme",
            "files": [f for r in results.values() for f in r["files"]], "kpis": main["kpis"],
            "scopes": results}


def _out_dir(out_dir: str | Path | None) -> Path | None:
    if out_dir is None:
        return None
    target = Path(out_dir).resolve()
    if target.exists() and not target.is_dir():
        raise ServiceError(f"--out: {target} is not a folder")
    return target


def _write(folder: Path, files: dict[str, bytes]) -> list[Path]:
    written = []
    for name in sorted(files):
        path = folder / name
        if not path.is_file() or path.read_bytes() != files[name]:
            write_atomically(path, files[name])
        written.append(path)
    return written


def _queue_email(app: App, uow: UnitOfWork, report: Any, base: str, folder: Path) -> None:
    """The report's email with its HTML, XLSX and zipped CSV files attached (R-MAIL: same transaction)."""
    query = select(User.email).where(User.active.is_(True)).order_by(User.id)
    if report.scope == "programme":
        query, name = query.where(User.role == "administrator"), "Programme support office"
    else:
        partnership = _partnership(uow, report.scope)
        query = query.where(User.role == "officer", User.partnership_id == partnership.id)
        name = f"{partnership.name} officers"
    recipients = list(uow.session.scalars(query))
    if not recipients:
        return
    attachments = []
    for suffix in (".html", ".xlsx", "-csv.zip"):
        path = folder / f"{base}{suffix}"
        attachments.append({"path": str(path), "filename": path.name, "mime_type": MIME[path.suffix],
                            "sha256": sha256(path.read_bytes())})
    headline = report.headline()
    outbox.enqueue(uow.session, template="kpi_report", to=recipients, now=uow.now(),
                   key=f"kpi_report:{report.period}:{report.scope}:{attachments[1]['sha256'][:16]}",
                   context={"recipient_name": name, "period": report.period, "scope": report.scope,
                            "exchanges": sum(headline["exchanges_by_status"].values()),
                            "paid_eur": headline["paid_eur"], "committed_eur": headline["committed_eur"],
                            "remaining_eur": headline["remaining_eur"], "overdue_tasks": headline["overdue_tasks"],
                            "within_target_share": headline["paid_within_target_share"]},
                   attachments=attachments)
