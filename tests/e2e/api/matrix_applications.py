"""The permission rows of the applications' routes (SPEC §13), merged into the matrix of
test_permission_matrix.py: an applicant reads and acts on its own organisation's applications only
(another organisation's answers 404, as one that does not exist); officers and finance read their
partnership's, auditors and administrators all; only an organisation's user applies, changes,
submits, withdraws or prefers (anyone else 403, the refusal audited).

Each body is well formed, so that the permission check decides; what the applicant then gets writes
nothing: the world's visitor application is matched (no longer a draft, no longer withdrawn), and a
new application asks for a format the call does not allow. The exchange's requests (cancel, extension)
have their rows in matrix_workspace.py."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from tests.e2e.api.conftest import World
from tests.e2e.api.test_permission_matrix import Route, _row


def _visitor_application(world: World) -> int:
    from workflows.db.models import Exchange

    with world.app.uow() as uow:
        return int(uow.session.scalars(select(Exchange.visitor_application_id).where(
            Exchange.ref == world.exchange_ref)).one())


NEW = {"call": "CXP-TEST-01", "role": "host", "format": "conference_fair", "date_from": "2027-06-01",
       "date_to": "2027-06-30", "capacity": 1, "activities_offered": ["study_visit"], "declaration_given": True,
       "audit_rights_accepted": True}

PATH_VALUES: dict[str, Callable[[World], Any]] = {"application": _visitor_application}
PATH_NAMES = {"{application}": "{application_id}"}

#                                                anon appl outs  off oth  fin fino  aud adm
MATRIX: dict[Route, dict[str, int]] = {
    Route("GET", "/api/applications"):                    _row(401, 200, 200, 200, 200, 200, 200, 200, 200),
    Route("POST", "/api/applications", body=lambda w: {"json": NEW}):
                                                          _row(401, 422, 422, 403, 403, 403, 403, 403, 403),
    Route("GET", "/api/applications/{application}"):      _row(401, 200, 404, 200, 404, 200, 404, 200, 200),
    Route("PATCH", "/api/applications/{application}", body=lambda w: {"json": {"motivation": "Again."}}):
                                                          _row(401, 422, 404, 403, 404, 403, 404, 403, 403),
    Route("POST", "/api/applications/{application}/submit"):
                                                          _row(401, 422, 404, 403, 404, 403, 404, 403, 403),
    Route("POST", "/api/applications/{application}/withdraw", body=lambda w: {"json": {"reason": "no"}}):
                                                          _row(401, 422, 404, 403, 404, 403, 404, 403, 403),
    Route("GET", "/api/applications/{application}/suggestions"):
                                                          _row(401, 200, 404, 200, 404, 200, 404, 200, 200),
    Route("PUT", "/api/applications/{application}/preferences", body=lambda w: {"json": {"offers": []}}):
                                                          _row(401, 422, 404, 403, 404, 403, 404, 403, 403),
    # cancel and extension requests: their rows are the workspace's (matrix_workspace.py), one route each
}
