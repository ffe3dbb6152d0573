"""One task (`/tasks/{id}`): what it is about, claim/release/reassign, the decision's context beside
the form generated from the task's JSON Schema, and its completion (`POST /tasks/{id}`): field errors
next to their fields (422, nothing written), else a flash and back to the inbox."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from workflows.services import Conflict, Invalid, Refused
from workflows.web.deps import get_app
from workflows.web.errors import field_errors
from workflows.web.forms import build_form, parse_form
from workflows.web.pages.common import PagePrincipal, flash, render

router = APIRouter(include_in_schema=False)

EVIDENCE_TASK = "submit_evidence"  # its `documents` are picked from the exchange's uploaded files


def _page(request: Request, principal: Any, task_id: int, values: Mapping[str, Any] | None = None,
          errors: list[dict[str, Any]] | None = None, status_code: int = 200) -> HTMLResponse:
    from workflows.services.task_detail import task_detail

    cxp = get_app(request)
    detail = task_detail(cxp, principal, task_id)
    form = build_form(detail.form_schema, detail.form_defaults if values is None else values, errors or [])
    documents, uploads, picked = None, [], {}
    if detail.task == EVIDENCE_TASK and detail.subject:
        from workflows.services.evidence import KINDS, list_evidence

        documents = next((f for f in form.fields if f.name == "documents"), None)
        form.fields = [f for f in form.fields if f.name != "documents"]
        uploads = list_evidence(cxp, principal, detail.subject)
        picked = _picked(values, detail.form_defaults)
        kinds = KINDS
    else:
        kinds = ()
    return render(request, "task.html", principal, status_code=status_code,
                  nav_active="tasks" if principal.role == "applicant" else "inbox", task=detail, form=form,
                  ctx=detail.context, documents_field=documents, uploads=uploads, picked=picked, kinds=kinds,
                  tz=cxp.settings.timezone)


def _picked(values: Mapping[str, Any] | None, defaults: Mapping[str, Any]) -> dict[str, str]:
    """sha256 → kind of the documents ticked: as posted back, else those the report already names."""
    if values is not None:
        return {sha: str(values.get(f"kind-{sha}", "other")) for sha in values.get("_documents", [])}
    return {d.get("sha256", ""): d.get("kind", "other") for d in defaults.get("documents", []) or []}


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, task_id: int, principal: PagePrincipal) -> Response:
    return _page(request, principal, task_id)


@router.post("/tasks/{task_id}", response_class=HTMLResponse)
async def complete(request: Request, task_id: int, principal: PagePrincipal) -> Response:
    """Complete the task with the posted form; the service validates and checks who may."""
    from workflows.services.inbox import complete_task
    from workflows.services.task_detail import task_detail

    cxp = get_app(request)
    posted = await request.form()
    detail = task_detail(cxp, principal, task_id)
    data = parse_form(detail.form_schema, posted, cxp.settings.timezone)
    values: dict[str, Any] = {k: v for k, v in posted.items() if isinstance(v, str)}
    if detail.task == EVIDENCE_TASK and detail.subject:
        values["_documents"] = [str(s) for s in posted.getlist("document")]
        data["documents"] = _documents(cxp, principal, detail.subject, values)
    try:
        done = complete_task(cxp, task_id, principal, data)
    except Invalid as err:
        return _page(request, principal, task_id, values, field_errors(err, prefix=()), status_code=422)
    except Conflict as err:
        flash(request, "error", str(err))
        return RedirectResponse("/tasks", status_code=303)
    except Refused as err:
        flash(request, "error", str(err))
        return RedirectResponse(f"/tasks/{task_id}", status_code=303)
    outcome = f" ({done.outcome.replace('_', ' ')})" if done.outcome else ""
    flash(request, "success", f"“{detail.name}” is done. The process is {done.instance_status}{outcome}.")
    return RedirectResponse("/tasks", status_code=303)


def _documents(cxp: Any, principal: Any, ref: str, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The closing report's documents: the uploaded files ticked, each with the kind chosen."""
    from workflows.services.evidence import list_evidence

    uploads = {u.sha256: u for u in list_evidence(cxp, principal, ref)}
    return [{"kind": values.get(f"kind-{sha}") or uploads[sha].kind, "filename": uploads[sha].filename,
             "sha256": sha, "size": uploads[sha].size}
            for sha in values.get("_documents", []) if sha in uploads]
