"""The permission matrix of the HTTP API (SPEC §10, "Who sees what") as data: every route × every
principal → the expected status. 401 without credentials; 404 for a record the principal may not see
(another partnership's, another organisation's) exactly as for an unknown id; 403 for one they see but
may not act on or read, with the refusal audited; 2xx (or 422 for a harmless invalid body: the
permission check passed, the form did not) when allowed. Changing one cell fails one test."""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import update

from tests.e2e.api.conftest import PRINCIPALS, World
from tests.workflows.builders import OFFICER
from workflows.db.process_models import PaymentBatch

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
WHO = list(PRINCIPALS)  # anonymous, applicant, outsider, officer, officer_other, finance, finance_other, auditor, admin


@dataclass(frozen=True)
class Route:
    method: str
    path: str                          # {task} {instance} {exchange} {batch} {east_batch}
    refusal: str = "access_refused"    # the audit action a 403 writes
    body: Callable[[World], dict[str, Any]] | None = None  # keyword arguments of the request
    restore: Callable[[World], None] | None = None         # undo what an allowed call changed


def _row(*statuses: int) -> dict[str, int]:
    assert len(statuses) == len(WHO)
    return dict(zip(WHO, statuses, strict=True))


def _unclaim(world: World) -> None:
    with world.app.uow() as uow:
        from workflows.db.process_models import HumanTask

        uow.session.execute(update(HumanTask).where(HumanTask.id == world.task_id).values(assignee_id=None))
        uow.commit()


def _unrelease(msg_id_of: Callable[[World], str]) -> Callable[[World], None]:
    def restore(world: World) -> None:
        with world.app.uow() as uow:
            uow.session.execute(update(PaymentBatch).where(PaymentBatch.msg_id == msg_id_of(world)).values(
                status="created", released_by=None, released_at=None))
            uow.commit()
    return restore


_UPLOADS = itertools.count()


def _new_pdf() -> bytes:
    """A PDF of its own for each upload: the same content again is answered 200 (already stored)."""
    return PDF + f"% upload {next(_UPLOADS)}\n".encode()


TASK = "task_refused"
#                                                anon appl outs  off oth  fin fino  aud adm
MATRIX: dict[Route, dict[str, int]] = {
    Route("GET", "/api/health"):                          _row(200, 200, 200, 200, 200, 200, 200, 200, 200),
    Route("GET", "/api/auth/me"):                         _row(401, 200, 200, 200, 200, 200, 200, 200, 200),
    Route("GET", "/api/tasks"):                           _row(401, 200, 200, 200, 200, 200, 200, 200, 200),
    Route("GET", "/api/tasks/{task}"):                    _row(401, 404, 404, 200, 404, 200, 404, 200, 200),
    Route("GET", "/api/tasks/999999"):                    _row(401, 404, 404, 404, 404, 404, 404, 404, 404),
    # an administrator reassigns and releases (administration) but claims and completes no one else's task
    Route("POST", "/api/tasks/{task}/claim", TASK, restore=_unclaim):
                                                          _row(401, 404, 404, 200, 404, 403, 404, 403, 403),
    Route("POST", "/api/tasks/{task}/unclaim", TASK):     _row(401, 404, 404, 200, 404, 403, 404, 403, 200),
    Route("POST", "/api/tasks/{task}/reassign", TASK, body=lambda w: {"json": {"to": OFFICER}}, restore=_unclaim):
                                                          _row(401, 404, 404, 200, 404, 403, 404, 403, 200),
    # {} is not a valid form: who passes the permission check gets 422 and nothing is written
    Route("POST", "/api/tasks/{task}/complete", TASK, body=lambda w: {"json": {}}):
                                                          _row(401, 404, 404, 422, 404, 403, 404, 403, 403),
    Route("GET", "/api/instances/{instance}"):            _row(401, 200, 404, 200, 404, 200, 404, 200, 200),
    Route("GET", "/api/instances/{instance}/diagram"):    _row(401, 200, 404, 200, 404, 200, 404, 200, 200),
    Route("GET", "/api/instances/999999"):                _row(401, 404, 404, 404, 404, 404, 404, 404, 404),
    Route("GET", "/api/exchanges"):                       _row(401, 200, 200, 200, 200, 200, 200, 200, 200),
    Route("GET", "/api/exchanges/{exchange}"):            _row(401, 200, 404, 200, 404, 200, 404, 200, 200),
    Route("GET", "/api/exchanges/EX-999999"):             _row(401, 404, 404, 404, 404, 404, 404, 404, 404),
    Route("GET", "/api/exchanges/{exchange}/evidence"):   _row(401, 200, 404, 200, 404, 200, 404, 200, 200),
    Route("POST", "/api/exchanges/{exchange}/evidence",
          body=lambda w: {"files": {"file": ("attendance.pdf", _new_pdf(), "application/pdf")},
                          "data": {"kind": "attendance_certificate"}}):
                                                          _row(401, 201, 404, 201, 404, 403, 404, 403, 201),
    Route("GET", "/api/payments/batches"):                _row(401, 200, 200, 200, 200, 200, 200, 200, 200),
    Route("GET", "/api/payments/batches/{batch}"):        _row(401, 404, 404, 200, 404, 200, 404, 200, 200),
    Route("GET", "/api/payments/batches/{batch}/file"):   _row(401, 404, 404, 200, 404, 200, 404, 200, 200),
    Route("GET", "/api/payments/batches/{batch}/csv"):    _row(401, 404, 404, 200, 404, 200, 404, 200, 200),
    Route("GET", "/api/payments/batches/{east_batch}"):   _row(401, 404, 404, 404, 200, 404, 200, 200, 200),
    Route("GET", "/api/payments/batches/NO-SUCH-BATCH"):  _row(401, 404, 404, 404, 404, 404, 404, 404, 404),
    Route("POST", "/api/payments/batches/{batch}/release", "batch_release_refused",
          restore=_unrelease(lambda w: w.batch)):         _row(401, 404, 404, 403, 404, 200, 404, 403, 403),
    Route("POST", "/api/payments/batches/{east_batch}/release", "batch_release_refused",
          restore=_unrelease(lambda w: w.east_batch)):    _row(401, 404, 404, 404, 403, 404, 200, 403, 403),
    # not a bank file: who may import (finance only) gets 422 (nothing imported), anyone else 403
    Route("POST", "/api/payments/bank-files", "bank_import_refused",
          body=lambda w: {"files": {"file": ("status.xml", b"<Document/>", "application/xml")}}):
                                                          _row(401, 403, 403, 403, 403, 422, 422, 403, 403),
    Route("GET", "/api/audit/verify"):                    _row(401, 403, 403, 403, 403, 403, 403, 200, 200),
    Route("GET", "/api/audit/sample"):                    _row(401, 403, 403, 403, 403, 403, 403, 200, 200),
    Route("GET", "/api/audit/exchanges/{exchange}/file"): _row(401, 403, 404, 403, 404, 403, 404, 200, 200),
    Route("GET", "/api/reports/kpi"):                     _row(401, 403, 403, 200, 200, 200, 200, 200, 200),
}

