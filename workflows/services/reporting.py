"""The monthly KPI report (SPEC §6): select the rows, compute the KPIs (`reports.kpi`), write the HTML,
XLSX and CSV files and queue the emails to the officers, in one unit of work.

The rows are read once for all scopes — through the driver for the audit events, the large table —
and each scope (the programme, each partnership) is computed from them. The period is a calendar
month in the programme's time zone; the report is as of the month's end, or now if that is later.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from workflows import outbox
from workflows.app import App
from workflows.audit import SYSTEM
from workflows.db.models import Call, Partnership, User, call_partnerships
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
    cutoff = datetime.combine(following, time(0), tz).astimezone(UTC)
    return Period(f"{year:04d}-{month:02d}", cutoff)


def _json_field(dialect: str, column: str, *path: str) -> str:
    """`column`'s JSON field at `path` as text, extracted by the database."""
    if dialect == "postgresql":
        head = "".join(f"->'{p}'" for p in path[:-1])
        return f"({column}{head}->>'{path[-1]}')"
    return f"json_extract({column}, '$.{'.'.join(path)}')"


def events_sql(dialect: str) -> str:
    """The audit events the KPIs read, by their existing columns, JSON fields extracted by the database."""
    actions = ", ".join(f"'{a}'" for a in EVENT_ACTIONS)
    return (f"SELECT id, occurred_at, action, subject, task, {_json_field(dialect, 'data_after', 'status')}, "
            f"{_json_field(dialect, 'data_after', 'form', 'decision')} FROM audit_events "
            f"WHERE action IN ({actions}) AND occurred_at < %(cutoff)s ORDER BY id")


def _row_sql(dialect: str) -> dict[str, str]:
    """The programme's rows as the KPIs need them, joined and extracted by the database."""
    days = _json_field(dialect, "x.working_days", "working_days")
    return {
        "exchanges": "SELECT x.ref, p.code, c.code, x.format, v.country, h.country, v.org_type, v.sectors, "
                     f"v.region_category, h.region_category, {days}, x.created_at FROM exchanges x "
                     "JOIN partnerships p ON p.id = x.visitor_partnership_id JOIN calls c ON c.id = x.call_id "
                     "JOIN organisations v ON v.id = x.visitor_org_id LEFT JOIN organisations h ON h.id = x.host_org_id "
                     "WHERE x.created_at < %(cutoff)s ORDER BY x.ref",
        "applications": "SELECT a.id, p.code, a.role, a.format, o.org_type, o.country, a.sectors, a.submitted_at "
                        "FROM applications a JOIN partnerships p ON p.id = a.partnership_id "
                        "JOIN organisations o ON o.id = a.organisation_id WHERE a.submitted_at < %(cutoff)s ORDER BY a.id",
        "claims": "SELECT x.ref, c.code, p.code, k.amount FROM claims k JOIN exchanges x ON x.id = k.exchange_id "
                  "JOIN calls c ON c.id = k.call_id JOIN partnerships p ON p.id = k.partnership_id ORDER BY k.id",
        "tasks": "SELECT t.task_spec, p.code, t.subject_ref, t.due_at, t.created_at, t.completed_at FROM human_tasks t "
                 "LEFT JOIN partnerships p ON p.id = t.partnership_id "
                 "WHERE t.due_at IS NOT NULL AND t.created_at < %(cutoff)s ORDER BY t.id",
        "events": events_sql(dialect),
    }


def _driver_rows(conn: Any, sql: str, cutoff: datetime) -> list[Any]:
    """Rows read by the driver's own cursor, inside the unit of work's transaction (no per-value
    processing): datetimes come as the driver gives them (SQLite: UTC text) and become Arrow timestamps
    in one pass."""
    params: Any = ()
    if "%(cutoff)s" in sql:
        if conn.dialect.name == "postgresql":
            params = {"cutoff": cutoff}
        else:
            sql = sql.replace("%(cutoff)s", "?")
            params = (cutoff.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds"),)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, params) if params else cursor.execute(sql)
        rows: list[Any] = cursor.fetchall()  # the DB-API cursor is untyped
        return rows
    finally:
        cursor.close()


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def _sector_text() -> Any:
    """A JSON list of sectors (text on SQLite, a list on PostgreSQL) as sorted ';'-joined text, memoised."""
    seen: dict[Any, str] = {}

    def convert(value: Any) -> str:
        key = value if isinstance(value, str) or value is None else tuple(value)
        if key not in seen:
            items = json.loads(value) if isinstance(value, str) else (value or [])
            seen[key] = ";".join(sorted(items or ()))
        return seen[key]
    return convert


def select_rows(uow: UnitOfWork, cutoff: datetime) -> Any:
    """Every row the KPIs of any scope need, up to `cutoff`, as Arrow tables (`reports.kpi.KpiRows`)."""
    from reports.kpi import KpiRows, arrow_table

    conn = uow.connection
    sql = _row_sql(conn.dialect.name)
    sectors = _sector_text()
    tables: dict[str, Any] = {}
    for name, width, text_column in (("exchanges", 12, 7), ("applications", 8, 6), ("claims", 4, None),
                                     ("tasks", 6, None), ("events", 7, None)):
        columns = _columns(_driver_rows(conn, sql[name], cutoff), width)
        if text_column is not None:
            columns[text_column] = [sectors(v) for v in columns[text_column]]
        if name == "exchanges":
            columns[10] = [int(v) if v is not None else None for v in columns[10]]
        if name == "claims":
            columns[3] = [f"{Decimal(str(v)):.2f}" for v in columns[3]]
        tables[name] = arrow_table(name, columns)
    s = uow.session
    codes = {r[0]: r[1] for r in s.execute(select(Partnership.id, Partnership.code))}
    members: dict[int, set[str]] = {}
    for call_id, partnership_id in s.execute(select(call_partnerships.c.call_id, call_partnerships.c.partnership_id)):
        members.setdefault(call_id, set()).add(codes[partnership_id])
    calls = [(c.code, f"{c.budget:.2f}", ";".join(sorted(members.get(c.id, set()) | {codes[c.lead_partnership_id]})))
             for c in s.scalars(select(Call).order_by(Call.code))]
    return KpiRows(calls=arrow_table("calls", _columns(calls, 3)), **tables)


def _as_of(period: Period, now: datetime) -> datetime:
    """The month's end, or — for the month under way — now, this very moment's changes included."""
    return min(period.cutoff, now + timedelta(microseconds=1))


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


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
                            "portal_path": "/reports",
                            "exchanges": sum(headline["exchanges_by_status"].values()),
                            "paid_eur": headline["paid_eur"], "committed_eur": headline["committed_eur"],
                            "remaining_eur": headline["remaining_eur"], "overdue_tasks": headline["overdue_tasks"],
                            "within_target_share": headline["paid_within_target_share"]},
                   attachments=attachments)
