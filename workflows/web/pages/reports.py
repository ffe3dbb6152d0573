"""The KPI dashboard (`/reports`): the month's headline figures, its KPI tables and static SVG charts
(reports.charts: Vega-Lite rendered server-side, no script, no style attribute — inline under the CSP).

The KPI report, the publication extract and the FSTP report are downloaded as files from here
(workflows/web/pages/report_files.py, `services.report_files`)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from workflows.services import NotFound, Refused, ServiceError
from workflows.web.deps import get_app
from workflows.web.pages.common import PagePrincipal, render

router = APIRouter(include_in_schema=False)

# the dashboard's charts: KPI table → (category column, value column, colour column)
CHARTS: dict[str, tuple[str, str, str | None]] = {
    "exchanges_by_status": ("status", "exchanges", None),
    "exchanges_by_partnership": ("partnership", "exchanges", "status"),
    "stage_durations": ("stage", "median_days", None),
    "working_days": ("working_days", "exchanges", None),
    "overdue_tasks": ("task", "overdue", "partnership"),
}
HEADLINE_TABLES = ("exchanges_by_status", "budget", "time_to_pay_summary", "region_pairs_summary")
TABLE_ROWS = 50


def _budget_chart(table: Any) -> str | None:
    """The budget table as one stacked bar per call: paid, committed (not yet paid), remaining — the
    three parts of the budget (reports.kpi counts a paid claim as paid, no longer as committed)."""
    from reports.charts import bar_chart_svg

    if not table.rows:
        return None
    rows = []
    for call, _budget, committed, paid, remaining in table.rows:
        rows += [(call, "paid", paid), (call, "committed, not paid", committed),
                 (call, "remaining", remaining)]
    return bar_chart_svg("Each call's budget (EUR)", ("call", "part", "eur"), rows, "call", "eur", "part")


def _charts(tables: list[Any], scope: str) -> list[dict[str, str]]:
    from reports.charts import bar_chart_svg

    found = []
    by_name = {t.name: t for t in tables}
    if "budget" in by_name and (svg := _budget_chart(by_name["budget"])):
        found.append({"name": "budget", "title": "Each call's budget (EUR)", "svg": svg})
    for name, (x, value, colour) in CHARTS.items():
        table = by_name.get(name)
        if table is None or not table.rows or (name == "exchanges_by_partnership" and scope != "programme"):
            continue
        found.append({"name": name, "title": table.title,
                      "svg": bar_chart_svg(table.title, table.columns, table.rows, x, value, colour)})
    return found


def _field_of(err: ServiceError) -> tuple[str, str]:
    """(form field, sentence) of a refused period or partnership (the use case names its option)."""
    text = str(err)
    for name in ("period", "partnership"):
        if text.startswith(f"--{name}: "):
            return name, text.removeprefix(f"--{name}: ")
    return "", text


@router.get("/reports", response_class=HTMLResponse)
def dashboard(request: Request, principal: PagePrincipal,
              period: Annotated[str, Query(max_length=7)] = "",
              partnership: Annotated[str, Query(max_length=40)] = "") -> Response:
    """The KPIs of `period` (YYYY-MM; default the month just ended) for the principal's scope; an
    auditor or administrator may pick one partnership."""
    from workflows.services.oversight import kpis

    context: dict[str, Any] = {"nav_active": "reports", "period": period, "partnership": partnership,
                               "picks_partnership": principal.role in ("auditor", "administrator")}
    try:
        report = kpis(get_app(request), principal, period.strip() or None, partnership.strip() or None)
    except Refused:
        raise
    except (NotFound, ServiceError) as err:
        field, message = _field_of(err)
        return render(request, "reports.html", principal, status_code=422, report=None,
                      errors={field: message}, **context)
    from workflows.services.report_files import report_choices

    finance_reports, call_codes, years = report_choices(get_app(request), principal)
    context.update(finance_reports=finance_reports, call_codes=call_codes, years=years)
    tables = {t.name: t for t in report.tables}
    choices = [str(r[0]) for r in tables["exchanges_by_partnership"].rows] if "exchanges_by_partnership" in tables else []
    return render(request, "reports.html", principal, report=report, errors={}, tables=tables,
                  headline_tables=HEADLINE_TABLES, table_rows=TABLE_ROWS,
                  charts=_charts(report.tables, report.scope),
                  partnership_choices=sorted(set(choices) | ({partnership} if partnership else set())),
                  **{**context, "period": period or report.period})
