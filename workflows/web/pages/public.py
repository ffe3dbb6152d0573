"""The public pages of SPEC §13, for anyone, signed in or not: `/calls` (the calls open now or coming),
`/calls/{code}` (one call: its windows, formats, events, partnerships and rules in words; a signed-in
applicant also gets the link to apply) and `/offers` (the published host offers, with a filter form of
GET parameters and pages; a wrong filter is shown beside its field, 422). Over the same use cases as
`GET /api/calls`, `/api/calls/{code}` and `/api/offers` (workflows/services/public_calls.py)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from workflows.web.deps import get_app
from workflows.web.pages.common import render, session_principal
from workflows.web.pages.work_common import url_with

router = APIRouter(include_in_schema=False)
FILTERS = ("country", "sector", "format", "call", "date_from", "date_to", "page_size")


@router.get("/calls", response_class=HTMLResponse)
def calls(request: Request) -> Response:
    from workflows.services.public_calls import apply_link, public_calls

    principal = session_principal(request)
    found = public_calls(get_app(request))
    return render(request, "public_calls.html", principal, nav_active="calls", calls=found,
                  apply_urls={c.code: apply_link(principal, c) for c in found})


@router.get("/calls/{code}", response_class=HTMLResponse)
def call(request: Request, code: Annotated[str, Path(max_length=40)]) -> Response:
    from workflows.services.public_calls import apply_link, public_call

    principal = session_principal(request)
    found = public_call(get_app(request), code)
    return render(request, "public_call.html", principal, nav_active="calls", call=found,
                  apply_url=apply_link(principal, found))


@router.get("/offers", response_class=HTMLResponse)
def offers(request: Request) -> Response:
    from workflows.services.public_calls import OfferFilter, offer_choices, public_offers

    given = {name: request.query_params.get(name, "").strip()[:100] for name in (*FILTERS, "page")}
    shown = {name: given[name] for name in FILTERS}
    choices: dict[str, Any] = offer_choices()
    try:
        filters = OfferFilter.model_validate({k: v for k, v in given.items() if v})
    except ValidationError as err:
        errors = {str(e["loc"][0]) if e["loc"] else "": str(e["msg"]).removeprefix("Value error, ")
                  for e in err.errors()}
        return render(request, "public_offers.html", session_principal(request), status_code=422,
                      nav_active="offers", found=None, filters=shown, errors=errors, page=1, last_page=1,
                      url=lambda **changes: url_with("/offers", shown, **changes), **choices)
    found = public_offers(get_app(request), filters)
    return render(request, "public_offers.html", session_principal(request), nav_active="offers", found=found,
                  filters=shown, errors={}, page=filters.page,
                  last_page=max(1, -(-found.total // filters.page_size)),
                  url=lambda **changes: url_with("/offers", shown, **changes), **choices)
