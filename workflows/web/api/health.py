"""GET /api/health: is the service up, and does its database answer (no sign-in needed)."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from workflows.web.deps import AppDep

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    ok: bool
    database: str
    problem: str | None = None


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}})
def health(cxp: AppDep) -> JSONResponse:
    """`ok` when the database answers; its dialect in `database` (503 and the problem when not)."""
    dialect = cxp.db.dialect.name
    try:
        with cxp.db.connect() as connection:
            connection.execute(text("SELECT 1 FROM process_instances WHERE 0 = 1"))
    except Exception as err:  # noqa: BLE001 - any failure to answer is the health check's finding
        problem = " ".join(str(getattr(err, "orig", None) or err).split())[:200]
        return JSONResponse(HealthOut(ok=False, database=dialect, problem=problem).model_dump(), status_code=503)
    return JSONResponse(HealthOut(ok=True, database=dialect).model_dump())
