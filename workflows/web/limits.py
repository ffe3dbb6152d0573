"""Uploads above their limit are refused before their body is read (413), from the Content-Length
the client declares; a body without one is read and then checked by the use case."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tasks.forms import MAX_UPLOAD_BYTES

UPLOAD_LIMIT = MAX_UPLOAD_BYTES + 256 * 1024  # the file, plus the multipart envelope and form fields


class BodyLimit:
    """Pure ASGI middleware: a request declaring more than `limit` bytes is answered 413 at once."""

    def __init__(self, app: Callable[..., Any], limit: int = UPLOAD_LIMIT) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "http":
            declared = dict(scope.get("headers") or []).get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.limit:
                body = json.dumps({"detail": f"the request is {int(declared):,} bytes; uploads are limited to "
                                             f"{MAX_UPLOAD_BYTES:,} bytes (20 MB)"}).encode()
                await send({"type": "http.response.start", "status": 413,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
