"""What every page needs: the templates, the signed-in principal from the session cookie, rendering.

The signed session cookie carries the secret of a server-side session (`SESSION_ID`: see
workflows/services/sessions.py) and the CSRF token (and the messages to show once): never who the
user is, so that ending the session on the server ends it for every copy of the cookie."""
from __future__ import annotations

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

SESSION_ID = "sid"  # the session's secret; a cookie without it is not signed in (gate.py keys on it)


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
    from workflows.services.access import may_claim

    found.env.globals["may_claim"] = may_claim  # the inbox row's Claim button (access decides)
    return found


def sign_in(request: Request, secret: str) -> None:
    """Carry the secret of a session just opened (`open_session`) in a fresh cookie: a new CSRF token
    too."""
    request.session.clear()
    request.session[SESSION_ID] = secret


def session_secret(request: Request) -> str | None:
    """The secret of the server-side session this request's cookie carries, if any."""
    secret = request.session.get(SESSION_ID)
    return secret if isinstance(secret, str) and secret else None


def session_principal(request: Request) -> Principal | None:
    """The principal of the session cookie, or None (no session; one ended, expired or idle; a
    disabled user) — the cookie is then emptied."""
    from workflows.services.sessions import principal_for_session

    secret = session_secret(request)
    if secret is None:
        return None
    try:
        return principal_for_session(get_app(request), secret)
    except Unauthenticated:
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
