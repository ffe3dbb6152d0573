"""The forms of the exchange page that act on a running exchange, over the same use cases as
`cxp exchange …` and the API: cancel it, ask for an extension, decide one; and the incidents page
(`/incidents`) with its retry. A wrong field re-renders the exchange page with the sentence next to
it (422, nothing written); a refusal is the error page saying why (403, audited)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from workflows.services import Conflict, Invalid, ServiceError
from workflows.services.workspace_inputs import CancelIn, ExtensionDecisionIn, ExtensionIn
from workflows.web.deps import get_app
from workflows.web.pages.common import PagePrincipal, flash, render
from workflows.web.pages.work_common import back_to

router = APIRouter(include_in_schema=False)


def _errors(err: ValidationError | ServiceError) -> dict[str, str]:
    """field → sentence ("" for the form as a whole)."""
    if isinstance(err, ValidationError):
        return {str(e["loc"][0]) if e["loc"] else "": e["msg"].removeprefix("Value error, ")
                for e in err.errors(include_url=False)}
    fields = getattr(err, "fields", None) or []
    return {str(f.loc[0]) if f.loc else "": f.msg for f in fields} or {"": str(err)}


async def _act(request: Request, principal: Any, ref: str, form: str, model: type[BaseModel],
               run: Any, done: str) -> Response:
    from workflows.web.pages.exchanges import exchange_page_with

    posted = {k: v for k, v in (await request.form()).items() if isinstance(v, str) and k != "csrf_token"}
    if form == "decision":
        posted["approve"] = str(posted.get("approve") == "approve" if "approve" in posted else "")
    try:
        data = model.model_validate(posted)
        said = run(data)
        done = said if isinstance(said, str) else done
    except (ValidationError, Invalid) as err:
        return exchange_page_with(request, principal, ref, 422, action_form=form, action_errors=_errors(err), action_values=posted)
    except Conflict as err:
        return exchange_page_with(request, principal, ref, 409, action_form=form, action_errors={"": str(err)},
                     action_values=posted)
    except ServiceError as err:
        if type(err) is not ServiceError:
            raise  # not found, refused: the error page says why
        return exchange_page_with(request, principal, ref, 422, action_form=form, action_errors={"": str(err)},
                     action_values=posted)
    flash(request, "success", done)
    return RedirectResponse(f"/exchanges/{ref}", status_code=303)


@router.post("/exchanges/{ref}/cancel", response_class=HTMLResponse)
async def cancel(request: Request, ref: str, principal: PagePrincipal) -> Response:
    from workflows.services.exchanges import cancel_exchange

    def run(data: Any) -> str:
        out = cancel_exchange(get_app(request), ref, principal, data.reason)
        if out.action == "discontinued":
            return f"{out.exchange}: the visit is discontinued; the closing report is still asked for."
        return f"{out.exchange} is cancelled; its open tasks and budget commitment are released."

    return await _act(request, principal, ref, "cancel", CancelIn, run, "The cancellation is recorded.")


@router.post("/exchanges/{ref}/extension", response_class=HTMLResponse)
async def extension(request: Request, ref: str, principal: PagePrincipal) -> Response:
    from workflows.services.exchanges import request_extension

    return await _act(request, principal, ref, "extension", ExtensionIn,
                      lambda d: request_extension(get_app(request), ref, principal, d.departure, d.reason),
                      "The extension is requested: the host is asked to consent, then an officer decides.")


@router.post("/exchanges/{ref}/extension/decision", response_class=HTMLResponse)
async def decide(request: Request, ref: str, principal: PagePrincipal) -> Response:
    from workflows.services.exchanges import decide_extension

    return await _act(request, principal, ref, "decision", ExtensionDecisionIn,
                      lambda d: decide_extension(get_app(request), ref, principal, d.approve, d.comment),
                      "The decision on the extension is recorded.")


@router.get("/incidents", response_class=HTMLResponse)
def incidents(request: Request, principal: PagePrincipal) -> Response:
    """The open incidents the principal sees, each with its failed step, error and a Retry button."""
    from workflows.services.incidents import list_incidents

    return render(request, "incidents.html", principal, nav_active="incidents",
                  incidents=list_incidents(get_app(request), principal))


@router.post("/incidents/{instance_id}/retry", response_class=HTMLResponse)
def retry(request: Request, instance_id: int, principal: PagePrincipal,
          next: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Retry the failed step; the incidents page then says whether it went through."""
    from workflows.services.incidents import retry as retry_step

    out = retry_step(get_app(request), instance_id, principal)
    if out.incident:
        flash(request, "error", f"The step {out.incident.get('task') or ''} failed again: {out.incident.get('error')}")
    else:
        flash(request, "success", f"The failed step of process {instance_id} went through; it is {out.status} now.")
    return back_to(request, next or None, "/incidents")
