"""GET /api/health answers without sign-in; the OpenAPI document and the interactive docs answer, and
the document declares the error answers of SPEC §10 with their shapes."""
from __future__ import annotations

from typing import Any

from tests.e2e.api.conftest import World


def test_health_says_ok_and_which_database_answers(client: Any, world: World) -> None:
    answer = client.get("/api/health")
    assert answer.status_code == 200
    assert answer.json() == {"ok": True, "database": world.app.db.dialect.name, "problem": None}


def test_the_openapi_document_and_the_docs_answer(client: Any) -> None:
    document = client.get("/openapi.json")
    assert document.status_code == 200 and document.json()["openapi"].startswith("3.")
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower() and "/openapi.json" in docs.text


def test_the_docs_load_swagger_ui_from_our_own_static_files_under_our_csp(client: Any) -> None:
    import re

    docs = client.get("/docs")
    policy = docs.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy and "unsafe-inline" not in policy
    assert "cdn" not in docs.text.lower() and "https://" not in docs.text and "http://" not in docs.text
    assert re.search(r"<script>|<script [^>]*>[^<]", docs.text) is None  # no inline script: CSP would refuse it
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert {"/static/vendor/swagger-ui/swagger-ui-bundle.js", "/static/vendor/swagger-ui/swagger-ui.css",
            "/static/api-docs.js", "/openapi.json"} <= set(assets)
    for asset in assets:
        assert asset.startswith("/"), asset  # served by the product itself
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        if asset.endswith(".js"):
            assert "javascript" in answer.headers["content-type"], asset
        if asset.endswith(".css"):
            assert answer.headers["content-type"].startswith("text/css"), asset
    assert "SwaggerUIBundle" in client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").text


def test_the_document_declares_the_error_answers_of_each_operation(client: Any) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    complete = paths["/api/tasks/{task_id}/complete"]["post"]["responses"]
    assert {"200", "401", "403", "404", "409", "422"} <= set(complete)
    upload = paths["/api/exchanges/{ref}/evidence"]["post"]["responses"]
    assert {"201", "413", "415"} <= set(upload)
    assert "429" in paths["/api/auth/token"]["post"]["responses"]
    assert {"201", "422", "429"} <= set(paths["/api/registrations"]["post"]["responses"])
    invalid = complete["422"]["content"]["application/json"]["schema"]["$ref"]
    assert invalid.endswith("/InvalidData")
    for path, item in paths.items():
        for method, operation in item.items():
            # the public ones (SPEC §13, tag "public", and the registration's) answer without credentials, never 401
            if path not in ("/api/health", "/api/auth/token", "/api/registrations", "/api/registrations/verify",
                            "/api/places/cities") and "public" not in operation.get("tags", []):
                assert "401" in operation["responses"], (method, path)
