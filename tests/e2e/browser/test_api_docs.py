"""/docs in a real chromium, offline: Swagger UI renders the product's OpenAPI document from the
product's own static files, with no Content-Security-Policy violation and no request off the machine."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def test_the_api_docs_render_offline_under_our_csp(page: Any, live_server: Any, screenshot: Any) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.add_init_script("window.__csp = [];"
                         "document.addEventListener('securitypolicyviolation', function (e) {"
                         " window.__csp.push(e.effectiveDirective + ' ' + (e.blockedURI || 'inline')); });")
    page.goto(f"{live_server.url}/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "ClusterXchange" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector("#operations-tag-default, .opblock-tag")
    assert page.locator(".opblock").count() > 10  # the operations of the API are listed
    screenshot(page, "api-docs-1280")
    assert page.evaluate("window.__csp") == []
    hosts = {urlsplit(url).hostname for url in requested if not url.startswith("data:")}
    assert hosts == {"127.0.0.1"}, hosts
