"""Exchange search and one exchange."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from workflows.services.outputs import ExchangeOut, ExchangePage
from workflows.web.deps import PLAIN_TEXT, AppDep, PrincipalDep
from workflows.web.errors import SIGNED_IN, answers

router = APIRouter(prefix="/exchanges", responses=answers(*SIGNED_IN), tags=["exchanges"])


@router.get("", response_model=ExchangePage)
def search(cxp: AppDep, principal: PrincipalDep,
           q: Annotated[str | None, Query(max_length=200, pattern=PLAIN_TEXT, description="reference, organisation or country")] = None,
           status: Annotated[str | None, Query(max_length=40, pattern=PLAIN_TEXT)] = None,
           country: Annotated[str | None, Query(max_length=2, pattern=PLAIN_TEXT, description="ISO 3166-1 alpha-2")] = None,
           page: Annotated[int, Query(ge=1, le=100_000)] = 1,
           page_size: Annotated[int, Query(ge=1, le=200)] = 50) -> ExchangePage:
    """The exchanges the caller may see whose reference, organisation name or country matches `q`."""
    from workflows.services.exchange_search import search_exchanges

    return search_exchanges(cxp, principal, q=q, status=status, country=country, page=page, page_size=page_size)


@router.get("/{ref}", response_model=ExchangeOut)
def exchange(ref: str, cxp: AppDep, principal: PrincipalDep) -> ExchangeOut:
    """One exchange by its reference (EX-000123)."""
    from workflows.services.exchange_search import exchange_detail

    return exchange_detail(cxp, principal, ref)
