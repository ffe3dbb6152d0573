"""Every request body is bounded while it streams, by the kind of route it goes to.

A body declaring more than its route's limit (`Content-Length`) is refused at once; a body that does
not declare its size (chunked) is counted as the application reads it, and the read that passes the
limit raises :class:`BodyTooLarge` — so nobody, signed in or not, makes the server hold more than the
limit of one request. Either way the answer is a 413 with a sentence saying the limit, and
``Connection: close``, so that the client stops sending.

The limits (:func:`body_limit`): sign-in and sign-out forms 64 KB; the two uploads (evidence files and
the bank's files) 20 MB and their multipart envelope; every other form and JSON body 1 MB.
"""
from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException

from tasks.forms import MAX_UPLOAD_BYTES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SIGN_IN_LIMIT = 64 * 1024
FORM_LIMIT = 1024 * 1024
UPLOAD_LIMIT = MAX_UPLOAD_BYTES + 256 * 1024  # the file, plus the multipart envelope and form fields

SIGN_IN_PATHS = frozenset({"/login", "/logout", "/api/auth/token"})
UPLOAD_PATHS = re.compile(r"^(/api)?/(exchanges/[^/]+/evidence|payments/bank-files)/?$")


@dataclass(frozen=True)
class Limit:
    """The most bytes a request body may have, that limit in words, and what it is the limit of."""

    size: int
    words: str
    what: str

    def sentence(self, declared: int | None = None) -> str:
        start = f"the request is {declared:,} bytes, larger" if declared is not None else "the request body is larger"
        return f"{start} than {self.words}, the limit of {self.what} ({self.size:,} bytes)"


SIGN_IN = Limit(SIGN_IN_LIMIT, "64 KB", "a sign-in form")
FORM = Limit(FORM_LIMIT, "1 MB", "a form or JSON body")
UPLOAD = Limit(UPLOAD_LIMIT, f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB for the file and 256 KB for the rest of its form",
               "an upload")


def body_limit(path: str) -> Limit:
    """The limit of a request to `path`: the uploads' own, the sign-in forms', or that of every form."""
    if UPLOAD_PATHS.match(path):
        return UPLOAD
    if path in SIGN_IN_PATHS:
        return SIGN_IN
    return FORM


class BodyTooLarge(HTTPException):
    """A body read past its limit: 413, and the connection closed after the answer. An HTTPException,
    so that a route whose parsing hits it answers through the application's own error handlers."""

    def __init__(self, limit: Limit, declared: int | None = None) -> None:
        super().__init__(413, limit.sentence(declared), headers={"connection": "close"})


class BodyLimit:
    """Pure ASGI middleware: the body of every HTTP request bounded by `limit_of(path)` (see the
    module's docstring). Must sit outside everything that reads a body."""

    def __init__(self, app: ASGIApp, limit_of: Callable[[str], Limit] = body_limit) -> None:
        self.app, self.limit_of = app, limit_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit.size:
            await refuse(scope, send, BodyTooLarge(limit, declared))
            return
        received = 0
        started = False

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.size:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, watched_send)
        except BodyTooLarge as err:  # read by a middleware, outside the application's error handlers
            if started:
                raise
            await refuse(scope, send, err)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def refuse(scope: Scope, send: Send, err: HTTPException) -> None:
    """Answer `err` directly (outside the application): JSON `{detail}` for the API, a plain sentence
    for a page."""
    if scope["path"].startswith("/api/"):
        body, media = json.dumps({"detail": err.detail}).encode(), b"application/json"
    else:
        body, media = f"{err.detail[:1].upper()}{err.detail[1:]}.".encode(), b"text/plain; charset=utf-8"
    headers = [(b"content-type", media), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (err.headers or {}).items()]
    await send({"type": "http.response.start", "status": err.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
