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
REVIEW_TASK = "review_proposals"   # its drops and overrides are chosen pair by pair from lists
REVIEW_FIELDS = ("drop_proposals", "reassign")
COMMITMENT_TASK = "agree_commitment"  # its three activities are rows of fields (kind, title, date)
ACTIVITY_ROWS = 3


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
        just = request.query_params.get("uploaded")
        fresh = next((u for u in uploads if u.sha256 == just), None)
        if values is None and fresh is not None:  # uploaded from this page: ticked for the report
            picked[fresh.sha256] = fresh.kind
        kinds = KINDS
    else:
        kinds = ()
    activities: dict[str, Any] = {}
    if detail.task == COMMITMENT_TASK:
        activities = _activity_context(form, detail.form_defaults if values is None else values, errors or [])
    review_fields = None
    if detail.task == REVIEW_TASK:
        review_fields = {f.name: f for f in form.fields if f.name in REVIEW_FIELDS}
        form.fields = [f for f in form.fields if f.name not in REVIEW_FIELDS]
    return render(request, "task.html", principal, status_code=status_code, review_fields=review_fields,
                  review_values=_review_values(values), **activities,
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
    if detail.task == REVIEW_TASK:
        values["drop"] = [str(s) for s in posted.getlist("drop")]
        data.update(_review(values))
    if detail.task == COMMITMENT_TASK:
        data["activities"] = _activities(values)
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


def _review_values(values: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(values or {})


def _review(values: Mapping[str, Any]) -> dict[str, Any]:
    """The review's drops (the pairs ticked) and overrides (each visitor given another host), in the
    order of the page; a value that is not a number is left for the form to name."""
    def number(text: str) -> int | str:
        return int(text) if text.isdigit() else text

    moves = [{"visitor_application_id": number(key.removeprefix("host-")), "host_application_id": number(str(v))}
             for key, v in values.items() if key.startswith("host-") and str(v).strip()]
    return {"drop_proposals": [number(s) for s in values.get("drop", [])], "reassign": moves}


def _activities(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The agreed activities from their rows; a row left empty is no activity."""
    rows = []
    for n in range(1, ACTIVITY_ROWS + 1):
        kind, title, on = (str(values.get(f"activity-{n}-{k}", "")).strip() for k in ("kind", "title", "on"))
        if kind or title or on:
            rows.append({"kind": kind, "title": title, "on": on or None})
    return rows


def _activity_context(form: Any, values: Mapping[str, Any], errors: list[dict[str, Any]]) -> dict[str, Any]:
    """What work_activities.html needs: the field (taken out of the generated form), three rows (as
    posted, else as agreed before), the kinds, and each row's field errors keyed "2-title"."""
    from tasks.forms import Activity

    field = next((f for f in form.fields if f.name == "activities"), None)
    form.fields = [f for f in form.fields if f.name != "activities"]
    if any(k.startswith("activity-") for k in values):
        rows = [{k: values.get(f"activity-{n}-{k}", "") for k in ("kind", "title", "on")}
                for n in range(1, ACTIVITY_ROWS + 1)]
    else:
        given = list(values.get("activities") or [])[:ACTIVITY_ROWS]
        rows = [{"kind": a.get("kind", ""), "title": a.get("title", ""), "on": a.get("on") or ""} for a in given]
        rows += [{"kind": "", "title": "", "on": ""}] * (ACTIVITY_ROWS - len(rows))
    row_errors = {f"{e['loc'][1] + 1}-{e['loc'][2]}": e["msg"] for e in errors
                  if len(e.get("loc", ())) >= 3 and e["loc"][0] == "activities" and isinstance(e["loc"][1], int)}
    kinds = Activity.model_json_schema()["properties"]["kind"]["enum"]
    return {"activities_field": field, "activity_rows": rows, "activity_kinds": kinds, "activity_errors": row_errors}
