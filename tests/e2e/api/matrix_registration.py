"""The permission rows of the registration's public routes (SPEC §13), merged into the matrix of
test_permission_matrix.py: anyone, signed in or not, gets the same answer, and no answer names a
person. Each body is well formed, so that the service decides; what it decides writes nothing: the
registration uses a legal id already registered (422, the rate limit's count rolled back with it), and
the token is not one that was sent (422)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.e2e.api.conftest import World
from tests.e2e.api.test_permission_matrix import Route, _row

TAKEN = {"legal_name": "Matrix Cluster", "legal_id": "BE100000001", "org_type": "sme", "country": "BE",
         "city_id": 2800866, "contact_email": "matrix@cluster.example", "partnership": "CXP-NORTH",
         "name": "Max Matrix", "email": "max@cluster.example", "password": "a long enough password"}

PATH_VALUES: dict[str, Callable[[World], Any]] = {}
PATH_NAMES: dict[str, str] = {}

#                                                anon appl outs  off oth  fin fino  aud adm
MATRIX: dict[Route, dict[str, int]] = {
    Route("POST", "/api/registrations", body=lambda w: {"json": TAKEN}):
                                                          _row(422, 422, 422, 422, 422, 422, 422, 422, 422),
    Route("POST", "/api/registrations/verify", body=lambda w: {"json": {"token": "not-sent"}}):
                                                          _row(422, 422, 422, 422, 422, 422, 422, 422, 422),
    Route("GET", "/api/places/cities", body=lambda w: {"params": {"country": "BE"}}):
                                                          _row(200, 200, 200, 200, 200, 200, 200, 200, 200),
}
