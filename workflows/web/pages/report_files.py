"""The reports as downloads from the reports page (`/reports/files/…`: the KPI report, the
publication extract, the FSTP report) and the audit sample as CSV (`/audit/sample.csv`), over the
same use cases as the API; and the conflicts of interest a person declares (`/conflicts`)."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from workflows.services import Invalid
from workflows.services.downloads import Download
from workflows.services.workspace_inputs import ConflictIn
from workflows.web.attachments import attachment
from workflows.web.deps import get_app
from workflows.web.pages.common import PagePrincipal, flash, render

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Query(max_length=40)]


def _file(found: Download) -> Response:
    return attachment(found.content, found.filename, found.media_type)


@router.get("/reports/files/kpi")
def kpi(request: Request, principal: PagePrincipal, format: Literal["html", "xlsx", "zip"] = "html",
        period: Text = "", partnership: Text = "") -> Response:
    from workflows.services.report_files import kpi_file

    return _file(kpi_file(get_app(request), principal, period.strip() or None, partnership.strip() or None, format))


@router.get("/reports/files/publication")
def publication(request: Request, principal: PagePrincipal, year: Annotated[int, Query(ge=2000, le=2100)],
                format: Literal["csv", "xlsx"] = "csv") -> Response:
    from workflows.services.report_files import publication_file

    return _file(publication_file(get_app(request), principal, year, format))


@router.get("/reports/files/fstp")
def fstp(request: Request, principal: PagePrincipal, call: Annotated[str, Query(min_length=1, max_length=40)],
         format: Literal["csv", "xlsx"] = "csv") -> Response:
    from workflows.services.report_files import fstp_file

    return _file(fstp_file(get_app(request), principal, call.strip(), format))


@router.get("/audit/sample.csv")
def sample_csv(request: Request, principal: PagePrincipal, size: Annotated[int, Query(ge=0, le=500)] = 10,
               seed: Annotated[int, Query(ge=0, le=2**31 - 1)] = 1) -> Response:
    from workflows.services.report_files import audit_sample_csv

    return _file(audit_sample_csv(get_app(request), principal, size, seed))


def _conflicts_page(request: Request, principal: PagePrincipal, status_code: int = 200,
                    errors: dict[str, str] | None = None, values: dict[str, str] | None = None) -> HTMLResponse:
    from workflows.services.conflicts import DECLARERS, my_conflicts, organisation_choices

    cxp = get_app(request)
    may_declare = principal.role in DECLARERS
    return render(request, "conflicts.html", principal, status_code=status_code, nav_active="conflicts",
                  conflicts=my_conflicts(cxp, principal), may_declare=may_declare,
                  organisations=organisation_choices(cxp, principal) if may_declare else [],
                  errors=errors or {}, values=values or {})


@router.get("/conflicts", response_class=HTMLResponse)
def conflicts(request: Request, principal: PagePrincipal) -> Response:
    """The conflicts of interest the person declared, and the form to declare one."""
    return _conflicts_page(request, principal)


@router.post("/conflicts", response_class=HTMLResponse)
def declare(request: Request, principal: PagePrincipal, organisation: Annotated[str, Form(max_length=40)] = "",
            reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    from workflows.services.conflicts import declare_conflict

    values = {"organisation": organisation, "reason": reason}
    try:
        data = ConflictIn.model_validate(values)
        out = declare_conflict(get_app(request), principal, data.organisation, data.reason)
    except ValidationError as err:
        errors = {str(e["loc"][0]): ("choose one" if e["loc"][0] == "organisation" else "say why")
                  for e in err.errors(include_url=False)}
        return _conflicts_page(request, principal, 422, errors, values)
    except Invalid as err:
        return _conflicts_page(request, principal, 422, {str(f.loc[0]): f.msg for f in err.fields or []}, values)
    flash(request, "success", f"Your conflict of interest with {out.organisation} is recorded: you will not be "
                              "asked to act on its files.")
    return RedirectResponse("/conflicts", status_code=303)
