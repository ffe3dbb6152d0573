"""Registration without sign-in (SPEC §13): `/register` (the organisation and its first user; the city
is picked from the list of the chosen country, which "List the cities" fills by reloading the form on
the server — no script needed; each wrong field shown beside it, nothing written), and `/verify?token=`
(the emailed link: verifies the address once and says what happens next)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from workflows.services import Invalid, Throttled
from workflows.web.deps import get_app
from workflows.web.pages.common import render

router = APIRouter(include_in_schema=False)
TEXTS = ("legal_name", "legal_id", "org_type", "country", "subdivision", "city_id", "contact_email", "partnership",
         "name", "email", "username")


def _page(request: Request, values: dict[str, Any], errors: dict[str, str], status_code: int = 200,
          **context: Any) -> Response:
    from workflows.services.places import cities, countries, subdivisions
    from workflows.services.registrations import partnerships

    country = str(values.get("country") or "").upper()
    return render(request, "register.html", None, status_code=status_code, form=values, errors=errors,
                  countries=countries(), cities=cities(country) if country else [],
                  subdivisions=subdivisions(country) if country else [],
                  partnerships=partnerships(get_app(request)),
                  min_password=get_app(request).settings.min_password_length,
                  org_types=(("cluster_organisation", "Cluster organisation"), ("sme", "SME"),
                             ("scaleup_support_organisation", "Scale-up support organisation")), **context)


@router.get("/register", response_class=HTMLResponse)
def register_form(request: Request, country: str = "") -> Response:
    return _page(request, {"country": country[:2].upper(), "org_type": "cluster_organisation"}, {})


def _posted(posted: Any) -> dict[str, Any]:
    data: dict[str, Any] = {name: str(posted.get(name) or "").strip() for name in TEXTS}
    data["sectors"] = [part.strip() for part in str(posted.get("sectors") or "").split(",") if part.strip()]
    data["cluster_member"] = posted.get("cluster_member") == "yes"
    data["password"] = str(posted.get("password") or "")
    data["city_id"] = data["city_id"] or "0"
    return data


@router.post("/register", response_class=HTMLResponse)
async def register(request: Request) -> Response:
    from workflows.services.registrations import parse
    from workflows.services.registrations import register as register_organisation

    posted = await request.form()
    data = _posted(posted)
    shown = {**{k: v for k, v in data.items() if k != "password"}, "sectors": ", ".join(data["sectors"])}
    if posted.get("action") == "cities":  # only list the chosen country's cities and subdivisions
        return await run_in_threadpool(_page, request, {**shown, "city_id": ""}, {})
    client = request.client.host if request.client else "unknown"
    try:
        cxp = get_app(request)
        out = await run_in_threadpool(lambda: register_organisation(cxp, parse(cxp, data), client))
    except Invalid as err:
        errors = {f.field: f.msg for f in err.fields} or {"": str(err)}
        return await run_in_threadpool(_page, request, shown, errors, 422)
    except Throttled as err:
        answer = await run_in_threadpool(_page, request, shown, {"": str(err)}, 429)
        answer.headers["Retry-After"] = str(err.retry_after)
        return answer
    return render(request, "register_sent.html", None, status_code=201, out=out, contact=data["contact_email"])


@router.get("/verify", response_class=HTMLResponse)
def verify(request: Request, token: str = "") -> Response:
    from workflows.services.registrations import verify as verify_address

    try:
        out = verify_address(get_app(request), token[:200])
    except Invalid as err:
        message = err.fields[0].msg if err.fields else str(err)
        return render(request, "verify.html", None, status_code=422, error=message, out=None)
    return render(request, "verify.html", None, out=out, error=None)
