"""ZIP archives that are the same bytes for the same content: sorted entries, fixed timestamps."""
from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping

FIXED = (1980, 1, 1, 0, 0, 0)


def zip_bytes(entries: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, entries[name])
    return buffer.getvalue()
