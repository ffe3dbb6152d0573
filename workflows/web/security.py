"""What protects every page: security headers, the signed session cookie and CSRF tokens.

- :class:`SecurityHeadersMiddleware` (pure ASGI) adds the Content-Security-Policy and its companions to
  every response, ``Cache-Control: no-store`` to HTML, API answers and downloads, and HSTS in
  production.
- The session is Starlette's ``SessionMiddleware`` (a cookie signed with itsdangerous, HttpOnly,
  SameSite=lax, Secure in production) configured by :func:`session_middleware_kwargs`. It carries the
  secret of a server-side session (workflows/services/sessions.py) and the CSRF token.
- CSRF: a synchronizer token kept in the session (:func:`csrf_token` puts it in forms, and base.html
  in ``<meta name="csrf-token">`` for htmx); :class:`CSRFMiddleware` (or the :func:`check_csrf`
  dependency) refuses a POST/PUT/PATCH/DELETE to the pages whose form field ``csrf_token`` or header
  ``X-CSRF-Token`` does not match. The HTTP API under ``/api/`` uses bearer tokens and is exempt.

Wiring, in ``create_app`` (see there: the sign-in gate and the body limit sit between)::

    web.add_middleware(CSRFMiddleware)                                   # inner: needs the session
    web.add_middleware(SessionMiddleware, **session_middleware_kwargs(settings))
    web.add_middleware(SecurityHeadersMiddleware, hsts=not settings.development)  # outermost

The policy has no 'unsafe-inline' and no 'unsafe-eval': the pages carry no inline script or style
attribute, htmx runs with ``allowEval`` off and without its injected indicator styles (static/app.js),
and the bpmn-js navigated viewer sets styles through the CSSOM only, which CSP allows
(tests/e2e/browser checks that no violation is reported while a diagram renders).
"""
from __future__ import annotations

import hmac
import os
import secrets
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse

if TYPE_CHECKING:
    from workflows.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: dict[str, str] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "cross-origin-opener-policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"  # a year; production only (development runs on plain HTTP)

SESSION_COOKIE = "cxp_session"
CSRF_SESSION_KEY = "csrf_token"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_EXEMPT_PREFIXES = ("/api/",)
CSRF_REFUSAL = ("This form has expired or did not come from this site "
                "(its security token does not match): reload the page and try again.")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
SPOOL_IN_MEMORY = 1024 * 1024  # a form body read for its token stays in memory up to this, then on disk
REPLAY_CHUNK = 64 * 1024


class SecurityHeadersMiddleware:
    """Adds :data:`SECURITY_HEADERS` to every HTTP response (a header the app set itself wins);
    ``Cache-Control: no-store`` to every answer that may carry personal or bank data and sets no cache
    policy of its own — HTML pages, every answer of the API under ``/api/``, every file download
    (``Content-Disposition``); and, with `hsts` (production, served over HTTPS),
    ``Strict-Transport-Security``."""

    def __init__(self, app: ASGIApp, headers: dict[str, str] | None = None, hsts: bool = False) -> None:
        self.app = app
        chosen = dict(headers or SECURITY_HEADERS)
        if hsts:
            chosen["strict-transport-security"] = HSTS
        self.headers = [(k.encode(), v.encode()) for k, v in chosen.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in self.headers if k not in present]
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                private = api or content_type.startswith(b"text/html") or b"content-disposition" in present
                if private and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --- the session ---------------------------------------------------------------------------------

def session_middleware_kwargs(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of Starlette's ``SessionMiddleware`` for these settings."""
    return {
        "secret_key": session_secret(settings),
        "session_cookie": SESSION_COOKIE,
        # the browser forgets the cookie with the session's absolute lifetime; the server ends the
        # session itself (workflows/services/sessions.py), whatever a saved copy of the cookie says
        "max_age": settings.session_hours * 3600,
        "same_site": "lax",
        "https_only": not settings.development,
        "path": "/",
    }


def session_secret(settings: Settings) -> str:
    """``settings.secret_key``; in development, when it is the shipped default, a key generated once
    per install and kept in ``<files_dir>/secrets/session-key`` (mode 0600), so that sessions survive a
    restart without every checkout sharing a published key. Production refuses the default already
    (Settings), so it always has its own."""
    from workflows.settings import DEV_SECRET

    if settings.secret_key != DEV_SECRET or not settings.development:
        return settings.secret_key
    path = Path(settings.files_dir) / "secrets" / "session-key"
    try:
        return _read_or_create_key(path)
    except OSError:  # a read-only folder: a key for this process's lifetime
        return secrets.token_urlsafe(32)


def _read_or_create_key(path: Path) -> str:
    if path.is_file():
        key = path.read_text(encoding="ascii").strip()
        if len(key) >= 32:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        out.write(key)
    return key


# --- CSRF ----------------------------------------------------------------------------------------

def csrf_token(request: Request) -> str:
    """The CSRF token of this session, created and stored on first use (needs SessionMiddleware)."""
    token = request.session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_SESSION_KEY] = token
    return token


