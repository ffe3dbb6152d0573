"""Small helpers of the work pages (inbox, task, instance, exchange): query strings that keep the
filters, the way back after a form post, and a partial template rendered for htmx."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from workflows.web.deps import get_app
from workflows.web.pages.common import safe_next, templates
from workflows.web.security import csrf_token


def url_with(path: str, params: Mapping[str, Any], **changes: Any) -> str:
    """`path` with the non-empty `params` as its query string, `changes` applied (None drops one)."""
    merged = {**params, **changes}
    query = urlencode([(k, str(v)) for k, v in merged.items() if v not in (None, "")])
    return f"{path}?{query}" if query else path


def blank_is_none(value: str | None) -> str | None:
    """A GET form's empty field as "not given"."""
    return value.strip() if value and value.strip() else None


def start_of_day(day: date | None, tz: str) -> datetime | None:
    """Midnight at the start of `day` in time zone `tz` (what "due before 8 Feb" means to a person)."""
    return None if day is None else datetime.combine(day, time(0), tzinfo=ZoneInfo(tz))


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def back_to(request: Request, next_url: str | None, default: str) -> Response:
    """After a form post: a 303 to `next_url` (a path of this site) or `default`; for htmx, HX-Redirect."""
    target = safe_next(next_url) if next_url else default
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def partial(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A fragment (no base.html, the session's flashes left for the next page) for an htmx swap."""
    tz = get_app(request).settings.timezone
    return templates(tz).TemplateResponse(request, template, {"csrf_token": csrf_token(request), **context},
                                          status_code=status_code)
