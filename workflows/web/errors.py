"""The one mapping of service errors to HTTP answers (SPEC §10): 401 without valid credentials, 403 for
a refusal (already audited by the access module), 404 for an unknown record and for one the caller may
not see, 409 for a lost race, 413/415 for uploads, 422 with `detail` as `[{loc, msg}]`, and never a 500
for bad input."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from workflows.services import (
    Conflict, Invalid, NotFound, Refused, ServiceError, TooLarge, Unauthenticated, WrongType,
)


def _detail(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


def field_errors(err: Invalid | ServiceError, prefix: tuple[str, ...] = ("body",)) -> list[dict[str, Any]]:
    """`[{loc, msg}]` of a service error: each named field under `prefix`, or the whole request."""
    fields = getattr(err, "fields", None) or []
    if fields:
        return [{"loc": [*prefix, *f.loc], "msg": f.msg} for f in fields]
    return [{"loc": list(prefix), "msg": str(err)}]


def _status_of(err: ServiceError) -> int:
    if isinstance(err, Unauthenticated):
        return 401
    for kind, status in ((NotFound, 404), (Refused, 403), (Conflict, 409), (TooLarge, 413), (WrongType, 415)):
        if isinstance(err, kind):
            return status
    return 422


async def _service_error(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, ServiceError)
    status = _status_of(err)
    if status == 401:
        retry = getattr(err, "retry_after", None)
        if retry:
            return _detail(429, str(err), {"Retry-After": str(int(retry))})
        return _detail(401, str(err), {"WWW-Authenticate": "Bearer"})
    if status == 422:
        return JSONResponse({"detail": field_errors(err)}, status_code=422)
    return _detail(status, str(err))


async def _request_invalid(request: Request, err: Exception) -> JSONResponse:
    """FastAPI's own validation: the same `[{loc, msg}]`, without echoing the input (it may hold a
    password)."""
    assert isinstance(err, RequestValidationError)
    detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "is not valid"), "type": e.get("type")}
              for e in err.errors()]
    return JSONResponse({"detail": detail}, status_code=422)


async def _database_busy(request: Request, err: Exception) -> JSONResponse:
    text = str(getattr(err, "orig", None) or err)
    if "database is locked" in text or "could not serialize" in text or "deadlock" in text:
        return _detail(409, "the database is busy with another change: nothing was written, try again")
    return _detail(503, "the database is not available; try again later", {"Retry-After": "5"})


def install_error_handlers(web: FastAPI) -> None:
    web.add_exception_handler(ServiceError, _service_error)
    web.add_exception_handler(RequestValidationError, _request_invalid)
    web.add_exception_handler(OperationalError, _database_busy)
