"""The permission rows of the staff workspace's routes (issue 20): the exchange's evidence files,
cancelling an exchange, asking for and deciding an extension, incidents and their retry, conflicts of
interest, and the reports as files — merged into the matrix of test_permission_matrix.py.

Each allowed call either writes nothing (no extension is awaited, no incident is open: 422) or acts on an exchange of
its own (`{fresh}`: a new North application, cancelled by whoever may)."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from tests.e2e.api.conftest import World, fresh_exchange
from tests.e2e.api.test_permission_matrix import Route, _row
from tests.workflows.builders import ATTENDANCE_PDF

REFUSED_REQUEST = "request_refused"


PATH_VALUES: dict[str, Callable[[World], Any]] = {
    "sha": lambda w: hashlib.sha256(ATTENDANCE_PDF).hexdigest(),  # the closing report's certificate
    "fresh": fresh_exchange}
PATH_NAMES = {"{sha}": "{sha256}", "{fresh}": "{ref}"}


def _params(**values: Any) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"params": values}


def _json(**values: Any) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"json": values}


#                                                anon appl outs  off oth  fin fino  aud adm
MATRIX: dict[Route, dict[str, int]] = {
    Route("GET", "/api/exchanges/{exchange}/evidence/{sha}", "evidence_refused"):
                                                          _row(401, 200, 404, 200, 404, 403, 404, 200, 200),
    Route("GET", "/api/exchanges/{exchange}/evidence/" + "ab" * 32, "evidence_refused"):
                                                          _row(401, 404, 404, 404, 404, 403, 404, 404, 404),
    Route("POST", "/api/exchanges/{fresh}/cancel", REFUSED_REQUEST, body=_json(reason="The visitor withdrew.")):
                                                          _row(401, 404, 404, 200, 404, 403, 404, 403, 200),
    # the visit is over: the process awaits no extension any more (422, nothing written)
    Route("POST", "/api/exchanges/{exchange}/extension", REFUSED_REQUEST,
          body=_json(departure="2027-02-20", reason="One more workshop.")):
                                                          _row(401, 422, 404, 422, 404, 403, 404, 403, 422),
    Route("POST", "/api/exchanges/{exchange}/extension/decision", REFUSED_REQUEST, body=_json(approve=True)):
                                                          _row(401, 403, 404, 422, 404, 403, 404, 403, 422),
    Route("GET", "/api/exchanges/{exchange}/incidents"):  _row(401, 403, 404, 200, 404, 403, 404, 200, 200),
    Route("GET", "/api/incidents"):                       _row(401, 403, 403, 200, 200, 403, 403, 200, 200),
    # the instance has no incident: who may retry is told so (422, as `cxp instance retry`), nothing written
    Route("POST", "/api/instances/{instance}/retry"):     _row(401, 403, 404, 422, 404, 403, 404, 403, 422),
    Route("GET", "/api/conflicts"):                       _row(401, 200, 200, 200, 200, 200, 200, 200, 200),
    # an unknown organisation: who may declare gets 422 naming `organisation`, nothing written
    Route("POST", "/api/conflicts", body=_json(organisation="NO-SUCH-ORG", reason="My brother runs it.")):
                                                          _row(401, 403, 403, 422, 422, 422, 422, 403, 403),
    Route("GET", "/api/reports/kpi/file", body=_params(format="xlsx")):
                                                          _row(401, 403, 403, 200, 200, 200, 200, 200, 200),
    Route("GET", "/api/reports/publication", body=_params(year=2027)):
                                                          _row(401, 403, 403, 403, 403, 200, 200, 200, 200),
    Route("GET", "/api/reports/fstp", body=_params(call="CXP-TEST-01", format="xlsx")):
                                                          _row(401, 403, 403, 403, 403, 200, 200, 200, 200),
    Route("GET", "/api/audit/sample/csv", body=_params(size=3, seed=7)):
                                                          _row(401, 403, 403, 403, 403, 403, 403, 200, 200),
}
