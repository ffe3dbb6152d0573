"""Exchanges: the search (`/exchanges`), one exchange (`/exchanges/{ref}`) with its evidence files,
and the evidence upload (`POST /exchanges/{ref}/evidence`, multipart): the hash, size and type shown
after it, or the refusal in words (too large, not a PDF/PNG/JPEG, a missing file or kind)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tasks.forms import MAX_UPLOAD_BYTES
from workflows.services import Conflict, Invalid, Refused, TooLarge, WrongType
from workflows.web.deps import get_app
from workflows.web.pages.common import PagePrincipal, flash, render
from workflows.web.pages.work_common import blank_is_none, url_with

router = APIRouter(include_in_schema=False)

STATUSES = ("submitted", "eligible", "ineligible", "awaiting_match", "matched", "committed", "waiting_budget",
            "evidence_submitted", "grant_computed", "awaiting_payment", "paid", "closed", "cancelled",
            "not_matched", "rejected", "withdrawn")
UPLOADERS = ("applicant", "officer", "administrator")  # who sees the form; the service decides who may
Text = Annotated[str | None, Query(max_length=120)]


@router.get("/exchanges", response_class=HTMLResponse)
def search(request: Request, principal: PagePrincipal, q: Text = None, status: Text = None,
           country: Text = None, page: Annotated[int, Query(ge=1, le=100_000)] = 1,
           page_size: Annotated[int, Query(ge=1, le=200)] = 50) -> Response:
    from workflows.services.exchange_search import search_exchanges

    text, status_name, country_code = blank_is_none(q), blank_is_none(status), blank_is_none(country)
    filters = {"q": text, "status": status_name, "country": country_code,
               "page_size": page_size if page_size != 50 else None}
    found = search_exchanges(get_app(request), principal, q=text, status=status_name, country=country_code,
                             page=page, page_size=page_size)
    return render(request, "exchanges.html", principal, nav_active="exchanges", found=found, filters=filters,
                  statuses=STATUSES, page=page, last_page=max(1, -(-found.total // page_size)),
                  url=lambda **changes: url_with("/exchanges", filters, **changes))


def exchange_page_with(request: Request, principal: Any, ref: str, status_code: int = 200, upload_error: str | None = None,
          kind: str = "", error_field: str = "file", action_form: str = "",
          action_errors: dict[str, str] | None = None, action_values: dict[str, str] | None = None) -> HTMLResponse:
    """The exchange page; `action_form` names the action form (cancel, extension, decision) shown
    again with `action_errors` (field → sentence) and the values posted."""
    from workflows.services.access import may_open_evidence
    from workflows.services.evidence import KINDS, list_evidence
    from workflows.services.exchange_search import exchange_detail
    from workflows.services.exchanges import exchange_actions
    from workflows.services.incidents import INCIDENT_READERS, list_incidents

    cxp = get_app(request)
    exchange = exchange_detail(cxp, principal, ref)
    files = list_evidence(cxp, principal, exchange.ref)
    incidents = list_incidents(cxp, principal, exchange.ref) if principal.role in INCIDENT_READERS else []
    uploaded = request.query_params.get("uploaded")
    return render(request, "exchange.html", principal, status_code=status_code, nav_active="exchanges",
                  exchange=exchange, files=files, kinds=KINDS, kind=kind, upload_error=upload_error, error_field=error_field,
                  may_upload_form=principal.role in UPLOADERS,
                  may_open_files=may_open_evidence(principal, exchange.ref) is None, max_mb=MAX_UPLOAD_BYTES // 1_000_000,
                  just_uploaded=next((f for f in files if f.sha256 == uploaded), None),
                  actions=exchange_actions(cxp, principal, exchange.ref), incidents=incidents,
                  action_form=action_form, action_errors=action_errors or {}, action_values=action_values or {})


@router.get("/exchanges/{ref}", response_class=HTMLResponse)
def exchange_page(request: Request, ref: str, principal: PagePrincipal) -> Response:
    return exchange_page_with(request, principal, ref)


@router.get("/exchanges/{ref}/evidence/{sha256}")
def download(ref: str, sha256: Annotated[str, Path(pattern=r"^[0-9a-fA-F]{64}$")], principal: PagePrincipal,
             request: Request) -> Response:
    """One evidence file, as an attachment (the service decides who may open it)."""
    from workflows.services.evidence import open_evidence
    from workflows.web.attachments import attachment

    out, data = open_evidence(get_app(request), principal, ref, sha256)
    return attachment(data, out.filename, out.media_type)


@router.post("/exchanges/{ref}/evidence", response_class=HTMLResponse)
def upload(request: Request, ref: str, principal: PagePrincipal,
           file: Annotated[UploadFile | None, File()] = None,
           kind: Annotated[str, Form(max_length=40)] = "",
           next: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Store one evidence file; a refusal re-renders the page with its sentence (413/415/422). From a
    task page (`next`, the closing report's form): back there, the file ticked, or the refusal said."""
    from workflows.services.evidence import upload_evidence

    if next:
        return _upload_from_task(request, principal, ref, file, kind, next)

    data = file.file.read(MAX_UPLOAD_BYTES + 1) if file is not None else b""
    name = (file.filename if file is not None else "") or ""
    try:
        if not kind:
            raise Invalid.field("kind", "choose what kind of document the file is")
        out = upload_evidence(get_app(request), principal, ref, name, kind, data)
    except TooLarge as err:
        return exchange_page_with(request, principal, ref, 413, f"The file is too large: {err}", kind)
    except WrongType as err:
        return exchange_page_with(request, principal, ref, 415, f"This kind of file is not accepted: {err}", kind)
    except Invalid as err:
        field = "kind" if any(f.loc[:1] == ("kind",) for f in err.fields or []) else "file"
        return exchange_page_with(request, principal, ref, 422, _sentence(err), kind, field)
    except (Refused, Conflict) as err:
        flash(request, "error", str(err))
        return RedirectResponse(f"/exchanges/{ref}", status_code=303)
    again = " (this file was already uploaded: it is kept once)" if out.already_stored else ""
    flash(request, "success", f"Uploaded {out.filename}{again}; its SHA-256 is shown below.")
    return RedirectResponse(f"/exchanges/{out.exchange}?uploaded={out.sha256}#evidence", status_code=303)


