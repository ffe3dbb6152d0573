"""GET /docs: the interactive API documentation, working offline.

Swagger UI comes from npm (`swagger-ui-dist`), copied into static/vendor/swagger-ui/ by
tools/vendor_assets.py like htmx, and is started by static/api-docs.js: FastAPI's own docs page loads
Swagger UI from a CDN and starts it with an inline script, which neither an offline machine nor our
Content-Security-Policy (script-src 'self') allows. Public, like /openapi.json.
"""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} API: documentation</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<main id="swagger-ui" data-openapi-url="{openapi_url}"></main>
<noscript><p>The interactive documentation needs JavaScript; the API's description is at
<a href="{openapi_url}">{openapi_url}</a>.</p></noscript>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def docs_router(title: str, openapi_url: str = "/openapi.json") -> APIRouter:
    """The router of GET /docs (not in the OpenAPI document itself)."""
    router = APIRouter()
    page = PAGE.format(title=title, openapi_url=openapi_url)

    @router.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)

    return router
