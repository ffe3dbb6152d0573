"""The public reads of SPEC §13, without credentials: `GET /api/calls` (the calls open now or coming),
`GET /api/calls/{code}` (one published call; 404 for a draft as for an unknown code) and
`GET /api/offers` (the published host offers, filtered and paged; 422 names each wrong filter). They
depend on no principal, so the sign-in gate lets them through; nothing personal is in them
(workflows/services/public_calls.py). The administration's calls are under `/api/calls` for changes
(workflows/web/api/calls.py) and `/api/admin/calls` for reads."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from workflows.services.public_calls import OfferFilter, OfferPageOut, PublicCallOut
from workflows.web.deps import AppDep
from workflows.web.errors import answers

router = APIRouter(tags=["public"])


@router.get("/calls", response_model=list[PublicCallOut])
def calls(cxp: AppDep) -> list[PublicCallOut]:
    """The calls open now or coming, first opening first: windows, formats, events, partnerships, the
    rules of their rule set (values and words) and how many host offers have a place left."""
    from workflows.services.public_calls import public_calls

    return public_calls(cxp)


@router.get("/calls/{code}", response_model=PublicCallOut, responses=answers(404))
def call(code: Annotated[str, Path(max_length=40)], cxp: AppDep) -> PublicCallOut:
    """One published call (a closed one too); 404 for a draft as for an unknown code."""
    from workflows.services.public_calls import public_call

    return public_call(cxp, code)


@router.get("/offers", response_model=OfferPageOut, responses=answers(422))
def offers(filters: Annotated[OfferFilter, Query()], cxp: AppDep) -> OfferPageOut:
    """The published host offers with a place left, earliest available first: filter by the host's
    `country`, a `sector`, a `format`, a `call`, and the days `date_from`–`date_to` an offer must overlap;
    `page`, `page_size` (at most 100) and the `total` on every page."""
    from workflows.services.public_calls import public_offers

    return public_offers(cxp, filters)
