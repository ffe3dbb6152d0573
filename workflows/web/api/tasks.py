"""The inbox and one task: list, read (with its form's JSON Schema and the decision's context), claim,
unclaim, reassign, complete."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from workflows.services.outputs import CompletionOut, InboxPage, ReassignOut, TaskOut
from workflows.services.task_detail import TaskDetail
from workflows.web.deps import PLAIN_TEXT, AppDep, PrincipalDep
from workflows.web.errors import SIGNED_IN, answers

router = APIRouter(prefix="/tasks", responses=answers(*SIGNED_IN), tags=["tasks"])

Status = Literal["open", "claimed", "unclaimed", "mine", "overdue"]
Sort = Literal["due", "-due", "created", "-created", "task", "-task"]
Role = Literal["applicant", "officer", "finance", "auditor", "administrator"]
CONFLICT = answers(409)


class ReassignIn(BaseModel):
    to: str = Field(min_length=1, max_length=80, description="the username of the colleague to hand the task to")


@router.get("", response_model=InboxPage)
def inbox(cxp: AppDep, principal: PrincipalDep, role: Role | None = None,
          process: Annotated[str | None, Query(max_length=80, pattern=PLAIN_TEXT)] = None,
          task: Annotated[str | None, Query(max_length=80, pattern=PLAIN_TEXT, description="a task id, e.g. assess_application")] = None,
          status: Status = "open", due_before: datetime | None = None, sort: Sort = "due",
          page: Annotated[int, Query(ge=1, le=100_000)] = 1,
          page_size: Annotated[int, Query(ge=1, le=200)] = 50) -> Response:
    """The caller's inbox: the open tasks of their lane and partnership (or organisation), unclaimed
    or theirs; soonest due first; with the total and the count per task of the filtered set."""
    from workflows.services.inbox import list_tasks

    found = list_tasks(cxp, principal, role=role, process=process, task=task, status=status,
                       due_before=due_before, sort=sort, page=page, page_size=page_size)
    # The use case's answer is already an InboxPage: serialised once, not validated again (the
    # busiest route; FastAPI's response_model check was a third of its time).
    return Response(found.model_dump_json(), media_type="application/json")


@router.get("/{task_id}", response_model=TaskDetail)
def detail(task_id: int, cxp: AppDep, principal: PrincipalDep) -> TaskDetail:
    """One task with its form's JSON Schema and what the person deciding needs to see."""
    from workflows.services.task_detail import task_detail

    return task_detail(cxp, principal, task_id)


@router.post("/{task_id}/claim", response_model=TaskOut, responses=CONFLICT)
def claim(task_id: int, cxp: AppDep, principal: PrincipalDep) -> TaskOut:
    """Take the task so that nobody else works on it."""
    from workflows.services.inbox import claim as claim_task

    return claim_task(cxp, task_id, principal)


@router.post("/{task_id}/unclaim", response_model=TaskOut, responses=CONFLICT)
def unclaim(task_id: int, cxp: AppDep, principal: PrincipalDep) -> TaskOut:
    """Give a claimed task back to the team."""
    from workflows.services.inbox import unclaim as unclaim_task

    return unclaim_task(cxp, task_id, principal)


@router.post("/{task_id}/reassign", response_model=ReassignOut, responses=CONFLICT)
def reassign(task_id: int, body: ReassignIn, cxp: AppDep, principal: PrincipalDep) -> ReassignOut:
    """Hand the task to a colleague of the same role and partnership."""
    from workflows.services.inbox import reassign as reassign_task

    return reassign_task(cxp, task_id, principal, body.to)


@router.post("/{task_id}/complete", response_model=CompletionOut, responses=CONFLICT)
def complete(task_id: int, cxp: AppDep, principal: PrincipalDep,
             data: Annotated[dict[str, Any], Body(description="the form's data (see the task's form_schema)")]
             ) -> CompletionOut:
    """Complete the task with its form data: validated (422 naming each field), checked (403), run,
    and the process advanced — all or nothing."""
    from workflows.services.inbox import complete_task

    return complete_task(cxp, task_id, principal, data)