# Each area's rows (tests/e2e/api/matrix_<area>.py), with the values of their own path placeholders
# (`PATH_VALUES`: name → its value in the world) and the route parameters they stand for (`PATH_NAMES`).
PATH_VALUES: dict[str, Callable[[World], Any]] = {}
PATH_NAMES: dict[str, str] = {}
from tests.e2e.api import (  # noqa: E402  (they build rows with Route, _row)
    matrix_accounts,
    matrix_admin,
    matrix_applications,
    matrix_processes,
    matrix_public,
    matrix_registration,
    matrix_workspace,
)

for _area in (matrix_processes, matrix_accounts, matrix_admin, matrix_applications, matrix_registration,
              matrix_workspace, matrix_public):
    MATRIX.update(_area.MATRIX)
    PATH_VALUES.update(_area.PATH_VALUES)
    PATH_NAMES.update(_area.PATH_NAMES)

CELLS = [pytest.param(route, who, MATRIX[route][who], id=f"{route.method} {route.path} as {who}")
         for route in MATRIX for who in WHO]


def _path(route: Route, world: World) -> str:
    extra = {name: value(world) for name, value in PATH_VALUES.items() if f"{{{name}}}" in route.path}
    return route.path.format(task=world.task_id, instance=world.instance_id, exchange=world.exchange_ref,
                             batch=world.batch, east_batch=world.east_batch, **extra)


@pytest.mark.parametrize(("route", "who", "expected"), CELLS)
def test_each_principal_gets_the_answer_of_its_cell(client: Any, world: World, route: Route, who: str,
                                                     expected: int) -> None:
    before = world.last_event_id()
    answer = client.request(route.method, _path(route, world), headers=world.headers(who),
                            **(route.body(world) if route.body else {}))
    try:
        assert answer.status_code == expected, answer.text[:300]
        if expected == 401:
            assert answer.headers["www-authenticate"] == "Bearer"
        if expected == 403:
            refusals = world.events(route.refusal, after_id=before)
            assert [e.actor for e in refusals] == [PRINCIPALS[who]], "a 403 writes one refusal event"
            assert refusals[0].data_after["reason"]
        elif expected != 200 or route.method == "GET":
            assert world.events("access_refused", "task_refused", "batch_release_refused", "bank_import_refused",
                                after_id=before) == []
    finally:
        if route.restore and answer.status_code < 300:
            route.restore(world)


def test_the_matrix_names_every_route_of_the_api_and_every_principal(client: Any) -> None:
    documented = {(method.upper(), path) for path, item in client.get("/openapi.json").json()["paths"].items()
                  for method in item}
    def documented_path(path: str) -> str:
        for placeholder, name in PATH_NAMES.items():
            path = path.replace(placeholder, name)
        return path

    asked = {(r.method, documented_path(r.path.replace("{task}", "{task_id}").replace("{instance}", "{instance_id}")
              .replace("{exchange}", "{ref}").replace("{east_batch}", "{batch}"))) for r in MATRIX}
    untested = {(m, p) for m, p in documented if (m, p) not in asked and p != "/api/auth/token"}
    assert untested == set()
    assert all(set(row) == set(WHO) for row in MATRIX.values())
