"""Reports as JSON: the KPIs of a month, for the principal's scope."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from workflows.services.oversight import KpiOut, kpis
from workflows.web.deps import PLAIN_TEXT, AppDep, PrincipalDep
from workflows.web.errors import SIGNED_IN, answers

router = APIRouter(prefix="/reports", responses=answers(*SIGNED_IN), tags=["reports"])


@router.get("/kpi", response_model=KpiOut)
def kpi(cxp: AppDep, principal: PrincipalDep,
        period: Annotated[str | None, Query(description="YYYY-MM (default: the month under way)",
                                            max_length=7, pattern=PLAIN_TEXT)] = None,
        partnership: Annotated[str | None, Query(description="a partnership's code (auditors, administrators)",
                                                 max_length=40, pattern=PLAIN_TEXT)] = None) -> KpiOut:
    """The KPIs (exchanges by status, money committed, paid and remaining, …) and their tables."""
    return kpis(cxp, principal, period, partnership)
