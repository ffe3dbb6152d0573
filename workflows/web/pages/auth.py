"""Sign-in (`/`, posted to `/login`), sign-out (`/logout`) and signing out everywhere
(`/logout/everywhere`: every session and API token of the user)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from workflows.services import Unauthenticated
from workflows.web.deps import get_app
from workflows.web.pages.common import (
    PagePrincipal,
    flash,
    render,
    safe_next,
    session_principal,
    session_secret,
    sign_in,
)

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def sign_in_form(request: Request, next: str | None = None) -> Response:  # noqa: A002 - the query's name
    """The sign-in form; someone already signed in goes on to their inbox."""
    principal = session_principal(request)
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "sign_in.html", None, next=safe_next(next), username="")


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, username: Annotated[str, Form(max_length=80)] = "",
          password: Annotated[str, Form(max_length=1024)] = "",
          next: Annotated[str, Form(max_length=2000)] = "/tasks") -> Response:  # noqa: A002
    """Check the username and password (audited either way); on success a fresh session."""
    from workflows.services.accounts import authenticate, open_session

    cxp = get_app(request)
    source = f"web {request.client.host}" if request.client else "web"
    try:
        principal = authenticate(cxp, username.strip(), password, source=source)
    except Unauthenticated as err:
        status = 429 if err.retry_after else 401
        answer = render(request, "sign_in.html", None, status_code=status, next=safe_next(next),
                        username=username, error=str(err))
        if err.retry_after:
            answer.headers["Retry-After"] = str(err.retry_after)
        return answer
    try:
        secret = open_session(cxp, principal)
    except Unauthenticated as err:  # disabled in the instant since the password was checked
        return render(request, "sign_in.html", None, status_code=401, next=safe_next(next), username=username,
                      error=str(err))
    sign_in(request, secret)
    flash(request, "success", f"Signed in as {principal.display_name or principal.username} ({principal.role}).")
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    """End this session on the server (a copy of the cookie no longer opens anything), then the cookie."""
    from workflows.services.accounts import end_session

    secret = session_secret(request)
    if secret is not None:
        end_session(get_app(request), secret)
    request.session.clear()
    flash(request, "info", "You are signed out.")
    return RedirectResponse("/", status_code=303)


@router.post("/logout/everywhere")
def logout_everywhere(request: Request, principal: PagePrincipal) -> Response:
    """Sign out everywhere: every web session of the user ends, this one too, and their API tokens are
    revoked."""
    from workflows.services.accounts import end_sessions

    done = end_sessions(get_app(request), principal, principal.username)
    request.session.clear()
    flash(request, "info", f"You are signed out everywhere: {done.sessions_ended} session(s) ended, "
                           f"{done.tokens_revoked} API token(s) revoked.")
    return RedirectResponse("/", status_code=303)
