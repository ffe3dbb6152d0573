"""Finance pages: the payment batches (`/payments`), one batch with its lines, its pain.001 and CSV
files, its release (R-4EYES), and the import of the bank's answer (pain.002 or camt.054)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from workflows.services import Conflict, Refused, ServiceError
from workflows.services.access import imports_bank_files
from workflows.web.deps import get_app
from workflows.web.pages.common import PagePrincipal, flash, render

router = APIRouter(include_in_schema=False)

STATUSES = ("created", "released", "settled")
BANK_FILE_LIMIT = 20 * 1024 * 1024


@router.get("/payments", response_class=HTMLResponse)
def batches(request: Request, principal: PagePrincipal,
            status: Literal["", "created", "released", "settled"] = "") -> Response:
    """The batches the principal sees, newest first, optionally of one status."""
    from workflows.services.payments import list_batches

    found = list_batches(get_app(request), principal, status=status or None)
    return render(request, "payments.html", principal, nav_active="payments", batches=found, status=status,
                  statuses=STATUSES, imports_bank_files=imports_bank_files(principal))


@router.get("/payments/{batch}", response_class=HTMLResponse)
def batch(request: Request, principal: PagePrincipal, batch: str) -> Response:
    """One batch with its lines, its files, the release button and the bank-answer upload."""
    from workflows.services.payments import batch_detail

    detail = batch_detail(get_app(request), principal, batch)
    return render(request, "payments_batch.html", principal, nav_active="payments", batch=detail,
                  imports_bank_files=imports_bank_files(principal), release_error=None)


def _download(request: Request, principal: PagePrincipal, batch: str, kind: Literal["xml", "csv"]) -> Response:
    from workflows.services.downloads import batch_file

    found = batch_file(get_app(request), principal, batch, kind)
    return Response(found.content, media_type=found.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{found.filename}"',
                             "ETag": f'"{found.sha256}"', "Cache-Control": "no-store"})


@router.get("/payments/{batch}/pain001.xml")
def batch_xml(request: Request, principal: PagePrincipal, batch: str) -> Response:
    """The batch's SEPA credit-transfer file, the bytes that were committed."""
    return _download(request, principal, batch, "xml")


@router.get("/payments/{batch}/summary.csv")
def batch_csv(request: Request, principal: PagePrincipal, batch: str) -> Response:
    return _download(request, principal, batch, "csv")


@router.post("/payments/{batch}/release", response_class=HTMLResponse)
def release(request: Request, principal: PagePrincipal, batch: str,
            confirm: Annotated[str, Form(max_length=10)] = "", n_tx: Annotated[str, Form(max_length=12)] = "",
            control_sum: Annotated[str, Form(max_length=20)] = "") -> Response:
    """Release the batch once the person ticked the confirmation naming its count and sum (the page
    again, 422, without it; 409 when the batch no longer has the count and sum confirmed); a refusal
    (R-4EYES) or a lost race is said in words on the batch page."""
    from workflows.services.payments import batch_detail, release_batch

    detail = batch_detail(get_app(request), principal, batch)
    confirmed = (str(detail.n_tx), f"{detail.control_sum:.2f}")
    if confirm != "yes" or (n_tx, control_sum) != confirmed:
        problem = (f"Tick the box to confirm releasing {detail.n_tx} transfer(s) for EUR {detail.control_sum:,.2f}."
                   if confirm != "yes" else
                   f"The batch changed since you confirmed it: it now has {detail.n_tx} transfer(s) for EUR "
                   f"{detail.control_sum:,.2f}; check it and confirm again.")
        return render(request, "payments_batch.html", principal, status_code=422 if confirm != "yes" else 409,
                      nav_active="payments", batch=detail, release_error=problem,
                      imports_bank_files=imports_bank_files(principal))
    try:
        out = release_batch(get_app(request), batch, principal)
        flash(request, "success", f"Batch {out.batch} is released to the bank by {out.released_by}: "
                                  f"{detail.n_tx} transfer(s), EUR {detail.control_sum:,.2f}.")
    except Refused as err:
        flash(request, "error", f"The batch was not released: {err}")
    except Conflict as err:
        flash(request, "warning", f"The batch was not released: {err}")
    except ServiceError as err:  # e.g. already released: not a refusal, still a sentence
        flash(request, "warning", f"The batch was not released: {err}")
    return RedirectResponse(f"/payments/{batch}", status_code=303)


@router.post("/payments/bank-files", response_class=HTMLResponse)
def bank_file(request: Request, principal: PagePrincipal,
              file: Annotated[UploadFile | None, File()] = None,
              batch: Annotated[str, Form(max_length=60)] = "") -> Response:
    """Apply the bank's answer once; show what it said, or what is wrong with the file (nothing imported)."""
    from workflows.services.bank_feedback import import_status

    name = (file.filename or "the upload") if file is not None else ""
    data = file.file.read(BANK_FILE_LIMIT + 1) if file is not None else b""
    context: dict[str, Any] = {"nav_active": "payments", "filename": name, "batch_ref": batch,
               "back": f"/payments/{batch}" if batch else "/payments",
               "imports_bank_files": imports_bank_files(principal)}
    problem = None
    if not data:
        problem = "Choose the bank's file (a pain.002 status report or a camt.054 notification) to upload."
    elif len(data) > BANK_FILE_LIMIT:
        problem = f"{name} is larger than {BANK_FILE_LIMIT:,} bytes, more than a bank file may have; nothing was imported."
    elif not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        problem = f"{name} is not an XML file: upload a pain.002 or camt.054 file; nothing was imported."
    if problem:
        return render(request, "payments_import.html", principal, status_code=422, error=problem, **context)
    source = f"web {request.client.host if request.client else ''} upload {name}".replace("  ", " ")
    try:
        result = import_status(get_app(request), data, source, principal, filename=name)
    except Refused as err:
        return render(request, "payments_import.html", principal, status_code=403, error=str(err), **context)
    except ServiceError as err:
        return render(request, "payments_import.html", principal, status_code=422, error=str(err), **context)
    return render(request, "payments_import.html", principal, result=result, **context)
