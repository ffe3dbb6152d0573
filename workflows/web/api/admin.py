"""The administration's reads and its partnerships and organisations (SPEC §14): every call with its
drafts, budget and history; the partnerships with their debtor accounts (create, edit); the
organisations (look up, deactivate or activate with a reason); the programme at a glance."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from workflows.services.admin_outputs import (
    CallDetailOut,
    CallRowOut,
    OrganisationOut,
    OrganisationPageOut,
    PartnershipOut,
    ProgrammeGlanceOut,
)
from workflows.services.call_inputs import MAX_REASON
from workflows.services.partnerships import PartnershipIn, PartnershipPatch
from workflows.web.deps import PLAIN_TEXT, AppDep, PrincipalDep
from workflows.web.errors import SIGNED_IN, answers

router = APIRouter(prefix="/admin", responses=answers(*SIGNED_IN), tags=["administration"])


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=MAX_REASON, description="why (required)")


@router.get("", response_model=ProgrammeGlanceOut)
def glance(cxp: AppDep, principal: PrincipalDep) -> ProgrammeGlanceOut:
    """The programme at a glance: calls and their budget, exchanges per stage, incidents and stuck
    instances, failed emails, the last payment batch and the last audit anchor."""
    from workflows.services.programme_glance import programme_glance

    return programme_glance(cxp, principal)


@router.get("/calls", response_model=list[CallRowOut])
def calls(cxp: AppDep, principal: PrincipalDep) -> list[CallRowOut]:
    """Every call, drafts included, with its budget: committed, paid, waiting and left."""
    from workflows.services.call_views import list_calls

    return list_calls(cxp, principal)


@router.get("/calls/{code}", response_model=CallDetailOut)
def call(code: str, cxp: AppDep, principal: PrincipalDep) -> CallDetailOut:
    """One call: its values, budget, grants waiting for budget, exchanges by status and its history
    (who changed what, when and why)."""
    from workflows.services.call_views import call_detail

    return call_detail(cxp, principal, code)


@router.get("/partnerships", response_model=list[PartnershipOut])
def partnerships(cxp: AppDep, principal: PrincipalDep) -> list[PartnershipOut]:
    from workflows.services.partnerships import list_partnerships

    return list_partnerships(cxp, principal)


@router.post("/partnerships", response_model=PartnershipOut, status_code=201)
def add_partnership(body: PartnershipIn, cxp: AppDep, principal: PrincipalDep) -> PartnershipOut:
    """A new partnership; its debtor account is checked as a payment batch checks it (IBAN, BIC, holder)."""
    from workflows.services.partnerships import create_partnership

    return create_partnership(cxp, principal, body)


@router.patch("/partnerships/{code}", response_model=PartnershipOut)
def change_partnership(code: str, body: PartnershipPatch, cxp: AppDep, principal: PrincipalDep) -> PartnershipOut:
    from workflows.services.partnerships import update_partnership

    return update_partnership(cxp, principal, code, body)


@router.get("/organisations", response_model=OrganisationPageOut)
def organisations(cxp: AppDep, principal: PrincipalDep,
                  q: Annotated[str, Query(max_length=200, pattern=PLAIN_TEXT,
                                          description="part of the legal name, legal id or city")] = "",
                  country: Annotated[str | None, Query(min_length=2, max_length=2, pattern="^[A-Za-z]{2}$")] = None,
                  state: Literal["all", "active", "inactive"] = "all",
                  page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                  page_size: Annotated[int, Query(ge=1, le=200)] = 25) -> OrganisationPageOut:
    from workflows.services.partnerships import search_organisations

    return search_organisations(cxp, principal, q, country, state, page, page_size)


@router.post("/organisations/{legal_id}/deactivate", response_model=OrganisationOut, responses=answers(409))
def deactivate(legal_id: str, body: ReasonIn, cxp: AppDep, principal: PrincipalDep) -> OrganisationOut:
    """The organisation can no longer apply or be matched; its records and history stay."""
    from workflows.services.partnerships import set_organisation_active

    return set_organisation_active(cxp, principal, legal_id, False, body.reason)


@router.post("/organisations/{legal_id}/activate", response_model=OrganisationOut, responses=answers(409))
def activate(legal_id: str, body: ReasonIn, cxp: AppDep, principal: PrincipalDep) -> OrganisationOut:
    from workflows.services.partnerships import set_organisation_active

    return set_organisation_active(cxp, principal, legal_id, True, body.reason)
