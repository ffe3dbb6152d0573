"""Evidence files of an exchange: uploaded once, stored by content hash outside any web root, with
size and type limits judged by the content (its first bytes), never by the file's name.

The closing report (`submit_evidence`) then names each document by the hash this returns."""
from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import get_args

from pydantic import BaseModel
from sqlalchemy import select

from tasks.forms import MAX_UPLOAD_BYTES, EvidenceDocument
from workflows.app import App
from workflows.db.models import EvidenceFile, Exchange, User
from workflows.services import Conflict, Invalid, TooLarge, WrongType
from workflows.services.access import Principal, may_upload_evidence, refuse, visible_exchange
from workflows.services.lifecycle import instance_for
from workflows.uow import UnitOfWork

ACCEPTED_TYPES = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG"}
KINDS: tuple[str, ...] = get_args(EvidenceDocument.model_fields["kind"].annotation)
FINAL_STATUSES = frozenset({"closed", "ineligible", "cancelled", "not_matched", "rejected", "withdrawn"})


class EvidenceFileOut(BaseModel):
    exchange: str
    sha256: str
    filename: str
    kind: str
    media_type: str
    size: int
    uploaded_by: str | None
    uploaded_at: datetime
    already_stored: bool = False


def media_type_of(data: bytes) -> str | None:
    """The media type the content's own signature gives (PDF, PNG, JPEG), or None."""
    import filetype

    guess = filetype.guess(data[:8192])
    return guess.mime if guess is not None and guess.mime in ACCEPTED_TYPES else None


def clean_filename(name: str) -> str:
    """The last part of a path a browser sent, without control characters; `Invalid` when empty."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] != "C").strip()
    if not base or base in (".", ".."):
        raise Invalid.field("file", "has no file name")
    return base[:255]


def check_upload(data: bytes, filename: str, kind: str) -> tuple[str, str]:
    """(clean file name, media type), or the error naming what is wrong: the size (413), the content
    (415), the kind or the name (422)."""
    if kind not in KINDS:
        raise Invalid.field("kind", f"{kind!r} is not a kind of evidence ({', '.join(KINDS)})")
    name = clean_filename(filename)
    if not data:
        raise Invalid.field("file", "is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"file: {len(data):,} bytes is above the limit of {MAX_UPLOAD_BYTES:,} bytes (20 MB)")
    media_type = media_type_of(data)
    if media_type is None:
        raise WrongType(f"file: {name} is not a PDF, PNG or JPEG file (judged by its content)")
    return name, media_type


def evidence_path(app: App, sha256: str) -> Path:
    """Where the content with this hash is kept: under the files folder, never a served folder."""
    return Path(app.settings.files_dir).resolve() / "evidence" / sha256[:2] / sha256[2:4] / sha256


def _store(path: Path, data: bytes) -> None:
    """Write once, atomically (a crash leaves no half file under the final name)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def upload_evidence(app: App, principal: Principal, exchange_ref: str, filename: str, kind: str,
                    data: bytes) -> EvidenceFileOut:
    """Store one evidence file for the exchange and record it (audited `evidence_uploaded`). The same
    content uploaded again for the exchange is recorded once (`already_stored`)."""
    name, media_type = check_upload(data, filename, kind)
    digest = hashlib.sha256(data).hexdigest()
    with app.uow() as uow:
        exchange = visible_exchange(uow, principal, exchange_ref)
        instance_id = instance_for(uow, "exchange", exchange.id).id
        problem = may_upload_evidence(principal, exchange)
        if problem:
            refuse(app, uow, principal, problem, instance_id=instance_id, subject=exchange.ref)
        if exchange.status in FINAL_STATUSES or exchange.host_org_id is None:
            raise Conflict(f"exchange {exchange.ref} is {exchange.status}: evidence is uploaded once it is "
                           "matched and until it is closed")
        known = uow.session.scalars(select(EvidenceFile).where(
            EvidenceFile.exchange_id == exchange.id, EvidenceFile.sha256 == digest)).first()
        if known is not None:
            return _out(uow, exchange, known, already_stored=True)
        _store(evidence_path(app, digest), data)
        row = EvidenceFile(exchange_id=exchange.id, sha256=digest, filename=name, kind=kind, media_type=media_type,
                           size=len(data), uploaded_by=principal.user_id, uploaded_at=uow.now())
        uow.session.add(row)
        uow.session.flush()
        uow.audit(principal.actor, "evidence_uploaded", instance_id=instance_id, subject=exchange.ref,
                  after={"sha256": digest, "filename": name, "kind": kind, "media_type": media_type, "size": len(data)})
        out = _out(uow, exchange, row)
        uow.commit()
        return out


def list_evidence(app: App, principal: Principal, exchange_ref: str) -> list[EvidenceFileOut]:
    """The evidence files recorded for an exchange the principal sees, oldest first."""
    with app.uow() as uow:
        exchange = visible_exchange(uow, principal, exchange_ref)
        rows = uow.session.scalars(select(EvidenceFile).where(EvidenceFile.exchange_id == exchange.id)
                                   .order_by(EvidenceFile.id))
        return [_out(uow, exchange, row) for row in rows]


def _out(uow: UnitOfWork, exchange: Exchange, row: EvidenceFile, already_stored: bool = False) -> EvidenceFileOut:
    user = uow.session.get(User, row.uploaded_by) if row.uploaded_by else None
    return EvidenceFileOut(exchange=exchange.ref, sha256=row.sha256, filename=row.filename, kind=row.kind,
                           media_type=row.media_type, size=row.size, uploaded_by=user.username if user else None,
                           uploaded_at=row.uploaded_at, already_stored=already_stored)

