"""What an administrator does to a call from its page: publish the draft, change the budget with a
reason (the waiting grants that now fit are approved at once), close the call early with a reason.
A problem is shown beside its field on the call's page (422); a done action is said after a redirect."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from workflows.services import Conflict, Invalid
from workflows.services.call_inputs import MAX_REASON
from workflows.web.deps import get_app
from workflows.web.pages.admin_calls import call_page
from workflows.web.pages.common import PagePrincipal, flash

router = APIRouter(include_in_schema=False)
Reason = Annotated[str, Form(max_length=MAX_REASON)]


@router.post("/admin/calls/{code}/publish", response_class=HTMLResponse)
def publish(request: Request, principal: PagePrincipal, code: str, reason: Reason = "") -> Response:
    from workflows.services.call_admin import publish_call

    try:
        out = publish_call(get_app(request), principal, code, reason or None)
    except Invalid as err:
        flash(request, "error", f"The call was not published: {err}")
        return RedirectResponse(f"/admin/calls/{code}#edit", status_code=303)
    except Conflict as err:
        flash(request, "error", str(err))
        return RedirectResponse(f"/admin/calls/{code}", status_code=303)
    flash(request, "success", f"Call {out.call.code} is published: its process started and the officers are "
                              "emailed. Its windows, formats, rule set and events no longer change.")
    return RedirectResponse(f"/admin/calls/{code}", status_code=303)


@router.post("/admin/calls/{code}/budget", response_class=HTMLResponse)
def budget(request: Request, principal: PagePrincipal, code: str, budget: Annotated[str, Form(max_length=40)] = "",
           reason: Reason = "") -> Response:
    from workflows.services.calls import change_budget

    try:
        out = change_budget(get_app(request), code, principal, budget, reason)
    except Invalid as err:
        errors = {f"budget_{f.loc[0]}": f.msg for f in err.fields}
        return call_page(request, principal, code, 422, budget_errors=errors,
                         budget_form={"budget": budget, "reason": reason})
    approved = (f" {len(out.approved)} waiting grant(s) approved: {', '.join(out.approved)}." if out.approved
                else "")
    flash(request, "success", f"The budget of {code} is EUR {out.budget:,.2f} (was EUR {out.budget_before:,.2f})."
          + approved)
    return RedirectResponse(f"/admin/calls/{code}#budget", status_code=303)


@router.post("/admin/calls/{code}/close", response_class=HTMLResponse)
def close(request: Request, principal: PagePrincipal, code: str, reason: Reason = "") -> Response:
    from workflows.services.call_admin import close_call

    try:
        out = close_call(get_app(request), principal, code, reason)
    except Invalid as err:
        return call_page(request, principal, code, 422, close_error=err.fields[0].msg if err.fields else str(err))
    except Conflict as err:
        flash(request, "error", str(err))
        return RedirectResponse(f"/admin/calls/{code}", status_code=303)
    flash(request, "success", f"Call {code} is closed: {len(out.ended)} application(s) ended with it, "
                              f"{len(out.continuing)} exchange(s) go on.")
    return RedirectResponse(f"/admin/calls/{code}", status_code=303)
