"""The applicant's pages (SPEC §13): `/my` (organisation, applications, exchanges with their timelines and
decisions, tasks, requests), `/my/applications/new` (the application form: each wrong field shown beside
it, nothing written), `/my/applications/{id}` (its eligibility in words, suggested matches and the
preferred offers, submit or withdraw). The use cases decide who may act; a refusal is the 403 page."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from workflows.services import Invalid, ServiceError
from workflows.services.access import Principal
from workflows.web.deps import get_app
from workflows.web.pages.common import PagePrincipal, flash, render

router = APIRouter(include_in_schema=False)
LISTS = ("sectors", "wished_countries", "topics", "activities_offered")
TEXTS = ("call", "role", "format", "date_from", "date_to", "motivation", "capacity")


@router.get("/my", response_class=HTMLResponse)
def my(request: Request, principal: PagePrincipal) -> Response:
    from workflows.services.my_pages import my_page

    return render(request, "my.html", principal, nav_active="my", d=my_page(get_app(request), principal))


@router.get("/my/act")
def act(request: Request, principal: PagePrincipal,
        subject: Annotated[str, Query(max_length=40)], task: Annotated[str | None, Query(max_length=80)] = None) -> Response:
    """An email's link: the task it announces when it waits for the signed-in person, else the subject's
    page (`my_pages.where_to_act`). Signed out, the sign-in page comes first and then this."""
    from workflows.services.my_pages import where_to_act

    return RedirectResponse(where_to_act(get_app(request), principal, subject, task), status_code=303)


def _form_page(request: Request, principal: Principal, values: dict[str, Any], errors: dict[str, str],
               status_code: int = 200) -> Response:
    from workflows.services.applications import open_calls

    return render(request, "my_application_new.html", principal, status_code=status_code, nav_active="my",
                  form=values, errors=errors, calls=open_calls(get_app(request)),
                  formats=("exchange_visit", "conference_fair", "individual_exchange"))


@router.get("/my/applications/new", response_class=HTMLResponse)
def new(request: Request, principal: PagePrincipal, role: str = "visitor",
        call: Annotated[str, Query(max_length=40)] = "") -> Response:
    """The form, for the call chosen on its public page (`?call=CODE`: preselected when it takes
    applications) and the role (`?role=host` for a host offer)."""
    return _form_page(request, principal, {"role": "host" if role == "host" else "visitor", "format": "exchange_visit",
                                           "capacity": "1", "call": call.strip()}, {})


def _posted(posted: Any) -> dict[str, Any]:
    """The form's values as the model takes them: lists from comma-separated text, ticks as booleans."""
    data: dict[str, Any] = {name: str(posted.get(name) or "").strip() for name in TEXTS}
    for name in LISTS:
        data[name] = [part.strip() for part in str(posted.get(name) or "").split(",") if part.strip()]
    data["declaration_given"] = posted.get("declaration_given") == "yes"
    data["audit_rights_accepted"] = posted.get("audit_rights_accepted") == "yes"
    data["submit"] = posted.get("action") != "draft"
    data["capacity"] = data["capacity"] or "0"
    return data


def _shown(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, **{name: ", ".join(data.get(name) or []) for name in LISTS}}


@router.post("/my/applications/new", response_class=HTMLResponse)
async def create(request: Request, principal: PagePrincipal) -> Response:
    from workflows.services.applications import create_application, parse_form

    cxp = get_app(request)
    data = _posted(await request.form())
    try:
        out = await run_in_threadpool(lambda: create_application(cxp, principal, parse_form(data)))
    except Invalid as err:
        errors = {f.field: f.msg for f in err.fields} or {"": str(err)}
        return await run_in_threadpool(_form_page, request, principal, _shown(data), errors, 422)
    flash(request, "success", f"Application {out.id} is saved as a draft." if out.status == "draft"
          else f"Application {out.id} is submitted.")
    return RedirectResponse(f"/my/applications/{out.id}", status_code=303)


def _application_page(request: Request, principal: Principal, application_id: int, status_code: int = 200,
                      **context: Any) -> Response:
    from workflows.services.applications import get_application
    from workflows.services.suggestions import suggested_offers

    cxp = get_app(request)
    out = get_application(cxp, principal, application_id)
    offers = suggested_offers(cxp, principal, application_id) if out.role == "visitor" else []
    return render(request, "my_application.html", principal, status_code=status_code, nav_active="my", a=out,
                  offers=offers, **context)


@router.get("/my/applications/{application_id}", response_class=HTMLResponse)
def application(request: Request, principal: PagePrincipal, application_id: int) -> Response:
    return _application_page(request, principal, application_id)


@router.post("/my/applications/{application_id}/preferences", response_class=HTMLResponse)
async def preferences(request: Request, principal: PagePrincipal, application_id: int) -> Response:
    from workflows.services.suggestions import set_preferences

    posted = await request.form()
    try:
        offers = [int(str(v)) for v in posted.getlist("offers")]
        await run_in_threadpool(set_preferences, get_app(request), principal, application_id, offers)
    except (ValueError, ServiceError) as err:
        message = "; ".join(f.msg for f in err.fields) if isinstance(err, Invalid) and err.fields else str(err)
        return await run_in_threadpool(_application_page, request, principal, application_id, 422,
                                       preferences_error=message)
    flash(request, "success", "Your preferred offers are saved: the matching round gives each a bonus.")
    return RedirectResponse(f"/my/applications/{application_id}", status_code=303)


@router.post("/my/applications/{application_id}/submit", response_class=HTMLResponse)
async def submit(request: Request, principal: PagePrincipal, application_id: int) -> Response:
    from workflows.services.applications import submit_draft

    try:
        await run_in_threadpool(submit_draft, get_app(request), principal, application_id)
    except Invalid as err:
        return await run_in_threadpool(_application_page, request, principal, application_id, 422,
                                       submit_errors=[f"{f.field.replace('_', ' ')}: {f.msg}" for f in err.fields]
                                       or [str(err)])
    flash(request, "success", f"Application {application_id} is submitted.")
    return RedirectResponse(f"/my/applications/{application_id}", status_code=303)


@router.post("/my/applications/{application_id}/withdraw", response_class=HTMLResponse)
async def withdraw(request: Request, principal: PagePrincipal, application_id: int) -> Response:
    from workflows.services.applications import withdraw_application

    posted = await request.form()
    await run_in_threadpool(withdraw_application, get_app(request), principal, application_id,
                            str(posted.get("reason") or "")[:500])
    flash(request, "success", f"Application {application_id} is withdrawn.")
    return RedirectResponse("/my", status_code=303)


@router.post("/my/exchanges/{ref}/request", response_class=HTMLResponse)
async def exchange_request(request: Request, principal: PagePrincipal, ref: str) -> Response:
    """Cancel the exchange (discontinue the visit) or ask for an extension, as `cxp exchange cancel|extend`."""
    from workflows.services.exchanges import cancel_exchange, request_extension

    cxp = get_app(request)
    posted = await request.form()
    reason = str(posted.get("reason") or "")[:500]
    if posted.get("action") == "extend":
        try:
            departure = date.fromisoformat(str(posted.get("departure") or ""))
        except ValueError:
            raise Invalid.field("departure", "give the new last day as a date") from None
        await run_in_threadpool(request_extension, cxp, ref, principal, departure, reason)
        flash(request, "success", f"{ref}: the extension is asked for; the host consents and an officer decides.")
    else:
        await run_in_threadpool(cancel_exchange, cxp, ref, principal, reason)
        flash(request, "success", f"{ref}: the cancellation is sent.")
    return RedirectResponse("/my", status_code=303)
