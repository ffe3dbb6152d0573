"""Administration (`/admin`): the programme at a glance (calls and budgets, exchanges per stage,
incidents, failed emails, the last batch and anchor), the users (add one, disable one, end all their
sessions) and the deployed process versions. Every read and change is the use cases' (administrators
only; a refusal is audited and
answered by the 403 page)."""
from __future__ import annotations

from typing import Annotated, Any, NamedTuple
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from workflows.services import Invalid, NotFound
from workflows.services.access import Principal
from workflows.services.accounts import USER_ROLES
from workflows.web.deps import PLAIN_TEXT, get_app
from workflows.web.pages.common import PagePrincipal, flash, render

router = APIRouter(include_in_schema=False)

ROLES = list(USER_ROLES)
USERS_PER_PAGE = 50
FIELDS = ("username", "display_name", "email", "role", "partnership", "organisation")


def user_schema(partnerships: list[str]) -> dict[str, Any]:
    """The add-user form as a JSON Schema (rendered by macros/form.html)."""
    return {"type": "object", "required": ["username", "display_name", "email", "role"], "properties": {
        "username": {"type": "string", "title": "Username", "maxLength": 80,
                     "description": "letters, digits and . _ @ - (used to sign in)"},
        "display_name": {"type": "string", "title": "Full name", "maxLength": 200},
        "email": {"type": "string", "format": "email", "title": "Email", "maxLength": 254},
        "role": {"type": "string", "title": "Role", "enum": ROLES},
        "partnership": {"anyOf": [{"type": "string", "enum": partnerships}, {"type": "null"}],
                        "title": "Partnership", "description": "officers and finance users only"},
        "organisation": {"anyOf": [{"type": "string", "maxLength": 40}, {"type": "null"}],
                         "title": "Organisation (legal id)", "description": "applicants only"},
    }}


class UserSearch(NamedTuple):
    """The users list's search, paging included (query parameters of `/admin`)."""

    q: str = ""
    role: str = ""
    state: str = "all"
    page: int = 1

    def link(self, page: int) -> str:
        return "/admin?" + urlencode({"q": self.q, "role": self.role, "state": self.state, "page": page}) + "#users"


EVERY_USER = UserSearch()


def _page(request: Request, principal: Principal, values: dict[str, Any] | None = None,
          errors: list[dict[str, Any]] | None = None, status_code: int = 200,
          search: UserSearch = EVERY_USER) -> Response:
    from workflows.services.accounts import find_users
    from workflows.services.admin_views import list_partnerships, list_process_versions
    from workflows.services.programme_glance import programme_glance
    from workflows.web.forms import build_form

    cxp = get_app(request)
    partnerships = list_partnerships(cxp, principal)  # the page is an administrator's (its users): checked first
    glance = programme_glance(cxp, principal)
    form = build_form(user_schema([p.code for p in partnerships]), values or {}, errors or [])
    password_error = next((e["msg"] for e in errors or [] if list(e["loc"])[-1:] == ["password"]), "")
    return render(request, "admin.html", principal, status_code=status_code, nav_active="admin", glance=glance,
                  users=find_users(cxp, principal, search.q, search.role or None, search.state, search.page, USERS_PER_PAGE),
                  search=search, roles=ROLES, versions=list_process_versions(cxp, principal),
                  partnerships=partnerships, form=form, password_error=password_error)


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, principal: PagePrincipal,
          q: Annotated[str, Query(max_length=200, pattern=PLAIN_TEXT)] = "",
          role: Annotated[str, Query(pattern="^(|applicant|officer|finance|auditor|administrator)$")] = "",
          state: Annotated[str, Query(pattern="^(all|active|disabled)$")] = "all",
          page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    return _page(request, principal, search=UserSearch(q.strip(), role, state, page))


@router.post("/admin/users", response_class=HTMLResponse)
async def add_user(request: Request, principal: PagePrincipal) -> Response:
    """A new user; invalid fields come back next to their field (422), nothing written."""
    from starlette.concurrency import run_in_threadpool

    from workflows.services.accounts import add_user as add

    posted = await request.form()
    values = {name: str(posted.get(name) or "").strip() for name in FIELDS}
    password = str(posted.get("password") or "") or None
    try:
        out = await run_in_threadpool(add, get_app(request), principal, values["username"], values["display_name"],
                                      values["email"], values["role"], values["partnership"] or None,
                                      values["organisation"] or None, password)
    except Invalid as err:
        errors = [{"loc": list(f.loc), "msg": f.msg} for f in err.fields] or [{"loc": [], "msg": str(err)}]
        return await run_in_threadpool(_page, request, principal, values, errors, 422)
    flash(request, "success", f"User {out.username} ({out.role}) is added"
          + ("." if out.has_password else "; they sign in once a password is set."))
    return RedirectResponse("/admin#users", status_code=303)


@router.post("/admin/users/{username}/disable")
def disable(request: Request, principal: PagePrincipal, username: str) -> Response:
    """The user may no longer sign in; their tokens are revoked, nothing of theirs is deleted."""
    from workflows.services.accounts import disable_user

    try:
        out = disable_user(get_app(request), principal, username)
    except NotFound as err:
        flash(request, "error", str(err))
    else:
        flash(request, "success", f"User {out.username} is disabled: they can no longer sign in.")
    return RedirectResponse("/admin#users", status_code=303)


@router.post("/admin/users/{username}/end-sessions")
def end_sessions(request: Request, principal: PagePrincipal, username: str) -> Response:
    """Every web session of the user ends and their API tokens are revoked; they may sign in again."""
    from workflows.services.accounts import end_sessions as end

    try:
        done = end(get_app(request), principal, username)
    except NotFound as err:
        flash(request, "error", str(err))
    else:
        flash(request, "success", f"Every session of {done.username} has ended ({done.sessions_ended} session(s), "
                                  f"{done.tokens_revoked} API token(s) revoked).")
    return RedirectResponse("/admin#users", status_code=303)
