"""`create_app(settings)`: the FastAPI application serving the HTTP API under /api (OpenAPI at
/openapi.json, docs at /docs) and the web workspace pages, over one `workflows.app.App`."""
from __future__ import annotations

from importlib.resources import files
from typing import TYPE_CHECKING

from fastapi import FastAPI

from workflows.web.errors import install_error_handlers
from workflows.web.limits import BodyLimit

if TYPE_CHECKING:
    from workflows.app import App
    from workflows.settings import Settings

DESCRIPTION = """The ClusterXchange grant orchestrator: calls, applications, matching, visits, evidence,
reimbursement and reporting. Sign in with `POST /api/auth/token` (OAuth2 password flow), then send
`Authorization: Bearer <token>`. Who sees what: an officer or finance user the records of their own
partnership; an applicant their own organisation's; an auditor everything, read-only."""


def create_app(settings: Settings | None = None, application: App | None = None) -> FastAPI:
    """The web application on `application` (else a new `App` on `settings`, which must name an
    initialised database: the server never creates one)."""
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.staticfiles import StaticFiles

    from workflows.app import App
    from workflows.web.api import routes
    from workflows.web.api_docs import docs_router
    from workflows.web.gate import SignInGate
    from workflows.web.pages import routes as page_routes
    from workflows.web.security import CSRFMiddleware, SecurityHeadersMiddleware, session_middleware_kwargs

    cxp = application or App(settings, create=False)
    web = FastAPI(title="ClusterXchange", version="1", description=DESCRIPTION,
                  openapi_url="/openapi.json", docs_url=None, redoc_url=None)
    web.state.cxp = cxp
    install_error_handlers(web)
    included = [("/api", router) for router in routes()] + [("", router) for router in page_routes()]
    for prefix, router in included:
        web.include_router(router, prefix=prefix)
    web.include_router(docs_router("ClusterXchange"))  # /docs from our own static files (offline, our CSP)
    web.mount("/static", StaticFiles(directory=str(files("workflows.web") / "static")), name="static")
    # outermost last. Each body is bounded while it streams (BodyLimit, outside all that reads one);
    # a request to a route that needs a principal and carries none is answered before its body is
    # read (SignInGate), and so is one whose CSRF token can be judged without it (CSRFMiddleware);
    # both inside the session they look at. The security headers go on every answer, a 413 too.
    web.add_middleware(CSRFMiddleware)
    web.add_middleware(SignInGate, routes=[(prefix, route) for prefix, router in included for route in router.routes])
    web.add_middleware(SessionMiddleware, **session_middleware_kwargs(cxp.settings))
    web.add_middleware(BodyLimit)
    web.add_middleware(SecurityHeadersMiddleware, hsts=not cxp.settings.development)
    return web


def serve_app() -> FastAPI:
    """The factory `cxp serve` gives uvicorn (`workflows.web.app:serve_app`): the application on the
    settings of the environment, so that every worker process builds its own."""
    from workflows.settings import get_settings

    return create_app(get_settings())
