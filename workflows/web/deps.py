"""What a route needs, resolved once per request: the application and the principal."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from workflows.app import App
from workflows.services import Unauthenticated
from workflows.services.access import Principal

NOT_SIGNED_IN = "not signed in: send Authorization: Bearer <token> from POST /api/auth/token"

bearer = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False,
                              description="a token from POST /api/auth/token or `cxp users token`")


def get_app(request: Request) -> App:
    app: App = request.app.state.cxp  # set by create_app; Starlette's state is untyped
    return app


async def app_dependency(request: Request) -> App:
    """`get_app` as a dependency: async, as it does no I/O, so that FastAPI calls it in the event
    loop rather than handing it to the thread pool (a thread hop on every request)."""
    return get_app(request)


async def get_principal(request: Request, token: Annotated[str | None, Depends(bearer)]) -> Principal:
    """The principal of the bearer token (401 without one, or with an unknown, expired or revoked one).

    Async on purpose: the lookup is one indexed read (tens of microseconds), cheaper than the thread
    hop FastAPI gives a sync dependency on every request; the token's `last_used_at` write, due at
    most once a minute and able to wait for SQLite's lock, goes to the thread pool."""
    if not token:
        raise Unauthenticated(NOT_SIGNED_IN)
    from starlette.concurrency import run_in_threadpool

    from workflows.services.tokens import token_principal

    principal, touch = token_principal(get_app(request), token)
    if touch is not None:
        await run_in_threadpool(touch)
    return principal


# Free text of a query parameter: no control characters (PostgreSQL cannot even compare a NUL byte).
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"

AppDep = Annotated[App, Depends(app_dependency)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


def client_of(request: Request) -> str:
    """Where a request came from, for the audit trail of sign-ins."""
    return f"http {request.client.host}" if request.client else "http"
