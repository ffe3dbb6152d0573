"""Payment batches (list, detail, pain.001 and CSV files, release) and the bank's answers."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response

from workflows.services.outputs import BankImportOut, BatchDetailOut, BatchOut, ReleaseOut
from workflows.web.deps import AppDep, PrincipalDep, client_of
from workflows.web.errors import SIGNED_IN, answers

router = APIRouter(prefix="/payments", responses=answers(*SIGNED_IN), tags=["payments"])

BANK_FILE_LIMIT = 20 * 1024 * 1024


@router.get("/batches", response_model=list[BatchOut])
def batches(cxp: AppDep, principal: PrincipalDep,
            status: Literal["created", "released", "settled"] | None = None) -> list[BatchOut]:
    """The batches the caller may see, newest first."""
    from workflows.services.payments import list_batches

    return list_batches(cxp, principal, status=status)


@router.get("/batches/{batch}", response_model=BatchDetailOut)
def batch(batch: str, cxp: AppDep, principal: PrincipalDep) -> BatchDetailOut:
    """One batch (by id or message id) with its lines and what the bank said of each."""
    from workflows.services.payments import batch_detail

    return batch_detail(cxp, principal, batch)


def _download(cxp: AppDep, principal: PrincipalDep, batch: str, kind: Literal["xml", "csv"]) -> Response:
    from workflows.services.downloads import batch_file

    found = batch_file(cxp, principal, batch, kind)
    return Response(found.content, media_type=found.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{found.filename}"',
                             "ETag": f'"{found.sha256}"'})


@router.get("/batches/{batch}/file", response_class=Response,
            responses={200: {"content": {"application/xml": {}}, "description": "the pain.001 file"}})
def batch_xml(batch: str, cxp: AppDep, principal: PrincipalDep) -> Response:
    """The batch's SEPA credit-transfer file (pain.001), the same bytes as committed."""
    return _download(cxp, principal, batch, "xml")


@router.get("/batches/{batch}/csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "the summary"}})
def batch_csv(batch: str, cxp: AppDep, principal: PrincipalDep) -> Response:
    """The batch's summary as CSV."""
    return _download(cxp, principal, batch, "csv")


@router.post("/batches/{batch}/release", response_model=ReleaseOut,
             responses=answers(409))
def release(batch: str, cxp: AppDep, principal: PrincipalDep) -> ReleaseOut:
    """Release the batch to the bank (finance of its partnership; R-4EYES: not whoever approved one
    of its payments)."""
    from workflows.services.payments import release_batch

    return release_batch(cxp, batch, principal)


@router.post("/bank-files", response_model=BankImportOut,
             responses=answers(409, 413, 415))
def bank_file(request: Request, cxp: AppDep, principal: PrincipalDep,
              file: Annotated[UploadFile, File(description="a pain.002 or camt.054 file")]) -> BankImportOut:
    """Apply the bank's answer (pain.002 status report or camt.054 notification) once."""
    from workflows.services import TooLarge, WrongType
    from workflows.services.bank_feedback import import_status

    data = file.file.read(BANK_FILE_LIMIT + 1)
    if len(data) > BANK_FILE_LIMIT:
        raise TooLarge(f"file: above the limit of {BANK_FILE_LIMIT:,} bytes")
    if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise WrongType(f"file: {file.filename or 'the upload'} is not an XML file (pain.002 or camt.054)")
    return import_status(cxp, data, f"{client_of(request)} upload {file.filename or ''}".strip(), principal,
                         filename=file.filename or "the uploaded file")