def csrf_exempt(path: str) -> bool:
    return any(path.startswith(prefix) for prefix in CSRF_EXEMPT_PREFIXES)


def token_matches(expected: object, given: object) -> bool:
    """Constant-time comparison; a missing or non-text token never matches."""
    if not isinstance(expected, str) or not isinstance(given, str) or not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


async def submitted_token(request: Request) -> str | None:
    """The token a request carries: the ``X-CSRF-Token`` header, else the form field ``csrf_token``."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").split(";")[0].strip().lower() in FORM_TYPES:
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def check_csrf(request: Request) -> None:
    """A FastAPI/Starlette dependency: raises ``HTTPException(403)`` with a sentence when an unsafe
    request to a page does not carry this session's token. Safe methods and /api/ pass."""
    if request.method not in UNSAFE_METHODS or csrf_exempt(request.url.path):
        return
    if not token_matches(request.session.get(CSRF_SESSION_KEY), await submitted_token(request)):
        raise HTTPException(status_code=403, detail=CSRF_REFUSAL)


class CSRFMiddleware:
    """:func:`check_csrf` for every route at once (a page cannot forget it), as pure ASGI. Must sit
    inside ``SessionMiddleware`` (and inside ``BodyLimit``, which bounds what it reads). The refusal is
    a 403 with :data:`CSRF_REFUSAL` as plain text.

    What can be decided before the body is: a session without a token (nothing could match), a
    ``X-CSRF-Token`` header (compared at once; the application then streams the body itself), a body
    that is not a form (it cannot carry the field). Only a form without the header is read — into a
    spooled file, bounded by ``BodyLimit`` — checked, and replayed to the application unchanged. A form
    that cannot be read (no multipart boundary, more than 1,000 fields, a field above 1 MB) is a 400
    with a sentence."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS
                or csrf_exempt(scope["path"])):
            await self.app(scope, receive, send)
            return
        expected = scope["session"].get(CSRF_SESSION_KEY)
        headers = Headers(scope=scope)
        header = headers.get(CSRF_HEADER)
        if header or not isinstance(expected, str) or not expected or not _is_form(headers):
            if token_matches(expected, header):
                await self.app(scope, receive, send)
            else:
                await _refuse(scope, receive, send, 403, CSRF_REFUSAL)
            return
        async with SpooledBody(receive) as body:
            request = Request(scope, body.replay())
            try:
                given = (await request.form()).get(CSRF_FIELD)
            except HTTPException as err:  # Starlette's own sentence of what is wrong with the form
                await _refuse(scope, receive, send, 400, f"This form could not be read: {err.detail}")
                return
            finally:
                await request.close()  # temporary files of a multipart form
            if not token_matches(expected, given if isinstance(given, str) else None):
                await _refuse(scope, receive, send, 403, CSRF_REFUSAL)
                return
            await self.app(scope, body.replay(), send)


def _is_form(headers: Headers) -> bool:
    return headers.get("content-type", "").split(";")[0].strip().lower() in FORM_TYPES


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, sentence: str) -> None:
    await PlainTextResponse(sentence, status_code=status)(scope, receive, send)


class SpooledBody:
    """A request body read once into a temporary file (in memory up to :data:`SPOOL_IN_MEMORY`, on
    disk beyond), then replayed as many times as needed, chunk by chunk: ``async with
    SpooledBody(receive) as body: ... body.replay() ...``. Its size is bounded by whoever bounds
    `receive` (``BodyLimit``)."""

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.file: Any = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed by __aexit__
        self.size = 0

    async def __aenter__(self) -> SpooledBody:
        try:
            while True:
                message = await self.receive()
                if message["type"] != "http.request":
                    break  # the client went away: what came is what there is
                chunk = message.get("body", b"")
                self.size += len(chunk)
                if self.size > SPOOL_IN_MEMORY:  # on disk: not in the event loop
                    await run_in_threadpool(self.file.write, chunk)
                else:
                    self.file.write(chunk)
                if not message.get("more_body", False):
                    break
        except BaseException:
            self.file.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.file.close()

    def replay(self) -> Receive:
        """A `receive` that gives the body from its start, then waits on the real one (a disconnect)."""
        offset = 0
        done = False

        async def receive() -> Message:
            nonlocal offset, done
            if done:
                return await self.receive()
            self.file.seek(offset)
            chunk = self.file.read(REPLAY_CHUNK)
            offset += len(chunk)
            done = offset >= self.size
            return {"type": "http.request", "body": chunk, "more_body": not done}

        return receive
