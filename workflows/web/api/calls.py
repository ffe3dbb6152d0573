"""Calls as an administrator manages them (SPEC §14): create a draft, change it while a draft, publish
it, close it early with a reason, change its budget. The public reads of published calls are
`GET /api/calls` and `GET /api/calls/{code}` (workflows/web/api/public.py); the administration's own
reads, drafts and histories included, are under `/api/admin/calls` (workflows/web/api/admin.py)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from workflows.services.admin_outputs import BudgetChangeOut, CallClosedOut, CallDetailOut
from workflows.services.call_inputs import MAX_REASON, CallIn, CallPatch
from workflows.web.deps import AppDep, PrincipalDep
from workflows.web.errors import SIGNED_IN, answers

router = APIRouter(prefix="/calls", responses=answers(*SIGNED_IN), tags=["calls"])
CONFLICT = answers(409)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=MAX_REASON, description="why: kept on the call's history")


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    budget: str | int | float = Field(description="the new budget in EUR, e.g. \"31500.00\" (two decimals at most; "
                                                  "never below what is committed and paid)")
    reason: str | None = Field(None, max_length=MAX_REASON, description="why the budget changes (required)")


@router.post("", response_model=CallDetailOut, status_code=201, responses=CONFLICT)
def create(body: CallIn, cxp: AppDep, principal: PrincipalDep) -> CallDetailOut:
    """A new call, kept as a draft until it is published; each wrong field is named (422)."""
    from workflows.services.call_admin import create_call

    return create_call(cxp, principal, body)


@router.patch("/{code}", response_model=CallDetailOut, responses=CONFLICT)
def change(code: str, body: CallPatch, cxp: AppDep, principal: PrincipalDep) -> CallDetailOut:
    """Change the fields given of a draft (`events` replaces the list); a published call's windows,
    formats, rule set and events no longer change (409)."""
    from workflows.services.call_admin import update_call

    return update_call(cxp, principal, code, body)


@router.post("/{code}/publish", response_model=CallDetailOut, responses=CONFLICT)
def publish(code: str, cxp: AppDep, principal: PrincipalDep,
            body: Annotated[ReasonIn | None, Body()] = None) -> CallDetailOut:
    """Publish a draft: its call process starts, the officers are emailed, its windows are frozen."""
    from workflows.services.call_admin import publish_call

    return publish_call(cxp, principal, code, body.reason if body else None)


@router.post("/{code}/close", response_model=CallClosedOut, responses=CONFLICT)
def close(code: str, body: ReasonIn, cxp: AppDep, principal: PrincipalDep) -> CallClosedOut:
    """Close the call early, with a reason: the applications not yet matched end (and are told), the
    exchanges matched or beyond go on to their own end, the call's process ends."""
    from workflows.services.call_admin import close_call

    return close_call(cxp, principal, code, body.reason)


@router.post("/{code}/budget", response_model=BudgetChangeOut)
def budget(code: str, body: BudgetIn, cxp: AppDep, principal: PrincipalDep) -> BudgetChangeOut:
    """Raise or lower the call's budget, with a reason; never below what is committed and paid. The
    grants waiting for budget that now fit are approved, in their order, in the same transaction."""
    from workflows.services.calls import change_budget

    return change_budget(cxp, code, principal, body.budget, body.reason)
