"""Calls in the workspace (SPEC §14): `/admin/calls` (every call with its budget), `/admin/calls/new`
(a draft: each wrong field shown beside it, nothing written), `/admin/calls/{code}` (its values, the
draft's form, publishing, the budget with the grants waiting for it, closing early, its history). The
use cases decide who may act; a refusal is the 403 page."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from workflows.services import Invalid
from workflows.services.access import Principal
from workflows.web.deps import get_app
from workflows.web.pages.call_form import OPTIONS, errors_by_field, parsed, shown
from workflows.web.pages.common import PagePrincipal, flash, render

router = APIRouter(include_in_schema=False)


def _choices(request: Request, principal: Principal) -> dict[str, Any]:
    from workflows.services.call_views import call_form_choices

    choices = call_form_choices(get_app(request), principal)
    return {"partnership_codes": choices.partnerships, "rule_set_versions": choices.rule_set_versions, **OPTIONS}


@router.get("/admin/calls", response_class=HTMLResponse)
def calls(request: Request, principal: PagePrincipal) -> Response:
    from workflows.services.call_views import list_calls

    return render(request, "admin_calls.html", principal, nav_active="admin", rows=list_calls(get_app(request), principal))


def _new_page(request: Request, principal: Principal, values: dict[str, Any], errors: dict[str, str],
              status_code: int = 200) -> Response:
    return render(request, "admin_call_new.html", principal, status_code=status_code, nav_active="admin",
                  form=values, errors=errors, **_choices(request, principal))


@router.get("/admin/calls/new", response_class=HTMLResponse)
def new(request: Request, principal: PagePrincipal) -> Response:
    return _new_page(request, principal, shown({"formats": ["exchange_visit"], "rule_set_version": "2026.1"}), {})


@router.post("/admin/calls/new", response_class=HTMLResponse)
async def create(request: Request, principal: PagePrincipal) -> Response:
    from workflows.services.call_admin import create_call

    cxp = get_app(request)
    posted = await request.form()
    data = parsed(posted, cxp.settings.timezone)
    if posted.get("action") == "add_row":
        return await run_in_threadpool(_new_page, request, principal, shown(data, extra_rows=3), {})
    try:
        out = await run_in_threadpool(create_call, cxp, principal, data)
    except Invalid as err:
        return await run_in_threadpool(_new_page, request, principal, shown(data, extra_rows=1),
                                       errors_by_field(err.fields, data) or {"": str(err)}, 422)
    flash(request, "success", f"Call {out.call.code} is saved as a draft. Check it, then publish it.")
    return RedirectResponse(f"/admin/calls/{out.call.code}", status_code=303)


def call_page(request: Request, principal: Principal, code: str, status_code: int = 200, **context: Any) -> Response:
    """The call's page; `context` may carry a form's values and errors (`form`, `errors`, `budget_form`…)."""
    from workflows.services.call_views import call_detail

    detail = call_detail(get_app(request), principal, code)
    choices = _choices(request, principal) if detail.call.editable and detail.may_change else {}
    values = context.pop("form", None) or shown(detail.call.model_dump() | {
        "partnerships": detail.call.partnerships[1:]}, extra_rows=1)
    return render(request, "admin_call.html", principal, status_code=status_code, nav_active="admin", d=detail,
                  form=values, errors=context.pop("errors", {}), **choices, **context)


@router.get("/admin/calls/{code}", response_class=HTMLResponse)
def call(request: Request, principal: PagePrincipal, code: str) -> Response:
    return call_page(request, principal, code)


@router.post("/admin/calls/{code}", response_class=HTMLResponse)
async def change(request: Request, principal: PagePrincipal, code: str) -> Response:
    """Save the draft's form; each wrong field is shown beside it (422), nothing written."""
    from workflows.services.call_admin import update_call

    cxp = get_app(request)
    posted = await request.form()
    data = parsed(posted, cxp.settings.timezone, with_code=False)
    if posted.get("action") == "add_row":
        return await run_in_threadpool(call_page, request, principal, code, form=shown(data, extra_rows=2))
    try:
        await run_in_threadpool(update_call, cxp, principal, code, data)
    except Invalid as err:
        return await run_in_threadpool(call_page, request, principal, code, 422, form=shown(data, extra_rows=1),
                                       errors=errors_by_field(err.fields, data) or {"": str(err)})
    flash(request, "success", f"The draft {code} is saved.")
    return RedirectResponse(f"/admin/calls/{code}", status_code=303)
