"""Applications of SPEC §13: the caller's organisation's applications, drafts, submission, withdrawal,
suggested matches and preferred offers. Who may apply is decided in workflows.services.access."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path

from workflows.services.application_inputs import (
    ApplicationIn,
    ApplicationOut,
    ApplicationPatch,
    PreferencesIn,
    WithdrawIn,
)
from workflows.services.suggestions import SuggestionOut
from workflows.web.deps import AppDep, PrincipalDep
from workflows.web.errors import SIGNED_IN, answers

router = APIRouter(prefix="/applications", responses=answers(*SIGNED_IN), tags=["applications"])
ApplicationId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("", response_model=list[ApplicationOut])
def listing(cxp: AppDep, principal: PrincipalDep) -> list[ApplicationOut]:
    """The applications the caller sees: an applicant its own organisation's, newest first."""
    from workflows.services.applications import list_applications

    return list_applications(cxp, principal)


@router.post("", response_model=ApplicationOut, status_code=201)
def create(body: ApplicationIn, cxp: AppDep, principal: PrincipalDep) -> ApplicationOut:
    """Apply to an open call as visitor or host (`"submit": false` keeps a draft); the answer carries the
    eligibility outcome and every reason in words. Each wrong field is named (422), nothing written."""
    from workflows.services.applications import create_application

    return create_application(cxp, principal, body)


@router.get("/{application_id}", response_model=ApplicationOut)
def detail(application_id: ApplicationId, cxp: AppDep, principal: PrincipalDep) -> ApplicationOut:
    from workflows.services.applications import get_application

    return get_application(cxp, principal, application_id)


@router.patch("/{application_id}", response_model=ApplicationOut)
def change(application_id: ApplicationId, body: ApplicationPatch, cxp: AppDep, principal: PrincipalDep) -> ApplicationOut:
    """Change the fields given of a draft."""
    from workflows.services.applications import update_draft

    return update_draft(cxp, principal, application_id, body)


@router.post("/{application_id}/submit", response_model=ApplicationOut)
def submit(application_id: ApplicationId, cxp: AppDep, principal: PrincipalDep) -> ApplicationOut:
    """Send a draft: the same process as an import starts; the answer carries the eligibility outcome."""
    from workflows.services.applications import submit_draft

    return submit_draft(cxp, principal, application_id)


@router.post("/{application_id}/withdraw", response_model=ApplicationOut)
def withdraw(application_id: ApplicationId, cxp: AppDep, principal: PrincipalDep,
             body: Annotated[WithdrawIn | None, Body()] = None) -> ApplicationOut:
    """Withdraw an application before its exchange is confirmed."""
    from workflows.services.applications import withdraw_application

    return withdraw_application(cxp, principal, application_id, body.reason if body else "")


@router.get("/{application_id}/suggestions", response_model=list[SuggestionOut])
def suggestions(application_id: ApplicationId, cxp: AppDep, principal: PrincipalDep) -> list[SuggestionOut]:
    """A visitor's suggested matches: the call's published offers by the solver's fit score, with its parts."""
    from workflows.services.suggestions import suggested_offers

    return suggested_offers(cxp, principal, application_id)


@router.put("/{application_id}/preferences", response_model=ApplicationOut)
def preferences(application_id: ApplicationId, body: PreferencesIn, cxp: AppDep, principal: PrincipalDep) -> ApplicationOut:
    """Mark up to three preferred offers: the matching round gives each such pair a bonus."""
    from workflows.services.suggestions import set_preferences

    return set_preferences(cxp, principal, application_id, body.offers)
