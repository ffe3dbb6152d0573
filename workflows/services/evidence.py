"""Evidence files of an exchange: uploaded once, stored by content hash outside any web root
(`evidence_store`), with size and type limits judged by the content (its first bytes), never by the
file's name; accepted from the match until the exchange is closed.

The closing report (`submit_evidence`) then names each document by the hash this returns."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import get_args

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tasks.forms import MAX_UPLOAD_BYTES, EvidenceDocument
from workflows.app import App
from workflows.db.models import EvidenceFile, Exchange, User
from workflows.services import Conflict, Invalid, NotFound, TooLarge, WrongType
from workflows.services.access import Principal, may_open_evidence, may_upload_evidence, refuse, visible_exchange
from workflows.services.evidence_store import discard, evidence_path, link, write_temporary
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


def upload_evidence(app: App, principal: Principal, exchange_ref: str, filename: str, kind: str,
                    data: bytes) -> EvidenceFileOut:
    """Store one evidence file for the exchange and record it (audited `evidence_uploaded`). The same
    content uploaded again for the exchange — one after the other or at the same moment — is the one
    file recorded once (`already_stored`).

    The checks run first without writing anything (a refused upload touches no disk); the file is
    then written beside the store, and the transaction that records it takes SQLite's write lock
    first, waiting its turn behind other writers rather than failing (see `evidence_store`)."""
    name, media_type = check_upload(data, filename, kind)
    digest = hashlib.sha256(data).hexdigest()
    with app.uow() as uow:
        _open_exchange(app, uow, principal, exchange_ref)
    final = evidence_path(app, digest)
    temporary = write_temporary(final, data)
    try:
        try:
            out = _record(app, principal, exchange_ref, temporary, final,
                          EvidenceFacts(digest, name, kind, media_type, len(data)))
        except IntegrityError:  # PostgreSQL: the same content recorded by a racing upload meanwhile
            known = _known(app, principal, exchange_ref, digest)
            if known is None:
                raise
            out = known
        if not final.exists():  # a sweep took an orphan of the same content meanwhile
            link(temporary, final)
        return out
    finally:
        discard(temporary)


@dataclass(frozen=True)
class EvidenceFacts:
    sha256: str
    filename: str
    kind: str
    media_type: str
    size: int


def _open_exchange(app: App, uow: UnitOfWork, principal: Principal, exchange_ref: str) -> tuple[Exchange, int]:
    """The exchange and its process instance, if the principal sees it (else `NotFound`), may upload
    its evidence (else refused, audited) and its evidence still matters (else `Conflict`)."""
    exchange = visible_exchange(uow, principal, exchange_ref)
    instance = instance_for(uow, "exchange", exchange.id)
    problem = may_upload_evidence(principal, exchange)
    if problem:
        refuse(app, uow, principal, problem, instance_id=instance.id, subject=exchange.ref)
    if exchange.host_org_id is None:
        raise Conflict(f"exchange {exchange.ref} is {exchange.status}: evidence is uploaded once it is matched")
    if exchange.status in FINAL_STATUSES:
        raise Conflict(f"exchange {exchange.ref} is {exchange.status}: its evidence is no longer accepted")
    if instance.status == "completed":
        how = "paid and closed" if exchange.status == "paid" else "closed without a grant"
        raise Conflict(f"exchange {exchange.ref} was {how}: its evidence is no longer accepted")
    return exchange, instance.id


def _record(app: App, principal: Principal, exchange_ref: str, temporary: Path, final: Path,
            facts: EvidenceFacts) -> EvidenceFileOut:
    with app.uow() as uow:
        uow.write_lock()
        exchange, instance_id = _open_exchange(app, uow, principal, exchange_ref)
        known = uow.session.scalars(select(EvidenceFile).where(
            EvidenceFile.exchange_id == exchange.id, EvidenceFile.sha256 == facts.sha256)).first()
        if known is not None:
            return _out(uow, exchange, known, already_stored=True)
        row = EvidenceFile(exchange_id=exchange.id, sha256=facts.sha256, filename=facts.filename, kind=facts.kind,
                           media_type=facts.media_type, size=facts.size, uploaded_by=principal.user_id,
                           uploaded_at=uow.now())
        uow.session.add(row)
        uow.session.flush()
        uow.audit(principal.actor, "evidence_uploaded", instance_id=instance_id, subject=exchange.ref,
                  after={"sha256": facts.sha256, "filename": facts.filename, "kind": facts.kind,
                         "media_type": facts.media_type, "size": facts.size})
        out = _out(uow, exchange, row)
        link(temporary, final)  # a crash from here to the commit leaves an orphan the sweep removes
        uow.commit()
        return out


def _known(app: App, principal: Principal, exchange_ref: str, sha256: str) -> EvidenceFileOut | None:
    """The row a racing upload of the same content committed (`already_stored`), if there is one."""
    with app.uow() as uow:
        exchange = visible_exchange(uow, principal, exchange_ref)
        row = uow.session.scalars(select(EvidenceFile).where(
            EvidenceFile.exchange_id == exchange.id, EvidenceFile.sha256 == sha256)).first()
        return None if row is None else _out(uow, exchange, row, already_stored=True)


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



def open_evidence(app: App, principal: Principal, exchange_ref: str, sha256: str) -> tuple[EvidenceFileOut, bytes]:
    """One uploaded file of an exchange the principal sees and may open (else refused, audited as
    `evidence_refused`): its record and its bytes, read from the store (never a served folder) and
    checked against its hash. A hash not uploaded for this exchange is `NotFound`, even when another
    exchange holds that content."""
    with app.uow() as uow:
        exchange = visible_exchange(uow, principal, exchange_ref)
        problem = may_open_evidence(principal, exchange.ref)
        if problem:
            refuse(app, uow, principal, problem, "evidence_refused", subject=exchange.ref,
                   after={"sha256": sha256[:64]})
        row = uow.session.scalars(select(EvidenceFile).where(
            EvidenceFile.exchange_id == exchange.id, EvidenceFile.sha256 == sha256.lower())).first()
        if row is None:
            raise NotFound(f"exchange {exchange.ref} has no evidence file {sha256[:64]}")
        out = _out(uow, exchange, row)
    path = evidence_path(app, out.sha256)
    data = path.read_bytes() if path.is_file() else b""
    if hashlib.sha256(data).hexdigest() != out.sha256:
        raise Conflict(f"evidence file {out.filename} of {out.exchange} is missing or changed in the store "
                       "(its content no longer has the recorded SHA-256)")
    return out, data
