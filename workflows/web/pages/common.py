"""What every page needs: the templates, the signed-in principal from the session cookie, rendering."""
from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from importlib.resources import files
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from workflows.services import Unauthenticated
from workflows.services.access import Principal
from workflows.web.deps import get_app
from workflows.web.security import csrf_token

SESSION_USER, SESSION_ISSUED = "uid", "iat"


class SignInRequired(Exception):
    """A page asked for without a valid session: answered by a redirect to the sign-in form."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


@lru_cache(maxsize=4)
def templates(tz: str) -> Jinja2Templates:
    from workflows.web.filters import install_filters

    folder = files("workflows.web") / "templates"
    found = Jinja2Templates(directory=str(folder))
    install_filters(found.env, tz)
    return found


def sign_in(request: Request, principal: Principal, issued_at: datetime) -> None:
    """Start a session for `principal` (a fresh session: a new CSRF token too)."""
    request.session.clear()
    request.session[SESSION_USER] = principal.user_id
    request.session[SESSION_ISSUED] = issued_at.astimezone(UTC).isoformat()


def session_principal(request: Request) -> Principal | None:
    """The principal of the session cookie, or None (no session, a disabled user, a password changed
    since the session began)."""
    from workflows.services.tokens import principal_for_session

    user_id, issued = request.session.get(SESSION_USER), request.session.get(SESSION_ISSUED)
    if not isinstance(user_id, int) or not isinstance(issued, str):
        return None
    try:
        return principal_for_session(get_app(request), user_id, datetime.fromisoformat(issued))
    except (Unauthenticated, ValueError):
        request.session.clear()
        return None


def page_principal(request: Request) -> Principal:
    """The signed-in principal of a page; else a redirect to the sign-in form, coming back here."""
    principal = session_principal(request)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return principal


PagePrincipal = Annotated[Principal, Depends(page_principal)]


def render(request: Request, template: str, principal: Principal | None, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """The page `template` with what base.html expects (principal, csrf_token, nav_active, flashes)."""
    cxp = get_app(request)
    flashes = request.session.pop("flashes", None) or []
    return templates(cxp.settings.timezone).TemplateResponse(
        request, template, {"principal": principal, "csrf_token": csrf_token(request),
                            "flashes": [tuple(f) for f in flashes] + context.pop("flashes", []), **context},
        status_code=status_code)


def flash(request: Request, category: str, text: str) -> None:
    """A message shown once on the next page (after a redirect)."""
    request.session.setdefault("flashes", []).append([category, text])
    request.session["flashes"] = request.session["flashes"]


def sign_in_url(next_url: str | None) -> str:
    return "/" + (f"?next={quote(next_url, safe='/')}" if next_url and next_url != "/" else "")


def safe_next(next_url: str | None) -> str:
    """Only a path on this site (no //host, no scheme): where to go after signing in."""
    if next_url and next_url.startswith("/") and not next_url.startswith("//") and "\\" not in next_url:
        return next_url
    return "/tasks"
