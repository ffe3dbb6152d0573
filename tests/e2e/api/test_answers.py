"""What the API answers (SPEC §10, §12): 401 without valid credentials, sign-in by the OAuth2 password
flow (audited, rate-limited), 404 for unknown ids, 409 for a task completed meanwhile, 413/415 for
uploads, 422 naming each field with nothing written, and never a 500 for bad input."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from tests.e2e.api.conftest import World, fresh_assessment
from tests.workflows.builders import HOST, SOUTH_OFFICER, approve
from workflows.db.account_models import ApiToken
from workflows.services.access import SYSTEM
from workflows.services.accounts import set_password
from workflows.services.tokens import issue_token, revoke_token

PASSWORD = "correct horse battery staple 42"


def _token_row(world: World, secret: str, **values: Any) -> None:
    from workflows.services.tokens import token_hash

    with world.app.uow() as uow:
        uow.session.execute(update(ApiToken).where(ApiToken.token_hash == token_hash(secret)).values(**values))
        uow.commit()


def _refused_unauthenticated(answer: Any) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"] == "Bearer"
    assert isinstance(answer.json()["detail"], str)


# --- 401 ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("authorization", [None, "Bearer ", "Bearer not-a-token", "Bearer cxp_" + "x" * 43,
                                           "Basic dXNlcjpwdw==", "Bearer " + "cxp_" * 100])
def test_without_a_valid_token_every_call_is_401_with_a_bearer_challenge(client: Any, authorization: str | None
                                                                         ) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    _refused_unauthenticated(client.get("/api/tasks", headers=headers))


def test_an_expired_token_is_401(client: Any, world: World) -> None:
    secret = issue_token(world.app, SYSTEM, "auditor", name="soon expired").token
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    from datetime import timedelta

    _token_row(world, secret, expires_at=world.app.wall_clock() - timedelta(seconds=1))  # tokens: real time
    _refused_unauthenticated(client.get("/api/auth/me", headers={"Authorization": f"Bearer {secret}"}))


def test_a_revoked_token_is_401(client: Any, world: World) -> None:
    secret = issue_token(world.app, SYSTEM, "auditor", name="to revoke").token
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {secret}"}).json()["username"] == "auditor"
    revoke_token(world.app, SYSTEM, secret)
    _refused_unauthenticated(client.get("/api/auth/me", headers={"Authorization": f"Bearer {secret}"}))


# --- POST /api/auth/token -------------------------------------------------------------------------

def test_the_password_flow_gives_a_bearer_token_and_a_wrong_password_is_401_and_audited(client: Any,
                                                                                        world: World) -> None:
    set_password(world.app, SYSTEM, SOUTH_OFFICER, PASSWORD)
    before = world.last_event_id()

    wrong = client.post("/api/auth/token", data={"username": SOUTH_OFFICER, "password": "not it"})

    _refused_unauthenticated(wrong)
    failed, = world.events("login_failed", after_id=before)
    assert failed.data_after["username"] == SOUTH_OFFICER and failed.data_after["reason"] == "wrong_password"
    assert "not it" not in str(failed.data_after)
    right = client.post("/api/auth/token", data={"username": SOUTH_OFFICER, "password": PASSWORD})
    assert right.status_code == 200, right.text
    body = right.json()
    assert body["token_type"] == "bearer" and body["access_token"].startswith("cxp_")
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert (me["username"], me["role"]) == (SOUTH_OFFICER, "officer")
    assert [e.actor for e in world.events("login", after_id=before)] == [SOUTH_OFFICER]


def test_an_unknown_user_is_answered_like_a_wrong_password(client: Any, world: World) -> None:
    before = world.last_event_id()
    answer = client.post("/api/auth/token", data={"username": "nobody.at.all", "password": "x"})
    _refused_unauthenticated(answer)
    assert answer.json()["detail"] == client.post("/api/auth/token", data={
        "username": SOUTH_OFFICER, "password": "still not it"}).json()["detail"]
    assert world.events("login_failed", after_id=before)[0].data_after["reason"] == "unknown_user"


def test_repeated_failed_sign_ins_are_429_with_retry_after_even_for_the_right_password(client: Any,
                                                                                     world: World) -> None:
    set_password(world.app, SYSTEM, HOST, PASSWORD)
    limit = world.app.settings.login_slowdown_after
    for _ in range(limit):
        _refused_unauthenticated(client.post("/api/auth/token", data={"username": HOST, "password": "guess"}))

    throttled = client.post("/api/auth/token", data={"username": HOST, "password": PASSWORD})

    assert throttled.status_code == 429, throttled.text
    assert int(throttled.headers["retry-after"]) >= 1
    assert "access_token" not in throttled.json()
    assert world.events("login_failed")[-1].data_after["reason"] == "throttled"


def test_the_token_form_without_its_fields_is_422_naming_them(client: Any) -> None:
    answer = client.post("/api/auth/token", data={})
    assert answer.status_code == 422
    assert {tuple(e["loc"]) for e in answer.json()["detail"]} == {("body", "username"), ("body", "password")}


# --- 404, 409 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/tasks/987654", "/api/tasks/987654/claim", "/api/instances/987654",
                                  "/api/exchanges/EX-987654", "/api/exchanges/987654/evidence",
                                  "/api/payments/batches/987654", "/api/payments/batches/CXP-X-1/csv",
                                  "/api/audit/exchanges/EX-987654/file", "/api/no/such/route"])
def test_an_unknown_id_is_404_with_a_sentence(client: Any, world: World, path: str) -> None:
    method = "POST" if path.endswith("/claim") else "GET"
    answer = client.request(method, path, headers=world.headers("admin"))
    assert answer.status_code == 404, answer.text
    assert isinstance(answer.json()["detail"], str)


def test_completing_a_task_already_completed_is_409_and_runs_nothing_twice(client: Any, world: World) -> None:
    task_id = fresh_assessment(world)
    first = client.post(f"/api/tasks/{task_id}/complete", json=approve(), headers=world.headers("officer"))
    assert first.status_code == 200, first.text

    again = client.post(f"/api/tasks/{task_id}/complete", json=approve(), headers=world.headers("officer"))

    assert again.status_code == 409, again.text
    assert len([e for e in world.events("task_completed") if e.data_after["human_task"] == task_id]) == 1


def test_releasing_a_batch_already_released_is_409(client: Any, world: World) -> None:
    assert client.post(f"/api/payments/batches/{world.east_batch}/release",
                       headers=world.headers("finance_other")).status_code == 200
    again = client.post(f"/api/payments/batches/{world.east_batch}/release", headers=world.headers("finance_other"))
    assert again.status_code == 409, again.text
    assert world.batch_row(world.east_batch).status == "released"
