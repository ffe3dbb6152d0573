"""Process versions in the workspace (`/admin/processes`): every deployed version and a form to
deploy a new one; one version (`/admin/processes/{id}`) with what changed, its history and the running
instances it could take — a dry run first, then the migration of the instances chosen, and a rollback
of each move. The use cases decide who may (administrators; auditors read); a refusal is the 403 page."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from workflows.services import Conflict, Invalid, ServiceError
from workflows.services.access import Principal
from workflows.services.process_versions import MAX_BPMN_BYTES
from workflows.web.deps import get_app
from workflows.web.pages.common import PagePrincipal, flash, render

router = APIRouter(include_in_schema=False)


def _list_page(request: Request, principal: Principal, errors: dict[str, list[str]] | None = None,
               reason: str = "", status_code: int = 200) -> Response:
    from workflows.services.process_version_views import list_versions

    versions = list_versions(get_app(request), principal)
    by_process: dict[str, list[Any]] = {}
    for v in versions:
        by_process.setdefault(v.process, []).append(v)
    return render(request, "admin_processes.html", principal, status_code=status_code, nav_active="admin",
                  by_process=by_process, errors=errors or {}, reason=reason)


@router.get("/admin/processes", response_class=HTMLResponse)
def processes(request: Request, principal: PagePrincipal) -> Response:
    return _list_page(request, principal)


@router.post("/admin/processes", response_class=HTMLResponse)
def deploy(request: Request, principal: PagePrincipal, file: Annotated[UploadFile | None, File()] = None,
           reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Deploy the uploaded file after its checks; each problem is shown next to its field (422)."""
    from workflows.services.process_versions import deploy_version

    data = file.file.read(MAX_BPMN_BYTES + 1) if file is not None else b""
    if not data:
        return _list_page(request, principal, {"file": ["Choose the BPMN file of the new version."]}, reason, 422)
    try:
        out = deploy_version(get_app(request), principal, data, (file.filename if file else "") or "", reason)
    except Invalid as err:
        errors: dict[str, list[str]] = {}
        for f in err.fields or []:
            errors.setdefault(str(f.loc[0]), []).append(f.msg)
        return _list_page(request, principal, errors or {"file": [str(err)]}, reason, 422)
    except Conflict as err:
        return _list_page(request, principal, {"file": [str(err)]}, reason, 409)
    v = out.version
    if out.created:
        flash(request, "success", f"{v.process} version {v.version} is deployed: new instances start on it. "
                                  f"Lint: {out.lint}.")
    else:
        flash(request, "info", f"This file is {v.process} version {v.version}, the current version already.")
    return RedirectResponse(f"/admin/processes/{v.id}", status_code=303)


def _version_page(request: Request, principal: Principal, version_id: int, status_code: int = 200,
                  **context: Any) -> Response:
    from workflows.services.process_version_views import version_detail

    detail = version_detail(get_app(request), principal, version_id)
    return render(request, "admin_process_version.html", principal, status_code=status_code, nav_active="admin",
                  v=detail, **context)


@router.get("/admin/processes/{version_id}", response_class=HTMLResponse)
def version(request: Request, principal: PagePrincipal, version_id: int) -> Response:
    return _version_page(request, principal, version_id)


def _ids(posted: Any) -> list[int]:
    return [int(v) for v in posted.getlist("instance") if str(v).isdigit() and len(str(v)) <= 10]


@router.post("/admin/processes/{version_id}/migrate", response_class=HTMLResponse)
async def migrate(request: Request, principal: PagePrincipal, version_id: int) -> Response:
    """`action=dry_run`: the page again with, per chosen instance, what changes and whether it can
    move; `action=migrate`: move the chosen instances (a reason is required) and show what happened."""
    from starlette.concurrency import run_in_threadpool

    from workflows.services.process_versions import migrate_instances

    posted = await request.form()
    ids, reason = _ids(posted), str(posted.get("reason") or "").strip()
    dry_run = posted.get("action") != "migrate"
    if not ids:
        return await run_in_threadpool(_version_page, request, principal, version_id, 422,
                                       migrate_error="Choose at least one instance to move.")
    try:
        report = await run_in_threadpool(migrate_instances, get_app(request), principal, version_id, ids,
                                         reason or None, dry_run)
    except Invalid as err:
        return await run_in_threadpool(_version_page, request, principal, version_id, 422,
                                       migrate_error=str(err).split(": ", 1)[-1], chosen=ids, reason=reason,
                                       dry_run_again=not dry_run)
    if not dry_run:
        moved, refused = report.can_move, report.cannot_move
        flash(request, "success" if not refused else "warning",
              f"{moved} instance(s) moved to version {report.version}" + (f"; {refused} could not move" if refused
                                                                          else "") + ".")
    return await run_in_threadpool(_version_page, request, principal, version_id, 200, report=report, reason=reason)


@router.post("/admin/processes/{version_id}/rollback")
def rollback(request: Request, principal: PagePrincipal, version_id: int,
             instance: Annotated[int, Form(ge=1, le=2**31 - 1)],
             reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Put one moved instance back on the version and state it had; said in words on the page."""
    from workflows.services.process_versions import rollback_instances

    try:
        report = rollback_instances(get_app(request), principal, version_id, [instance], reason)
    except Invalid as err:
        flash(request, "error", f"Instance {instance} was not rolled back: {str(err).split(': ', 1)[-1]}")
    except ServiceError as err:
        flash(request, "error", f"Instance {instance} was not rolled back: {err}")
    else:
        result = report.results[0]
        if result.outcome == "rolled back":
            flash(request, "success", f"Instance {instance} is back on version {result.to_version}.")
        else:
            flash(request, "warning", f"Instance {instance} was not rolled back: {'; '.join(result.reasons)}")
    return RedirectResponse(f"/admin/processes/{version_id}#history", status_code=303)
