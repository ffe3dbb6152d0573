"""GET /api/health: is the service up, and does its database answer (no sign-in needed)."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from workflows.web.deps import AppDep

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    ok: bool
    database: str
    problem: str | None = None


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}})
def health(cxp: AppDep) -> JSONResponse:
    """`ok` when the database answers; its dialect in `database` (503 and the problem when not)."""
    from workflows.services.setup import database_health

    dialect, problem = database_health(cxp)
    if problem is not None:
        return JSONResponse(HealthOut(ok=False, database=dialect, problem=problem).model_dump(), status_code=503)
    return JSONResponse(HealthOut(ok=True, database=dialect).model_dump())
