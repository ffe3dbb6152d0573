"""Rule sets, partnerships and organisations in the workspace (SPEC §14): `/admin/rule-sets` (every
version side by side, two compared with their differences marked, a new version from a file),
`/admin/partnerships` (create, edit with the debtor account checked) and `/admin/organisations`
(search, deactivate or activate with a reason). Each problem is shown beside its field (422)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from workflows.services import Conflict, Invalid
from workflows.services.access import Principal
from workflows.services.call_inputs import MAX_REASON
from workflows.services.rule_sets import MAX_RULE_SET_BYTES
from workflows.web.deps import PLAIN_TEXT, get_app
from workflows.web.pages.common import PagePrincipal, flash, render

router = APIRouter(include_in_schema=False)
PARTNERSHIP_FIELDS = ("code", "name", "country", "debtor_name", "debtor_iban", "debtor_bic")


def _rule_sets_page(request: Request, principal: Principal, compare: list[str] | None = None,
                    errors: list[str] | None = None, note: str = "", status_code: int = 200) -> Response:
    from workflows.services.rule_sets import list_rule_sets

    out = list_rule_sets(get_app(request), principal, compare)
    return render(request, "admin_rule_sets.html", principal, status_code=status_code, nav_active="admin", r=out,
                  errors=errors or [], note=note, chosen=compare or [])


@router.get("/admin/rule-sets", response_class=HTMLResponse)
def rule_sets(request: Request, principal: PagePrincipal,
              compare: Annotated[list[Annotated[str, Query(max_length=40, pattern=PLAIN_TEXT)]] | None,
                                 Query(max_length=10)] = None) -> Response:
    return _rule_sets_page(request, principal, [c for c in compare or [] if c])


@router.post("/admin/rule-sets", response_class=HTMLResponse)
def add_rule_set(request: Request, principal: PagePrincipal, file: Annotated[UploadFile | None, File()] = None,
                 note: Annotated[str, Form(max_length=MAX_REASON)] = "") -> Response:
    from workflows.services.rule_sets import add_rule_set as add

    data = file.file.read(MAX_RULE_SET_BYTES + 1) if file is not None else b""
    if not data:
        return _rule_sets_page(request, principal, errors=["Choose the JSON file of the new rule set."], note=note,
                               status_code=422)
    try:
        out = add(get_app(request), principal, data, note or None)
    except (Invalid, Conflict) as err:
        fields = getattr(err, "fields", None) or []
        messages = [f"{f.field}: {f.msg}" for f in fields] or [str(err)]
        return _rule_sets_page(request, principal, errors=messages, note=note,
                               status_code=409 if isinstance(err, Conflict) else 422)
    v = out.version.version
    flash(request, "success", f"Rule set {v} is stored." if out.created else
          f"These values are stored already, as rule set {v}: nothing new was stored.")
    return RedirectResponse(f"/admin/rule-sets?compare={v}", status_code=303)


def _partnerships_page(request: Request, principal: Principal, values: dict[str, Any] | None = None,
                       errors: dict[str, str] | None = None, editing: str | None = None,
                       status_code: int = 200) -> Response:
    from workflows.services.partnerships import list_partnerships

    rows = list_partnerships(get_app(request), principal)
    if editing and values is None:
        current = next((p for p in rows if p.code == editing), None)
        values = {f: getattr(current, f) or "" for f in PARTNERSHIP_FIELDS} if current else None
    return render(request, "admin_partnerships.html", principal, status_code=status_code, nav_active="admin",
                  rows=rows, values=values or dict.fromkeys(PARTNERSHIP_FIELDS, ""), errors=errors or {},
                  editing=editing)


@router.get("/admin/partnerships", response_class=HTMLResponse)
def partnerships(request: Request, principal: PagePrincipal,
                 edit: Annotated[str | None, Query(max_length=40, pattern=PLAIN_TEXT)] = None) -> Response:
    return _partnerships_page(request, principal, editing=edit)


@router.post("/admin/partnerships", response_class=HTMLResponse)
async def save_partnership(request: Request, principal: PagePrincipal) -> Response:
    """Create a partnership, or (`editing`) change one; each wrong field is shown beside it."""
    from starlette.concurrency import run_in_threadpool

    from workflows.services.partnerships import create_partnership, update_partnership

    posted = await request.form()
    values = {f: str(posted.get(f) or "").strip() for f in PARTNERSHIP_FIELDS}
    editing = str(posted.get("editing") or "").strip() or None
    data: dict[str, Any] = {k: (v or None) if k == "debtor_bic" else v for k, v in values.items()}
    try:
        if editing:
            data.pop("code")
            out = await run_in_threadpool(update_partnership, get_app(request), principal, editing, data)
        else:
            out = await run_in_threadpool(create_partnership, get_app(request), principal, data)
    except Invalid as err:
        errors = {str(f.loc[0]): f.msg for f in err.fields} or {"": str(err)}
        return await run_in_threadpool(_partnerships_page, request, principal, values, errors, editing, 422)
    flash(request, "success", f"Partnership {out.code} is {'changed' if editing else 'created'}.")
    return RedirectResponse("/admin/partnerships", status_code=303)


@router.get("/admin/organisations", response_class=HTMLResponse)
def organisations(request: Request, principal: PagePrincipal,
                  q: Annotated[str, Query(max_length=200, pattern=PLAIN_TEXT)] = "",
                  state: Annotated[str, Query(pattern="^(all|active|inactive)$")] = "all",
                  page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    from workflows.services.partnerships import search_organisations

    found = search_organisations(get_app(request), principal, q, None, state, page, 25)
    return render(request, "admin_organisations.html", principal, nav_active="admin", found=found, q=q, state=state)


@router.post("/admin/organisations/{legal_id}/{action}", response_class=HTMLResponse)
def set_active(request: Request, principal: PagePrincipal, legal_id: str, action: str,
               reason: Annotated[str, Form(max_length=MAX_REASON)] = "",
               back: Annotated[str, Form(max_length=400)] = "/admin/organisations") -> Response:
    from workflows.services.partnerships import set_organisation_active

    target = back if back.startswith("/admin/organisations") else "/admin/organisations"
    if action not in ("deactivate", "activate"):
        flash(request, "error", f"There is no action '{action[:40]}' on an organisation.")
        return RedirectResponse(target, status_code=303)
    try:
        out = set_organisation_active(get_app(request), principal, legal_id, action == "activate", reason)
    except (Invalid, Conflict) as err:
        flash(request, "error", f"{legal_id} was not {action}d: {str(err).split(': ', 1)[-1]}")
    else:
        flash(request, "success", f"{out.legal_name} is {'active again' if out.active else 'deactivated'}.")
    return RedirectResponse(target, status_code=303)
