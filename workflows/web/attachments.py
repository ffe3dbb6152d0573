"""A file handed to the browser to save, never to display: `Content-Disposition: attachment` with
the name in ASCII and in UTF-8 (RFC 6266 / 5987), the type the content was judged to be, and
`Cache-Control: no-store` (evidence and bank files carry personal data)."""
from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import Response


def disposition(filename: str) -> str:
    """`attachment; filename="…"; filename*=UTF-8''…` for any file name (quotes, non-Latin scripts)."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def attachment(content: bytes, filename: str, media_type: str) -> Response:
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": disposition(filename), "Cache-Control": "no-store",
                             "X-Content-Type-Options": "nosniff"})
