"""What officers (and the two organisations) do to a running exchange, as `cxp exchange …` does:
cancel it, ask for an extension, decide one; and the exchange's open incidents."""
from __future__ import annotations

from fastapi import APIRouter

from workflows.services.outputs import CancellationOut, ExtensionDecisionOut, ExtensionRequestOut, IncidentOut
from workflows.services.workspace_inputs import CancelIn, ExtensionDecisionIn, ExtensionIn
from workflows.web.deps import AppDep, PrincipalDep
from workflows.web.errors import SIGNED_IN, answers

router = APIRouter(prefix="/exchanges", responses=answers(*SIGNED_IN), tags=["exchanges"])


@router.post("/{ref}/cancel", response_model=CancellationOut, responses=answers(409))
def cancel(ref: str, body: CancelIn, cxp: AppDep, principal: PrincipalDep) -> CancellationOut:
    """Cancel the exchange (its officers; an officer with a declared conflict of interest is refused);
    during the visit this discontinues it and the closing report is still asked for."""
    from workflows.services.exchanges import cancel_exchange

    return cancel_exchange(cxp, ref, principal, body.reason)


@router.post("/{ref}/extension", response_model=ExtensionRequestOut, status_code=201, responses=answers(409))
def extension(ref: str, body: ExtensionIn, cxp: AppDep, principal: PrincipalDep) -> ExtensionRequestOut:
    """Ask to extend the visit (the visitor, the host or their officers, during the visit); the host
    consents, then an officer decides."""
    from workflows.services.exchanges import request_extension

    return request_extension(cxp, ref, principal, body.departure, body.reason)


@router.post("/{ref}/extension/decision", response_model=ExtensionDecisionOut, responses=answers(409))
def decide(ref: str, body: ExtensionDecisionIn, cxp: AppDep, principal: PrincipalDep) -> ExtensionDecisionOut:
    """Decide the extension the host consented to (the exchange's open decision task; 422 naming
    `exchange` when none waits)."""
    from workflows.services.exchanges import decide_extension

    return decide_extension(cxp, ref, principal, body.approve, body.comment)


@router.get("/{ref}/incidents", response_model=list[IncidentOut])
def incidents(ref: str, cxp: AppDep, principal: PrincipalDep) -> list[IncidentOut]:
    """The exchange's open incidents (officers, auditors, administrators)."""
    from workflows.services.incidents import list_incidents

    return list_incidents(cxp, principal, ref)
