"""The permission rows of the public reads (SPEC §13), merged into the matrix of
test_permission_matrix.py: the published calls and host offers answer everyone alike — anonymous or
signed in, whatever the role — and refuse no one (no audit event); an unknown call (or a draft:
test_public_api.py) is not found for everyone, and a wrong filter is a 422 for everyone."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.e2e.api.conftest import World
from tests.e2e.api.test_permission_matrix import Route, _row

PATH_VALUES: dict[str, Callable[[World], Any]] = {"call": lambda w: "CXP-TEST-01"}
PATH_NAMES = {"{call}": "{code}"}

#                                                anon appl outs  off oth  fin fino  aud adm
MATRIX: dict[Route, dict[str, int]] = {
    Route("GET", "/api/calls"):                           _row(200, 200, 200, 200, 200, 200, 200, 200, 200),
    Route("GET", "/api/calls/{call}"):                    _row(200, 200, 200, 200, 200, 200, 200, 200, 200),
    Route("GET", "/api/calls/NO-SUCH-CALL"):              _row(404, 404, 404, 404, 404, 404, 404, 404, 404),
    Route("GET", "/api/offers"):                          _row(200, 200, 200, 200, 200, 200, 200, 200, 200),
    Route("GET", "/api/offers?country=AT&sector=digital&date_from=2027-02-01&date_to=2027-02-28"):
                                                          _row(200, 200, 200, 200, 200, 200, 200, 200, 200),
    Route("GET", "/api/offers?country=XX"):               _row(422, 422, 422, 422, 422, 422, 422, 422, 422),
}
