"""The permission rows of the account routes (issue 18), merged into the matrix of
test_permission_matrix.py: ending every session of a user is for the user themself or an
administrator; anyone else is refused (403, audited) — whether the user exists or not, so that the
answer says nothing of who has an account. `{username}` is North's second officer, who is none of the
matrix's principals: ending their sessions leaves every principal's token valid."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.e2e.api.conftest import World
from tests.e2e.api.test_permission_matrix import Route, _row
from tests.workflows.builders import SECOND_OFFICER

PATH_VALUES: dict[str, Callable[[World], Any]] = {"username": lambda world: SECOND_OFFICER}
PATH_NAMES: dict[str, str] = {}

#                                                anon appl outs  off oth  fin fino  aud adm
MATRIX: dict[Route, dict[str, int]] = {
    Route("POST", "/api/users/{username}/end-sessions"):  _row(401, 403, 403, 403, 403, 403, 403, 403, 200),
    Route("POST", "/api/users/nobody/end-sessions"):      _row(401, 403, 403, 403, 403, 403, 403, 403, 404),
}
