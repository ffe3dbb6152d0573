"""Security headers, the session cookie and CSRF tokens of the web workspace (workflows/web/security.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from workflows.settings import DEV_SECRET, Settings
from workflows.web.security import (
    CONTENT_SECURITY_POLICY,
    CSRF_REFUSAL,
    CSRFMiddleware,
    SecurityHeadersMiddleware,
    check_csrf,
    csrf_token,
    session_middleware_kwargs,
    token_matches,
)


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path}/cxp.db", files_dir=tmp_path / "files", **values)


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(f"<p>token {csrf_token(request)}</p>")


async def token(request: Request) -> JSONResponse:
    return JSONResponse({"token": csrf_token(request)})


async def submit(request: Request) -> PlainTextResponse:
    form = await request.form()  # the application still reads the body the middleware checked
    return PlainTextResponse(f"done {form.get('comment', '')}")


async def guarded(request: Request) -> PlainTextResponse:
    await check_csrf(request)
    return PlainTextResponse("done")


async def api(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


def _app(tmp_path: Path, csrf_middleware: bool = True, **settings: object) -> Starlette:
    middleware = [
        Middleware(SecurityHeadersMiddleware),
        Middleware(SessionMiddleware, **session_middleware_kwargs(_settings(tmp_path, **settings))),
    ]
    if csrf_middleware:
        middleware.append(Middleware(CSRFMiddleware))
    routes = [Route("/", page), Route("/token", token), Route("/submit", submit, methods=["POST"]),
              Route("/guarded", guarded, methods=["POST", "DELETE"]),
              Route("/api/things", api, methods=["POST"])]
    return Starlette(routes=routes, middleware=middleware)


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(_app(tmp_path))


def test_every_response_carries_the_security_headers_and_html_is_not_cached(client: TestClient) -> None:
    answer = client.get("/")
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY and "'unsafe-eval'" not in CONTENT_SECURITY_POLICY
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "camera=()" in answer.headers["permissions-policy"]
    assert answer.headers["cache-control"] == "no-store"
    json_answer = client.get("/token")
    assert json_answer.headers["x-frame-options"] == "DENY"
    assert "cache-control" not in json_answer.headers


def test_a_form_with_the_session_token_goes_through_and_keeps_its_body(client: TestClient) -> None:
    value = client.get("/token").json()["token"]
    answer = client.post("/submit", data={"csrf_token": value, "comment": "fine"})
    assert answer.status_code == 200
    assert answer.text == "done fine"


def test_a_multipart_form_with_the_token_goes_through(client: TestClient) -> None:
    value = client.get("/token").json()["token"]
    answer = client.post("/submit", data={"csrf_token": value, "comment": "with file"},
                         files={"upload": ("a.txt", b"hello", "text/plain")})
    assert answer.status_code == 200 and answer.text == "done with file"


def test_the_header_token_of_htmx_goes_through(client: TestClient) -> None:
    value = client.get("/token").json()["token"]
    assert client.post("/submit", headers={"X-CSRF-Token": value}, data={"comment": "x"}).status_code == 200


@pytest.mark.parametrize("data", [{}, {"csrf_token": ""}, {"csrf_token": "forged"}])
def test_a_form_without_the_session_token_is_refused_with_a_sentence(client: TestClient, data: dict) -> None:
    client.get("/token")
    answer = client.post("/submit", data={**data, "comment": "x"})
    assert answer.status_code == 403
    assert answer.text == CSRF_REFUSAL


def test_a_token_of_another_session_is_refused(tmp_path: Path) -> None:
    app = _app(tmp_path)
    other = TestClient(app).get("/token").json()["token"]
    mine = TestClient(app)
    mine.get("/token")
    assert mine.post("/submit", data={"csrf_token": other}).status_code == 403


def test_a_post_without_any_session_is_refused(client: TestClient) -> None:
    assert client.post("/submit", data={"csrf_token": "anything"}).status_code == 403


def test_the_api_with_its_bearer_tokens_needs_no_csrf_token(client: TestClient) -> None:
    assert client.post("/api/things", json={"a": 1}).status_code == 200


def test_the_check_csrf_dependency_refuses_and_accepts_like_the_middleware(tmp_path: Path) -> None:
    client = TestClient(_app(tmp_path, csrf_middleware=False), raise_server_exceptions=False)
    value = client.get("/token").json()["token"]
    refused = client.post("/guarded", data={"csrf_token": "forged"})
    assert refused.status_code == 403 and CSRF_REFUSAL in refused.text
    assert client.delete("/guarded").status_code == 403
    assert client.post("/guarded", data={"csrf_token": value}).status_code == 200
    assert client.delete("/guarded", headers={"X-CSRF-Token": value}).status_code == 200


def test_tokens_are_compared_only_when_both_are_text() -> None:
    assert token_matches("abc", "abc")
    assert not token_matches("abc", "abd")
    assert not token_matches(None, None)
    assert not token_matches("", "")


def test_the_session_cookie_is_signed_httponly_lax_and_not_secure_in_development(client: TestClient) -> None:
    cookie = client.get("/token").headers["set-cookie"].lower()
    assert cookie.startswith("cxp_session=")
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=28800" in cookie
    assert "secure" not in cookie


def test_the_session_cookie_is_secure_in_production(tmp_path: Path) -> None:
    kwargs = session_middleware_kwargs(_settings(tmp_path, mode="production", secret_key="s" * 40,
                                                 audit_key="a" * 40))
    assert kwargs["secret_key"] == "s" * 40
    assert kwargs["https_only"] is True
    client = TestClient(_app(tmp_path, mode="production", secret_key="s" * 40, audit_key="a" * 40),
                        base_url="https://testserver")
    assert "secure" in client.get("/token").headers["set-cookie"].lower()


def test_development_without_a_secret_generates_one_key_per_install_and_keeps_it(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert settings.secret_key == DEV_SECRET
    first = session_middleware_kwargs(settings)["secret_key"]
    assert first != DEV_SECRET and len(first) >= 32
    assert session_middleware_kwargs(settings)["secret_key"] == first
    key_file = tmp_path / "files" / "secrets" / "session-key"
    assert key_file.stat().st_mode & 0o077 == 0
    assert session_middleware_kwargs(_settings(tmp_path / "other"))["secret_key"] != first


def test_a_set_secret_key_is_used_as_it_is_in_development(tmp_path: Path) -> None:
    assert session_middleware_kwargs(_settings(tmp_path, secret_key="k" * 40))["secret_key"] == "k" * 40


# --- caching and HTTPS (issue 18) ------------------------------------------------------------------

async def download(request: Request) -> PlainTextResponse:
    return PlainTextResponse("iban;amount\n", headers={"Content-Disposition": 'attachment; filename="x.csv"'})


async def download_free(request: Request) -> JSONResponse:
    return JSONResponse({"public": True})


def test_api_answers_and_downloads_are_not_stored_and_other_answers_are_left_alone(tmp_path: Path) -> None:
    middleware = [Middleware(SecurityHeadersMiddleware)]
    routes = [Route("/api/things", api), Route("/download", download), Route("/plain", download_free),
              Route("/api/cached", lambda request: JSONResponse({}, headers={"Cache-Control": "max-age=60"}))]
    client = TestClient(Starlette(routes=routes, middleware=middleware))
    assert client.get("/api/things").headers["cache-control"] == "no-store"
    assert client.get("/api/nowhere").headers["cache-control"] == "no-store"  # errors too
    assert client.get("/download").headers["cache-control"] == "no-store"
    assert "cache-control" not in client.get("/plain").headers
    assert client.get("/api/cached").headers["cache-control"] == "max-age=60"  # the app's own policy wins


def test_hsts_only_when_asked_for(client: TestClient, tmp_path: Path) -> None:
    assert "strict-transport-security" not in client.get("/").headers
    hsts = TestClient(Starlette(routes=[Route("/plain", download_free)],
                                middleware=[Middleware(SecurityHeadersMiddleware, hsts=True)]))
    assert hsts.get("/plain").headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_the_workspace_sends_hsts_in_production_mode_only(tmp_path: Path) -> None:
    from workflows.app import App
    from workflows.services.setup import init_database
    from workflows.web.app import create_app

    development = App(_settings(tmp_path))
    init_database(development)
    production = App(_settings(tmp_path, mode="production", secret_key="s" * 40, audit_key="a" * 40))
    try:
        for application, expected in ((development, None), (production, "max-age=31536000; includeSubDomains")):
            answer = TestClient(create_app(application=application), base_url="https://testserver").get("/api/health")
            assert answer.status_code == 200 and answer.headers.get("strict-transport-security") == expected
            assert answer.headers["cache-control"] == "no-store"
    finally:
        development.close()
        production.close()
