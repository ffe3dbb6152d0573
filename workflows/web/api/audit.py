"""The audit trail for auditors: chain verification, the audit sample, an exchange's audit file."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from workflows.services.oversight import SampleOut, VerifyOut, audit_file, audit_sample, verify_audit
from workflows.web.deps import AppDep, PrincipalDep
from workflows.web.errors import SIGNED_IN, answers

router = APIRouter(prefix="/audit", responses=answers(*SIGNED_IN), tags=["audit"])


@router.get("/verify", response_model=VerifyOut)
def verify(cxp: AppDep, principal: PrincipalDep) -> VerifyOut:
    """Recompute the hash chains and check the anchors: `ok`, the number of `events`, and the
    `first_bad_event` changed, removed or inserted (a passing check appends an anchor when the last
    one is older than 15 minutes: asking again adds nothing to the trail)."""
    return verify_audit(cxp, principal)


@router.get("/sample", response_model=SampleOut)
def sample(cxp: AppDep, principal: PrincipalDep, size: Annotated[int, Query(ge=0, le=10_000)] = 10,
           seed: Annotated[int, Query(ge=0, le=2**31 - 1)] = 1) -> SampleOut:
    """A random sample of exchanges, reproducible from `seed`, plus every risk-flagged one."""
    return audit_sample(cxp, principal, size, seed)


@router.get("/sample/csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "the sample (exchange, reasons, seed)"}})
def sample_csv(cxp: AppDep, principal: PrincipalDep, size: Annotated[int, Query(ge=0, le=10_000)] = 10,
               seed: Annotated[int, Query(ge=0, le=2**31 - 1)] = 1) -> Response:
    """The audit sample as CSV, one exchange a line with the reasons it was picked."""
    from workflows.services.report_files import audit_sample_csv
    from workflows.web.attachments import attachment

    found = audit_sample_csv(cxp, principal, size, seed)
    return attachment(found.content, found.filename, found.media_type)


@router.get("/exchanges/{ref}/file", response_class=Response,
            responses={200: {"content": {"application/zip": {}}, "description": "the audit file (ZIP)"}})
def export(ref: str, cxp: AppDep, principal: PrincipalDep) -> Response:
    """An exchange's audit file: its events with the chain check, the diagram and a summary (ZIP)."""
    name, content = audit_file(cxp, principal, ref)
    return Response(content, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
