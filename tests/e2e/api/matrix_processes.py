"""The permission rows of the process-version routes (SPEC §14), merged into the matrix of
test_permission_matrix.py: only administrators deploy and migrate (every other principal 403, the
refusal audited); administrators and auditors read the versions. `{version}` is the exchange's current
version in the matrix's world."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from tests.e2e.api.conftest import World
from tests.e2e.api.test_permission_matrix import Route, _row
from workflows.db.process_models import ProcessDefinition

NOT_BPMN = {"files": {"file": ("exchange.bpmn", b"<definitions>not BPMN</definitions>", "application/xml")},
            "data": {"reason": "a permission check"}}


def _exchange_version(world: World) -> int:
    with world.app.uow() as uow:
        return int(uow.session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.process_id == "exchange")
                                      .order_by(ProcessDefinition.version.desc()).limit(1)) or 0)


PATH_VALUES: dict[str, Callable[[World], Any]] = {"version": _exchange_version}
PATH_NAMES = {"{version}": "{version_id}"}  # the placeholder → the route's documented parameter

#                                                anon appl outs  off oth  fin fino  aud adm
MATRIX: dict[Route, dict[str, int]] = {
    Route("GET", "/api/process-versions"):                _row(401, 403, 403, 403, 403, 403, 403, 200, 200),
    Route("GET", "/api/process-versions/{version}"):      _row(401, 403, 403, 403, 403, 403, 403, 200, 200),
    Route("GET", "/api/process-versions/999999"):         _row(401, 403, 403, 403, 403, 403, 403, 404, 404),
    # a file that does not parse: the administrator passes the permission check and gets 422, nothing stored
    Route("POST", "/api/process-versions", body=lambda w: NOT_BPMN):
                                                          _row(401, 403, 403, 403, 403, 403, 403, 403, 422),
    # a dry run: the administrator gets the plan (nothing moves), anyone else 403
    Route("POST", "/api/process-versions/{version}/migrate",
          body=lambda w: {"json": {"instances": [w.instance_id], "dry_run": True}}):
                                                          _row(401, 403, 403, 403, 403, 403, 403, 403, 200),
}