def _sentence(err: Invalid) -> str:
    """The field errors as one sentence for the field they name ("is empty", "has no file name")."""
    fields = getattr(err, "fields", None) or []
    if fields:
        texts = [f"The file {f.msg}" if f.loc == ("file",) else f.msg[:1].upper() + f.msg[1:] for f in fields]
        return "; ".join(texts).rstrip(".") + "."
    return str(err)


def _upload_from_task(request: Request, principal: Any, ref: str, file: UploadFile | None, kind: str,
                      next_url: str) -> Response:
    """The closing report's page uploads here: back to it with the new file ticked (`uploaded`), or with
    the refusal in words (the file's name and what is wrong; nothing stored)."""
    from workflows.services.evidence import upload_evidence
    from workflows.web.pages.common import safe_next

    target = safe_next(next_url)
    data = file.file.read(MAX_UPLOAD_BYTES + 1) if file is not None else b""
    name = (file.filename if file is not None else "") or ""
    try:
        out = upload_evidence(get_app(request), principal, ref, name, kind or "other", data)
    except Invalid as err:
        flash(request, "error", f"The file was not uploaded: {_sentence(err)}")
        return RedirectResponse(target, status_code=303)
    except (TooLarge, WrongType, Refused, Conflict) as err:
        flash(request, "error", f"The file was not uploaded: {err}")
        return RedirectResponse(target, status_code=303)
    flash(request, "success", f"Uploaded {out.filename}; it is ticked below for the report.")
    joiner = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{joiner}uploaded={out.sha256}#field-documents", status_code=303)
