"""Process instances: state, open tasks, history, the step ids a diagram colours, and the diagram."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from workflows.services.outputs import InstanceOut
from workflows.web.deps import AppDep, PrincipalDep
from workflows.web.errors import SIGNED_IN, answers

router = APIRouter(prefix="/instances", responses=answers(*SIGNED_IN), tags=["instances"])


@router.get("/{instance_id}", response_model=InstanceOut)
def instance(instance_id: int, cxp: AppDep, principal: PrincipalDep) -> InstanceOut:
    """State, open tasks, history (who, when, data before and after), and the completed, active and
    failed BPMN element ids."""
    from workflows.services.views import instance_view

    return instance_view(cxp, principal, instance_id)


@router.get("/{instance_id}/diagram", response_class=Response,
            responses={200: {"content": {"application/xml": {}}, "description": "BPMN 2.0 XML"}})
def diagram(instance_id: int, cxp: AppDep, principal: PrincipalDep) -> Response:
    """The BPMN XML of the process version the instance runs (for a diagram viewer)."""
    from workflows.services.downloads import instance_diagram

    found = instance_diagram(cxp, principal, instance_id)
    return Response(found.content, media_type=found.media_type, headers={"ETag": f'"{found.sha256}"'})
