"""Auditor pages (`/audit`): the audit sample (size and seed), the hash chains' verification, and an
exchange's audit file as a ZIP download."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from workflows.services import NotFound
from workflows.services.access import Principal
from workflows.web.deps import get_app
from workflows.web.pages.common import PagePrincipal, render

router = APIRouter(include_in_schema=False)

MAX_SAMPLE = 500
Size = Annotated[int, Query(ge=0, le=MAX_SAMPLE)]
Seed = Annotated[int, Query(ge=0, le=2**31 - 1)]


def _picks(request: Request, principal: Principal, size: int, seed: int) -> dict[str, Any]:
    """The sample, each pick with its exchange's status and instance (for the links)."""
    from workflows.services.exchange_search import exchange_detail
    from workflows.services.oversight import audit_sample

    cxp = get_app(request)
    drawn = audit_sample(cxp, principal, size, seed)
    rows = []
    for pick in drawn.sample:
        try:
            exchange = exchange_detail(cxp, principal, pick.exchange)
        except NotFound:  # pragma: no cover - the sample draws from the exchanges an auditor reads
            exchange = None
        rows.append({"exchange": pick.exchange, "reasons": pick.reasons, "detail": exchange})
    return {"sample": drawn, "picks": rows}


def _audit_page(request: Request, principal: Principal, size: int, seed: int,
                verification: Any = None) -> Response:
    return render(request, "audit.html", principal, nav_active="audit", size=size, seed=seed,
                  verification=verification, max_sample=MAX_SAMPLE, **_picks(request, principal, size, seed))


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, principal: PagePrincipal, size: Size = 10, seed: Seed = 1) -> Response:
    """The audit sample drawn from `seed` (reproducible), every risk-flagged exchange with it."""
    return _audit_page(request, principal, size, seed)


@router.post("/audit/verify", response_class=HTMLResponse)
def verify(request: Request, principal: PagePrincipal, size: Size = 10, seed: Seed = 1) -> Response:
    """Recompute the hash chains and check the anchors (a passing check may write an anchor: a POST)."""
    from workflows.services.oversight import verify_audit

    result = verify_audit(get_app(request), principal)
    return _audit_page(request, principal, size, seed, verification=result)


@router.get("/audit/exchanges/{ref}/audit-file.zip")
def export(request: Request, principal: PagePrincipal, ref: str) -> Response:
    """The exchange's audit file (events with the chain check, diagram, summary) as a ZIP."""
    from workflows.services.oversight import audit_file

    name, content = audit_file(get_app(request), principal, ref)
    return Response(content, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@router.get("/audit/export")
def export_by_reference(request: Request, principal: PagePrincipal,
                        ref: Annotated[str, Query(min_length=1, max_length=40)]) -> Response:
    """The export form's target: the audit file of the exchange typed in."""
    return export(request, principal, ref.strip())
