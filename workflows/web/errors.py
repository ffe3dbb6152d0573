"""The one mapping of service errors to HTTP answers (SPEC §10): 401 without valid credentials, 403 for
a refusal (already audited by the access module), 404 for an unknown record and for one the caller may
not see, 409 for a lost race, 413/415 for uploads, 422 with `detail` as `[{loc, msg}]`, and never a 500
for bad input."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError

from tasks.forms import spoken_field
from workflows.services import (
    Conflict,
    Invalid,
    NotFound,
    Refused,
    ServiceError,
    Throttled,
    TooLarge,
    Unauthenticated,
    WrongType,
)


class Problem(BaseModel):
    """An error answer: one sentence saying what is wrong."""

    detail: str


class FieldProblem(BaseModel):
    loc: list[str | int] = Field(description="where: body, query or path, then the field's name (and index)")
    msg: str
    type: str | None = None


class InvalidData(BaseModel):
    """422: each field that is wrong, and why."""

    detail: list[FieldProblem]


ANSWERS: dict[int, tuple[type[BaseModel], str]] = {
    401: (Problem, "not signed in, or the bearer token is unknown, expired or revoked"),
    403: (Problem, "the principal may not do this (the refusal is audited)"),
    404: (Problem, "no such record, or one the principal may not see"),
    409: (Problem, "completed, released or changed by someone else meanwhile: nothing was written"),
    413: (Problem, "the request body is above its limit (20 MB for an upload, 1 MB for a form or JSON)"),
    415: (Problem, "the upload is not a file of the accepted type"),
    422: (InvalidData, "invalid data: each field named in `detail`"),
    429: (Problem, "too many failed sign-ins, or registrations from one address: try again after Retry-After "
                   "seconds"),
    503: (Problem, "the database is not available: try again after Retry-After seconds"),
}
SIGNED_IN = (401, 403, 404, 422)  # what any call with a bearer token may answer


def answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of these error answers (a route's `responses=`)."""
    return {code: {"model": ANSWERS[code][0], "description": ANSWERS[code][1]} for code in codes}


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
    if isinstance(err, Throttled):
        return 429
    for kind, status in ((NotFound, 404), (Refused, 403), (Conflict, 409), (TooLarge, 413), (WrongType, 415)):
        if isinstance(err, kind):
            return status
    return 422


PAGE_TITLES = {401: "Please sign in", 403: "Not allowed", 404: "Not found", 409: "Changed meanwhile",
               413: "File too large", 415: "Wrong kind of file", 422: "Please check the data", 429: "Too many attempts"}


def is_page(request: Request) -> bool:
    return not (request.url.path.startswith("/api/") or request.url.path in ("/openapi.json", "/docs"))


def page_error(request: Request, status: int, message: str) -> Any:
    """The error as a page of the workspace (its navigation still there), for a person."""
    from workflows.web.pages.common import render, session_principal

    return render(request, "error.html", session_principal(request), status_code=status,
                  title=PAGE_TITLES.get(status, "Something is wrong"), message=message)


async def _service_error(request: Request, err: Exception) -> Any:
    assert isinstance(err, ServiceError)
    status = _status_of(err)
    if is_page(request):
        return page_error(request, 429 if getattr(err, "retry_after", None) else status, str(err))
    if status == 401:
        retry = getattr(err, "retry_after", None)
        if retry:
            return _detail(429, str(err), {"Retry-After": str(int(retry))})
        return _detail(401, str(err), {"WWW-Authenticate": "Bearer"})
    if status == 429:
        return _detail(429, str(err), {"Retry-After": str(int(getattr(err, "retry_after", 1)))})
    if status == 422:
        return JSONResponse({"detail": field_errors(err)}, status_code=422)
    return _detail(status, str(err))


async def _request_invalid(request: Request, err: Exception) -> Any:
    """FastAPI's own validation: the same `[{loc, msg}]`, without echoing the input (it may hold a
    password)."""
    assert isinstance(err, RequestValidationError)
    if is_page(request):
        named = "; ".join(f"{spoken_field(list(e.get('loc', ()))[1:])}: {e.get('msg')}" for e in err.errors())
        return page_error(request, 422, named or "the request is not valid")
    detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "is not valid"), "type": e.get("type")}
              for e in err.errors()]
    return JSONResponse({"detail": detail}, status_code=422)


async def _database_busy(request: Request, err: Exception) -> JSONResponse:
    text = str(getattr(err, "orig", None) or err)
    if "database is locked" in text or "could not serialize" in text or "deadlock" in text:
        return _detail(409, "the database is busy with another change: nothing was written, try again")
    return _detail(503, "the database is not available; try again later", {"Retry-After": "5"})


async def _sign_in_required(request: Request, err: Exception) -> Any:
    from fastapi.responses import RedirectResponse

    from workflows.web.pages.common import SignInRequired, sign_in_url

    assert isinstance(err, SignInRequired)
    return RedirectResponse(sign_in_url(err.next_url), status_code=303)


async def _http_error(request: Request, err: Exception) -> Any:
    """Starlette's own errors (an unknown address, a method not allowed) as a page for a person."""
    from fastapi.exception_handlers import http_exception_handler
    from starlette.exceptions import HTTPException

    assert isinstance(err, HTTPException)
    if is_page(request) and err.status_code >= 400:
        message = err.detail if err.status_code != 404 else "There is no page at this address."
        page = page_error(request, err.status_code, str(message))
        page.headers.update(err.headers or {})  # a body too large: the connection closes after the answer
        return page
    if err.status_code == 400:  # a body FastAPI could not parse (e.g. an integer of 5,000 digits): invalid data
        return JSONResponse({"detail": [{"loc": ["body"], "msg": f"{err.detail}: the request body could not be "
                                                                 "read as JSON or as a form"}]}, status_code=422)
    return await http_exception_handler(request, err)


def install_error_handlers(web: FastAPI) -> None:
    from starlette.exceptions import HTTPException

    from workflows.web.pages.common import SignInRequired

    web.add_exception_handler(SignInRequired, _sign_in_required)
    web.add_exception_handler(HTTPException, _http_error)
    web.add_exception_handler(ServiceError, _service_error)
    web.add_exception_handler(RequestValidationError, _request_invalid)
    web.add_exception_handler(OperationalError, _database_busy)
