"""What auditors, administrators and a partnership's staff read about the programme as a whole,
for a principal: the chain verification, the audit sample, an exchange's audit file, the KPIs.

Who may: the audit trail's verification, sample and export are for auditors and administrators;
the KPIs for officers and finance users (their own partnership's) and for auditors and
administrators (the programme, or any partnership). Refusals are audited by `access.refuse`."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from workflows.app import App
from workflows.services.access import PARTNERSHIP_ROLES, Principal, refuse, require_role, visible_exchange

AUDIT_ROLES = frozenset({"auditor", "administrator"})
KPI_ROLES = frozenset({"officer", "finance", "auditor", "administrator"})
VERIFY_ANCHOR_INTERVAL = timedelta(minutes=15)  # a check through the web anchors at most this often


class VerifyOut(BaseModel):
    ok: bool
    # which case verify met: the trail intact, changed, checked against another database's anchors, a
    # database older than its anchors (a restored backup), or its anchors kept elsewhere
    case: Literal["intact", "changed", "another_database", "older_database", "anchors_elsewhere"]
    events: int
    first_bad_event: int | None
    anchors_checked: int
    problem: str | None
    anchor: int | None = None


class SamplePick(BaseModel):
    exchange: str
    reasons: list[str]


class SampleOut(BaseModel):
    seed: int
    size: int
    population: int
    flags: list[str]
    sample: list[SamplePick]


class KpiTableOut(BaseModel):
    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]]


class KpiOut(BaseModel):
    period: str
    scope: str
    as_of: datetime
    kpis: dict[str, Any]
    tables: list[KpiTableOut]


def verify_audit(app: App, principal: Principal) -> VerifyOut:
    """Recompute the chains and check the anchors; a passing check appends an anchor when the newest
    is older than `VERIFY_ANCHOR_INTERVAL`, so that checking again and again does not grow the trail."""
    from workflows.services.audit_trail import verify_trail

    require_role(app, None, principal, AUDIT_ROLES, "verify the audit trail")
    result = verify_trail(app, anchor_every=VERIFY_ANCHOR_INTERVAL)
    if result["problem"]:  # the anchor file by its name: where the server keeps it is not the reader's
        anchors = app.settings.anchor_path
        result["problem"] = result["problem"].replace(str(anchors), f"the anchor file {anchors.name}")
    return VerifyOut(**result)


def audit_sample(app: App, principal: Principal, size: int, seed: int) -> SampleOut:
    from workflows.services.audit_files import draw_sample

    require_role(app, None, principal, AUDIT_ROLES, "draw an audit sample")
    return SampleOut(**draw_sample(app, size, seed))


def audit_file(app: App, principal: Principal, ref: str) -> tuple[str, bytes]:
    """(file name, ZIP bytes) of an exchange's audit file: its events, diagram and summary."""
    from reports.audit_file import audit_zip
    from workflows.services.audit_files import audit_file_data, evidence_entries

    with app.uow() as uow:
        exchange = visible_exchange(uow, principal, ref)
        if principal.role not in AUDIT_ROLES:
            refuse(app, uow, principal, f"{principal.username} is {principal.role} and may not export audit files "
                   "(only auditor, administrator)", subject=exchange.ref)
        data = audit_file_data(uow, exchange.ref)
        evidence = evidence_entries(app, uow, exchange.ref)
    return audit_zip(data, evidence)


def kpis(app: App, principal: Principal, period: str | None = None, partnership: str | None = None) -> KpiOut:
    """The KPI tables of the period (default: the month under way) for the principal's scope: an
    officer's or finance user's own partnership; the programme or any partnership for auditors and
    administrators. Another partnership's code from a partnership user is refused."""
    from workflows.services.reporting import kpi_tables

    report = kpi_tables(app, period, kpi_scope(app, principal, partnership))
    as_of = report.as_of if report.as_of.tzinfo else report.as_of.replace(tzinfo=UTC)  # reports: naive UTC
    return KpiOut(period=report.period, scope=report.scope, as_of=as_of, kpis=report.headline(),
                  tables=[KpiTableOut(name=t.name, title=t.title, columns=list(t.columns),
                                      rows=[list(r) for r in t.rows]) for t in report.tables.values()])


def kpi_scope(app: App, principal: Principal, partnership: str | None) -> str | None:
    """The partnership whose KPIs the principal reads (None: the programme); refused (audited) for a
    role that reads no KPIs, or another partnership's code from a partnership user."""
    require_role(app, None, principal, KPI_ROLES, "read the KPIs")
    if principal.role in PARTNERSHIP_ROLES:
        own = _partnership_code(app, principal.partnership_id)
        if partnership not in (None, own):
            refuse(app, None, principal, f"{principal.username} reads the KPIs of partnership {own} only")
        return own
    return partnership


def _partnership_code(app: App, partnership_id: int | None) -> str | None:
    from workflows.db.models import Partnership

    with app.uow() as uow:
        found = uow.session.get(Partnership, partnership_id) if partnership_id else None
        return found.code if found else None
