"""The inbox (`/tasks`): the principal's open tasks with filters, sorting, paging and counts per task,
and the claim / unclaim / reassign buttons of each row (plain form posts, htmx-enhanced)."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from workflows.services import Conflict, Invalid, Refused
from workflows.services.outputs import ReassignOut
from workflows.web.deps import get_app
from workflows.web.pages.common import PagePrincipal, flash, render
from workflows.web.pages.work_common import back_to, blank_is_none, is_htmx, partial, start_of_day, url_with

router = APIRouter(include_in_schema=False)

STATUSES = (("open", "Unclaimed or mine"), ("unclaimed", "Unclaimed"), ("mine", "Claimed by me"),
            ("claimed", "Claimed"), ("overdue", "Overdue"))
SORTS = (("due", "Soonest due first"), ("-due", "Latest due first"), ("created", "Oldest first"),
         ("-created", "Newest first"), ("task", "Task, A to Z"), ("-task", "Task, Z to A"))
PROCESSES = (("exchange", "Exchange"), ("hosting", "Host offer"), ("call", "Call"), ("registration", "Registration"))
PAGE_SIZES = (20, 50, 100)
# the lanes an administrator or auditor reads (their own lane holds no task): every open task of one
LANES = (("officer", "Officers"), ("finance", "Finance"), ("applicant", "Applicants"))
READS_LANES = ("administrator", "auditor")

Text = Annotated[str | None, Query(max_length=80)]


def _incidents(cxp: Any, principal: Any) -> list[Any]:
    """The open incidents the principal sees, for the inbox's notice (none for who may not read them)."""
    from workflows.services.incidents import INCIDENT_READERS, list_incidents

    return list_incidents(cxp, principal) if principal.role in INCIDENT_READERS else []


@router.get("/tasks", response_class=HTMLResponse)
def inbox(request: Request, principal: PagePrincipal, role: Text = None, process: Text = None, task: Text = None,
          status: Text = None, due_before: Text = None, sort: Text = None,
          page: Annotated[int, Query(ge=1, le=100_000)] = 1,
          page_size: Annotated[int, Query(ge=1, le=200)] = 50) -> Response:
    """The inbox; every filter is a GET parameter, so that a filtered inbox can be bookmarked."""
    from workflows.services.inbox import barred_tasks, list_tasks

    cxp = get_app(request)
    lane = (blank_is_none(role) or "officer") if principal.role in READS_LANES else None
    process_id, task_spec, due_text = blank_is_none(process), blank_is_none(task), blank_is_none(due_before)
    status_name, sort_key = blank_is_none(status) or "open", blank_is_none(sort) or "due"
    filters = {"role": lane, "process": process_id, "task": task_spec, "status": status_name,
               "due_before": due_text, "sort": sort_key, "page_size": page_size}
    found = list_tasks(cxp, principal, role=lane, process=process_id, task=task_spec, status=status_name,
                       due_before=start_of_day(_day(due_text), cxp.settings.timezone), sort=sort_key, page=page,
                       page_size=page_size)
    names = {t.task: t.name for t in found.tasks}
    incidents = _incidents(cxp, principal)
    barred = barred_tasks(cxp, principal, found.tasks)
    last_page = max(1, -(-found.total // page_size))
    return render(request, "tasks.html", principal, nav_active="tasks" if principal.role == "applicant" else "inbox",
                  inbox=found, filters=filters, names=names, page=page, last_page=last_page, incidents=incidents, barred=barred,
                  statuses=STATUSES, sorts=SORTS, lanes=LANES if lane else (), processes=PROCESSES, page_sizes=PAGE_SIZES,
                  tz=cxp.settings.timezone, here=url_with("/tasks", filters, page=page if page > 1 else None),
                  url=lambda **changes: url_with("/tasks", filters, **changes))


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid.field("due_before", f"{text!r} is not a date (YYYY-MM-DD)") from None


NextField = Annotated[str | None, Form(max_length=2000)]


def _acted(request: Request, principal: Any, action: Any, done: str, next_url: str | None,
           task_id: int) -> Response:
    """Run claim/unclaim/reassign; htmx gets the row back, a plain post a redirect with a flash.
    A refusal or a lost race is a sentence on the page it came from."""
    try:
        out = action()
    except (Conflict, Refused, Invalid) as err:
        flash(request, "error", str(err))
        return back_to(request, next_url, f"/tasks/{task_id}")
    task = out.task if isinstance(out, ReassignOut) else out
    if is_htmx(request):
        return partial(request, "partials/work_task_row.html", t=task, principal=principal,
                       here=next_url or "/tasks", note=done)
    flash(request, "success", done)
    return back_to(request, next_url, "/tasks")


@router.post("/tasks/{task_id}/claim")
def claim(request: Request, task_id: int, principal: PagePrincipal, next: NextField = None) -> Response:  # noqa: A002
    from workflows.services.inbox import claim as claim_task

    return _acted(request, principal, lambda: claim_task(get_app(request), task_id, principal),
                  f"Task {task_id} is yours: nobody else works on it until you complete or release it.",
                  next, task_id)


@router.post("/tasks/{task_id}/unclaim")
def unclaim(request: Request, task_id: int, principal: PagePrincipal, next: NextField = None) -> Response:  # noqa: A002
    from workflows.services.inbox import unclaim as unclaim_task

    return _acted(request, principal, lambda: unclaim_task(get_app(request), task_id, principal),
                  f"Task {task_id} is back with the team.", next, task_id)


@router.post("/tasks/{task_id}/reassign")
def reassign(request: Request, task_id: int, principal: PagePrincipal,
             to: Annotated[str, Form(max_length=80)] = "", next: NextField = None) -> Response:  # noqa: A002
    from workflows.services.inbox import reassign as reassign_task

    username = to.strip()
    if not username:
        flash(request, "error", "Reassign: enter the username of the colleague to hand the task to.")
        return back_to(request, next, f"/tasks/{task_id}")
    return _acted(request, principal, lambda: reassign_task(get_app(request), task_id, principal, username),
                  f"Task {task_id} is now assigned to {username}.", next, task_id)
