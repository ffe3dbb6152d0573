"""Nobody sends a body to a route that needs a principal without saying who they are.

FastAPI reads a request's body before it resolves the route's dependencies, so an anonymous POST to
a page that needs a session (or to an API route that needs a bearer token) would have its body read
before being sent to sign in. :class:`SignInGate` answers such a request before any byte of its body
is read, the way the route would have: a page with a redirect to the sign-in form (303), the API
with 401. Which routes need a principal is read from the routes themselves (those depending on
`page_principal` or `get_principal`), so that a new route cannot be forgotten and a public one
(sign-in, registration) needs no list.

The check is only that the request carries a signed-in session (the secret of a server-side session),
or a bearer token: whether they are still valid is the route's own check, after the body — which
`BodyLimit` bounds meanwhile.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import BaseRoute

from workflows.web.deps import NOT_SIGNED_IN, get_principal
from workflows.web.limits import ASGIApp, Receive, Scope, Send
from workflows.web.pages.common import SESSION_ID, page_principal, sign_in_url
from workflows.web.security import UNSAFE_METHODS

Needs = Literal["session", "bearer"] | None


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def needs(route: BaseRoute) -> Needs:
    """What a route requires before it does anything: a signed-in session, a bearer token, or nothing."""
    if not isinstance(route, APIRoute):
        return None
    calls = set(_calls(route.dependant))
    if page_principal in calls:
        return "session"
    if get_principal in calls:
        return "bearer"
    return None


class SignInGate:
    """Pure ASGI middleware, inside ``SessionMiddleware``: an unsafe request (POST, PUT, PATCH, DELETE)
    to a route that needs a principal and carries none is answered before its body is read.

    `routes` are the application's routes with the prefix each was included under, in the order the
    application was given them (the first that matches is the one the router picks)."""

    def __init__(self, app: ASGIApp, routes: Iterable[tuple[str, BaseRoute]] = ()) -> None:
        self.app = app
        self.rules: list[tuple[str, re.Pattern[str], frozenset[str], Needs]] = [
            (prefix, route.path_regex, frozenset(route.methods or ()), needs(route))
            for prefix, route in routes if isinstance(route, APIRoute)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS:
            required = self.required(scope["method"], scope["path"])
            if required == "session" and not scope["session"].get(SESSION_ID):
                query = scope.get("query_string", b"").decode("latin-1")
                target = scope["path"] + (f"?{query}" if query else "")
                await RedirectResponse(sign_in_url(target), status_code=303)(scope, receive, send)
                return
            if required == "bearer" and not _has_bearer(scope):
                await JSONResponse({"detail": NOT_SIGNED_IN}, status_code=401,
                                   headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def required(self, method: str, path: str) -> Needs:
        """What the route a request goes to needs; nothing for an address no route has (the router
        answers it: 404 or 405)."""
        for prefix, pattern, methods, required in self.rules:
            if path.startswith(prefix) and method in methods and pattern.match(path[len(prefix):]):
                return required
        return None


def _has_bearer(scope: Scope) -> bool:
    scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())
