"""Reports: the KPIs of a month as JSON, and the reports as files (KPI report, publication
extract, FSTP report) as `cxp reports …` writes them."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from workflows.services.oversight import KpiOut, kpis
from workflows.web.attachments import attachment
from workflows.web.deps import PLAIN_TEXT, AppDep, PrincipalDep
from workflows.web.errors import SIGNED_IN, answers

router = APIRouter(prefix="/reports", responses=answers(*SIGNED_IN), tags=["reports"])


@router.get("/kpi", response_model=KpiOut)
def kpi(cxp: AppDep, principal: PrincipalDep,
        period: Annotated[str | None, Query(description="YYYY-MM (default: the month under way)",
                                            max_length=7, pattern=PLAIN_TEXT)] = None,
        partnership: Annotated[str | None, Query(description="a partnership's code (auditors, administrators)",
                                                 max_length=40, pattern=PLAIN_TEXT)] = None) -> KpiOut:
    """The KPIs (exchanges by status, money committed, paid and remaining, …) and their tables."""
    return kpis(cxp, principal, period, partnership)


FILE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}, "text/html": {}, "application/zip": {}, "application/vnd.openxmlformats-"
                          "officedocument.spreadsheetml.sheet": {}}, "description": "the report, as an attachment"}}


@router.get("/kpi/file", response_class=Response, responses=FILE)
def kpi_file(cxp: AppDep, principal: PrincipalDep,
             format: Annotated[Literal["html", "xlsx", "zip"], Query(description="html (with charts), xlsx, or "
                                                                     "zip (the tables as CSV)")] = "html",
             period: Annotated[str | None, Query(description="YYYY-MM (default: the month under way)",
                                                 max_length=7, pattern=PLAIN_TEXT)] = None,
             partnership: Annotated[str | None, Query(description="a partnership's code (auditors, administrators)",
                                                      max_length=40, pattern=PLAIN_TEXT)] = None) -> Response:
    """The KPI report of the month for the caller's scope, as a file."""
    from workflows.services.report_files import kpi_file as build

    found = build(cxp, principal, period, partnership, format)
    return attachment(found.content, found.filename, found.media_type)


@router.get("/publication", response_class=Response, responses=FILE)
def publication(cxp: AppDep, principal: PrincipalDep, year: Annotated[int, Query(ge=2000, le=2100)],
                format: Literal["csv", "xlsx"] = "csv") -> Response:
    """The year's ex-post publication extract (finance, auditors, administrators)."""
    from workflows.services.report_files import publication_file

    found = publication_file(cxp, principal, year, format)
    return attachment(found.content, found.filename, found.media_type)


@router.get("/fstp", response_class=Response, responses=FILE)
def fstp(cxp: AppDep, principal: PrincipalDep,
         call: Annotated[str, Query(min_length=1, max_length=40, pattern=PLAIN_TEXT, description="the call's code")],
         format: Literal["csv", "xlsx"] = "csv") -> Response:
    """The call's FSTP financial report (finance, auditors, administrators); 404 for an unknown call."""
    from workflows.services.report_files import fstp_file

    found = fstp_file(cxp, principal, call, format)
    return attachment(found.content, found.filename, found.media_type)
