"""The permission rows of the programme administration's routes (SPEC §14), merged into the matrix of
test_permission_matrix.py: only administrators change calls, budgets, rule sets, partnerships and
organisations (every other principal 403, the refusal audited as `admin_change_refused`);
administrators and auditors read the administration (drafts, histories, accounts; others 403,
audited); every signed-in person reads the rule sets.

Each body is well formed, so that the permission check decides; what the administrator then gets
writes nothing: the matrix's call is open (publishing or editing it is a conflict), a reason is
missing, a budget is the one it has, a partnership's code is taken, a rule set has the values of a
stored version (answered, not stored again)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.e2e.api.conftest import World
from tests.e2e.api.test_permission_matrix import Route, _row

ADMIN_REFUSED = "admin_change_refused"
CALL = {"code": "CXP-MATRIX-1", "title": "Matrix call", "lead_partnership": "CXP-NORTH", "opens_on": "2027-02-01",
        "closes_on": "2027-01-31", "matching_deadline": "2027-05-28T18:00:00+02:00", "budget": "1000.00",
        "rule_set_version": "2026.1"}   # closes before it opens: the administrator gets 422, nothing written
PARTNERSHIP = {"code": "CXP-NORTH", "name": "North again", "country": "BE", "debtor_name": "North",
               "debtor_iban": "BE68539007547034"}

PATH_VALUES: dict[str, Callable[[World], Any]] = {
    "call": lambda w: "CXP-TEST-01", "partnership": lambda w: "CXP-NORTH", "org": lambda w: "BE100000003"}
PATH_NAMES = {"{call}": "{code}", "{partnership}": "{code}", "{org}": "{legal_id}"}

#                                                anon appl outs  off oth  fin fino  aud adm
MATRIX: dict[Route, dict[str, int]] = {
    Route("POST", "/api/calls", ADMIN_REFUSED, body=lambda w: {"json": CALL}):
                                                          _row(401, 403, 403, 403, 403, 403, 403, 403, 422),
    Route("PATCH", "/api/calls/{call}", ADMIN_REFUSED, body=lambda w: {"json": {"title": "Another title"}}):
                                                          _row(401, 403, 403, 403, 403, 403, 403, 403, 409),
    Route("POST", "/api/calls/{call}/publish", ADMIN_REFUSED):
                                                          _row(401, 403, 403, 403, 403, 403, 403, 403, 409),
    Route("POST", "/api/calls/{call}/close", ADMIN_REFUSED, body=lambda w: {"json": {"reason": " "}}):
                                                          _row(401, 403, 403, 403, 403, 403, 403, 403, 422),
    Route("POST", "/api/calls/{call}/budget", ADMIN_REFUSED,
          body=lambda w: {"json": {"budget": "30000.00", "reason": "the same"}}):
                                                          _row(401, 403, 403, 403, 403, 403, 403, 403, 422),
    Route("GET", "/api/admin"):                           _row(401, 403, 403, 403, 403, 403, 403, 200, 200),
    Route("GET", "/api/admin/calls"):                     _row(401, 403, 403, 403, 403, 403, 403, 200, 200),
    Route("GET", "/api/admin/calls/{call}"):              _row(401, 403, 403, 403, 403, 403, 403, 200, 200),
    Route("GET", "/api/admin/calls/NO-SUCH-CALL"):        _row(401, 403, 403, 403, 403, 403, 403, 404, 404),
    Route("GET", "/api/admin/partnerships"):              _row(401, 403, 403, 403, 403, 403, 403, 200, 200),
    Route("POST", "/api/admin/partnerships", ADMIN_REFUSED, body=lambda w: {"json": PARTNERSHIP}):
                                                          _row(401, 403, 403, 403, 403, 403, 403, 403, 422),
    Route("PATCH", "/api/admin/partnerships/{partnership}", ADMIN_REFUSED,
          body=lambda w: {"json": {"name": "ClusterXchange North"}}):
                                                          _row(401, 403, 403, 403, 403, 403, 403, 403, 422),
    Route("GET", "/api/admin/organisations"):             _row(401, 403, 403, 403, 403, 403, 403, 200, 200),
    Route("POST", "/api/admin/organisations/{org}/deactivate", ADMIN_REFUSED, body=lambda w: {"json": {}}):
                                                          _row(401, 403, 403, 403, 403, 403, 403, 403, 422),
    Route("POST", "/api/admin/organisations/{org}/activate", ADMIN_REFUSED, body=lambda w: {"json": {"reason": "ok"}}):
                                                          _row(401, 403, 403, 403, 403, 403, 403, 403, 409),
    Route("GET", "/api/rule-sets"):                       _row(401, 200, 200, 200, 200, 200, 200, 200, 200),
    Route("POST", "/api/rule-sets", ADMIN_REFUSED, body=lambda w: {"json": {"version": "2026.1", "base": "2026.1"}}):
                                                          _row(401, 403, 403, 403, 403, 403, 403, 403, 200),
}
