"""The instance page (`/instances/{id}`): status, outcome, incident, the BPMN diagram coloured by the
steps done and waiting, the open tasks and the history; and the diagram's XML for the viewer."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from workflows.web.deps import get_app
from workflows.web.pages.common import PagePrincipal, render

router = APIRouter(include_in_schema=False)


@router.get("/instances/{instance_id}", response_class=HTMLResponse)
def instance_page(request: Request, instance_id: int, principal: PagePrincipal) -> Response:
    from workflows.services.views import instance_view

    view = instance_view(get_app(request), principal, instance_id)
    return render(request, "instance.html", principal, nav_active="exchanges", instance=view,
                  history=list(reversed(view.history)), tz=get_app(request).settings.timezone)


@router.get("/instances/{instance_id}/diagram.bpmn")
def diagram(request: Request, instance_id: int, principal: PagePrincipal) -> Response:
    """The BPMN XML of the process version the instance runs, for the diagram viewer (cookie-signed in)."""
    from workflows.services.downloads import instance_diagram

    found = instance_diagram(get_app(request), principal, instance_id)
    return Response(found.content, media_type=found.media_type,
                    headers={"Cache-Control": "private, max-age=300", "ETag": f'"{found.sha256}"'})
