"""The content-addressed store of evidence files: `<files_dir>/evidence/ab/cd/<sha256>`, outside any
web root, written so that no upload — refused, racing another, or killed half-way — leaves a half
file under a final name or a file nobody recorded.

Write-then-link: an upload is first written to a temporary file of its own in the folder of its
final name (:func:`write_temporary`: a unique name, flushed to disk), before any lock is taken. Its
transaction links it under the final name (:func:`link`) just before it commits, and makes sure it is
still there just after (a sweep may have taken an orphan of the same content meanwhile); the
temporary file is removed either way. Two uploads of the same content link the same bytes: the
second finds the name taken, which is the same file.

What a killed process leaves behind — a temporary file, or a final file whose transaction did not
commit — is removed by :func:`sweep_evidence` once it is older than the grace period, a function the
outbox job calls (workflows/flows).
"""
from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import select

from workflows.app import App
from workflows.db.models import EvidenceFile

TEMPORARY_PREFIX, TEMPORARY_SUFFIX = ".upload-", ".tmp"
LEGACY_PARTIAL = ".partial"  # what the store wrote before (one shared name per content: the rename race)
FINAL_NAME = re.compile(r"^[0-9a-f]{64}$")
GRACE = timedelta(hours=1)  # far longer than an upload's transaction; what is older is left over
_CHUNK = 500


def evidence_root(app: App) -> Path:
    return Path(app.settings.files_dir).resolve() / "evidence"


def evidence_path(app: App, sha256: str) -> Path:
    """Where the content with this hash is kept: under the files folder, never a served folder."""
    return evidence_root(app) / sha256[:2] / sha256[2:4] / sha256


def write_temporary(final: Path, data: bytes) -> Path:
    """`data` in a new temporary file beside `final` (same folder, so that linking it is atomic),
    flushed to disk; its path."""
    final.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, suffix=TEMPORARY_SUFFIX, dir=final.parent)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def link(temporary: Path, final: Path) -> None:
    """Give the temporary file its final name (a hard link: the temporary name stays until
    `discard`). A final name already there holds the same bytes (it is their hash): it is kept, and
    its time refreshed so that a sweep sees it as new."""
    try:
        os.link(temporary, final)
    except FileExistsError:
        os.utime(final)


def discard(temporary: Path) -> None:
    temporary.unlink(missing_ok=True)


class SweepOut(BaseModel):
    """What a sweep removed: temporary files left by uploads that never finished, and stored files
    no evidence row names (an upload killed between linking and committing)."""

    temporaries: int = 0
    orphans: int = 0


def sweep_evidence(app: App, older_than: timedelta = GRACE) -> SweepOut:
    """Remove the store's leftovers older than `older_than` (by their files' times, on the wall
    clock): temporary files, and final files that no `evidence_files` row names."""
    root = evidence_root(app)
    if not root.is_dir():
        return SweepOut()
    cutoff = time.time() - older_than.total_seconds()
    out = SweepOut()
    candidates: list[Path] = []
    for path in _files(root):
        name = path.name
        if name.startswith(TEMPORARY_PREFIX) or name.endswith(LEGACY_PARTIAL):
            if _older(path, cutoff):
                path.unlink(missing_ok=True)
                out.temporaries += 1
        elif FINAL_NAME.match(name) and _older(path, cutoff):
            candidates.append(path)
    for start in range(0, len(candidates), _CHUNK):
        chunk = candidates[start:start + _CHUNK]
        with app.uow() as uow:
            named = set(uow.session.scalars(select(EvidenceFile.sha256).where(
                EvidenceFile.sha256.in_([p.name for p in chunk]))))
        for path in chunk:
            # looked at again just before: an upload of the same content refreshes its time
            if path.name not in named and _older(path, cutoff):
                path.unlink(missing_ok=True)
                out.orphans += 1
    return out


def _files(root: Path) -> Iterator[Path]:
    for folder, _, names in os.walk(root):
        for name in names:
            yield Path(folder) / name


def _older(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False
