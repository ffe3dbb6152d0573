"""Incidents (a failed service step) and their retry, as `cxp instance retry` does; conflicts of
interest an officer or finance user declares."""
from __future__ import annotations

from fastapi import APIRouter

from workflows.services.outputs import ConflictOut, IncidentOut, RetryOut
from workflows.services.workspace_inputs import ConflictIn
from workflows.web.deps import AppDep, PrincipalDep
from workflows.web.errors import SIGNED_IN, answers

router = APIRouter(responses=answers(*SIGNED_IN))


@router.get("/incidents", response_model=list[IncidentOut], tags=["incidents"])
def incidents(cxp: AppDep, principal: PrincipalDep) -> list[IncidentOut]:
    """The open incidents the caller sees (officers, auditors, administrators), oldest first."""
    from workflows.services.incidents import list_incidents

    return list_incidents(cxp, principal)


@router.post("/instances/{instance_id}/retry", response_model=RetryOut, tags=["incidents"], responses=answers(409))
def retry(instance_id: int, cxp: AppDep, principal: PrincipalDep) -> RetryOut:
    """Retry the failed step (officers, administrators): `incident` is null when it went through."""
    from workflows.services.incidents import retry as retry_step

    return retry_step(cxp, instance_id, principal)


@router.get("/conflicts", response_model=list[ConflictOut], tags=["conflicts"])
def conflicts(cxp: AppDep, principal: PrincipalDep) -> list[ConflictOut]:
    """The conflicts of interest the caller declared."""
    from workflows.services.conflicts import my_conflicts

    return my_conflicts(cxp, principal)


@router.post("/conflicts", response_model=ConflictOut, status_code=201, tags=["conflicts"])
def declare(body: ConflictIn, cxp: AppDep, principal: PrincipalDep) -> ConflictOut:
    """Declare a conflict of interest with an organisation (officers, finance): from then on R-4EYES
    refuses the caller every action on its files."""
    from workflows.services.conflicts import declare_conflict

    return declare_conflict(cxp, principal, body.organisation, body.reason)
