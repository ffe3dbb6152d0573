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


def test_the_document_declares_the_error_answers_of_each_operation(client: Any) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    complete = paths["/api/tasks/{task_id}/complete"]["post"]["responses"]
    assert {"200", "401", "403", "404", "409", "422"} <= set(complete)
    upload = paths["/api/exchanges/{ref}/evidence"]["post"]["responses"]
    assert {"201", "413", "415"} <= set(upload)
    assert "429" in paths["/api/auth/token"]["post"]["responses"]
    invalid = complete["422"]["content"]["application/json"]["schema"]["$ref"]
    assert invalid.endswith("/InvalidData")
    for path, item in paths.items():
        for method, operation in item.items():
            if path not in ("/api/health", "/api/auth/token"):
                assert "401" in operation["responses"], (method, path)
