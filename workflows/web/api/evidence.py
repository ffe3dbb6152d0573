"""Evidence files of an exchange: upload one (multipart), list them, download one."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Response, UploadFile

from tasks.forms import MAX_UPLOAD_BYTES
from workflows.services.evidence import KINDS, EvidenceFileOut, list_evidence, open_evidence, upload_evidence
from workflows.web.attachments import attachment
from workflows.web.deps import AppDep, PrincipalDep
from workflows.web.errors import SIGNED_IN, answers

router = APIRouter(prefix="/exchanges", responses=answers(*SIGNED_IN), tags=["exchanges"])


@router.post("/{ref}/evidence", response_model=EvidenceFileOut, status_code=201,
             responses={200: {"model": EvidenceFileOut, "description": "the same content was already stored for "
                                                                     "the exchange: the file as recorded then"},
                        **answers(409, 413, 415)})
def upload(ref: str, cxp: AppDep, principal: PrincipalDep, response: Response, file: Annotated[UploadFile, File()],
           kind: Annotated[str, Form(description=f"one of {', '.join(KINDS)}")] = "other") -> EvidenceFileOut:
    """Upload one evidence file (PDF, PNG or JPEG, judged by content; at most 20 MB): 201 when stored,
    200 when the same content was already there (`already_stored`). Its SHA-256 is what the closing
    report names."""
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    out = upload_evidence(cxp, principal, ref, file.filename or "", kind, data)
    if out.already_stored:
        response.status_code = 200
    return out


@router.get("/{ref}/evidence", response_model=list[EvidenceFileOut])
def evidence(ref: str, cxp: AppDep, principal: PrincipalDep) -> list[EvidenceFileOut]:
    """The evidence files uploaded for the exchange."""
    return list_evidence(cxp, principal, ref)


Sha256 = Annotated[str, Path(pattern=r"^[0-9a-fA-F]{64}$", description="the file's SHA-256 (64 hex digits)")]


@router.get("/{ref}/evidence/{sha256}", response_class=Response,
            responses={200: {"content": {"application/pdf": {}, "image/png": {}, "image/jpeg": {}},
                             "description": "the file, as an attachment"}, **answers(409)})
def download(ref: str, sha256: Sha256, cxp: AppDep, principal: PrincipalDep) -> Response:
    """One evidence file of the exchange (its officers, its organisations, auditors, administrators),
    with its recorded type, as an attachment; 409 when the store no longer holds its content."""
    out, data = open_evidence(cxp, principal, ref, sha256)
    return attachment(data, out.filename, out.media_type)
