"""Registration over HTTP on SQLite and PostgreSQL (SPEC §13), without sign-in: 201 with
`{organisation, username, status: "pending_verification"}`; bad input answered 422 naming each field
(`body.<field>`), nothing written; 429 past the limit per client address with Retry-After; the link's
token verified once through `POST /api/registrations/verify`; the cities to pick from."""
from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.e2e.api.conftest import World
from tests.wall_clock import WallClock
from workflows.db.models import Organisation
from workflows.db.process_models import HumanTask, OutboxMessage

BRUSSELS_ID, VIENNA_ID = 2800866, 2761369


@pytest.fixture(autouse=True)
def fresh_hour(world: World) -> None:
    """Each test starts a new hour of the wall clock: the rate limit of the module's one client address
    (the TestClient's) starts again."""
    clock = world.app.wall_clock
    if not isinstance(clock, WallClock):
        world.app.wall_clock = clock = WallClock()
    clock.advance(hours=2)


def body(n: int, **changes: Any) -> dict[str, Any]:
    return {"legal_name": f"Api Cluster {n}", "legal_id": f"BE07770000{n:02d}", "org_type": "sme",
            "country": "BE", "city_id": BRUSSELS_ID, "sectors": ["digital"], "cluster_member": True,
            "contact_email": f"contact{n}@api.example", "partnership": "CXP-NORTH", "name": f"Ann Api {n}",
            "email": f"ann{n}@api.example", "password": "a long enough password", **changes}


def organisations(world: World) -> int:
    with world.app.uow() as uow:
        return int(uow.session.scalar(select(func.count(Organisation.id))) or 0)


def link_token(world: World, contact: str) -> str:
    with world.app.uow() as uow:
        mails = [m for m in uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.template == "registration_verify").order_by(OutboxMessage.id)) if contact in m.recipients]
        found = re.search(r"token=([A-Za-z0-9_-]+)", mails[-1].context["link"])
    assert found
    return found.group(1)


def test_a_registration_answers_201_and_its_link_verifies_once(client: Any, world: World) -> None:
    answer = client.post("/api/registrations", json=body(1))
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"organisation": "BE0777000001", "username": "ann1", "status": "pending_verification"}
    token = link_token(world, "contact1@api.example")
    verified = client.post("/api/registrations/verify", json={"token": token})
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified" and "assesses" in verified.json()["next_step"]
    with world.app.uow() as uow:
        assert uow.session.scalar(select(func.count(HumanTask.id)).where(
            HumanTask.task_spec == "assess_registration", HumanTask.status == "open")) >= 1
    again = client.post("/api/registrations/verify", json={"token": token})
    assert again.status_code == 422 and "used already" in again.json()["detail"][0]["msg"]
    assert again.json()["detail"][0]["loc"] == ["body", "token"]


def test_bad_input_is_answered_422_naming_each_field_and_nothing_is_written(client: Any, world: World) -> None:
    before = organisations(world)
    answer = client.post("/api/registrations", json=body(2, country="XX", city_id=VIENNA_ID, contact_email="nope",
                                                          org_type="club", password="x" * 2000, surprise=1))
    assert answer.status_code == 422
    named = {".".join(str(p) for p in d["loc"]) for d in answer.json()["detail"]}
    assert {"body.country", "body.contact_email", "body.org_type", "body.password", "body.surprise"} <= named
    assert "x" * 100 not in answer.text                                    # the password is not echoed
    place = client.post("/api/registrations", json=body(2, subdivision="ZZ", city_id=VIENNA_ID))
    assert {d["loc"][-1]: d["msg"] for d in place.json()["detail"]} == {
        "subdivision": place.json()["detail"][0]["msg"], "city_id": "Value error, Vienna is in AT, not in BE"}
    assert "not a subdivision of BE" in place.json()["detail"][0]["msg"]
    taken = client.post("/api/registrations", json=body(2, legal_id="BE100000001", password="short"))
    assert {".".join(map(str, d["loc"])): d["msg"] for d in taken.json()["detail"]}.keys() == {
        "body.legal_id", "body.password"}
    assert organisations(world) == before


def test_past_the_limit_per_address_the_answer_is_429_with_retry_after(client: Any, world: World) -> None:
    limit = world.app.settings.registrations_per_hour
    for n in range(limit):
        assert client.post("/api/registrations", json=body(10 + n)).status_code == 201
    before = organisations(world)
    refused = client.post("/api/registrations", json=body(30))
    assert refused.status_code == 429 and "too many registrations" in refused.json()["detail"]
    assert 0 < int(refused.headers["Retry-After"]) <= 3600 and organisations(world) == before


def test_the_cities_of_a_country_come_with_their_coordinates(client: Any) -> None:
    cities = client.get("/api/places/cities", params={"country": "be"}).json()
    brussels = next(c for c in cities if c["id"] == BRUSSELS_ID)
    assert brussels["name"] == "Brussels" and round(brussels["latitude"], 1) == 50.9
    assert {c["country"] for c in cities} == {"BE"}
    assert client.get("/api/places/cities", params={"country": "XX"}).json() == []
    assert client.get("/api/places/cities", params={"country": "BEL"}).status_code == 422
