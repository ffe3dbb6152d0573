"""Issue 19 point 10, through the API as a client program would take it (SQLite and PostgreSQL): two
organisations register without signing in, each opens the one-use link of the email it was sent, an
officer of the chosen partnership approves each registration from the inbox; the first applies as a
visitor and reads its eligibility at once, the second offers to host and its offer is approved and
published; the visitor finds the offer among its suggestions and marks it preferred; the matching
round proposes exactly that pair, with the preference among its reasons, and both accept. Every
person's step is an HTTP call with that person's bearer token; only the clock (an operator's
`cxp clock advance`) and the call's start are the harness's."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from tests.wall_clock import WallClock
from tests.workflows.builders import ADMIN, BRUSSELS, OFFICER, SOUTH_OFFICER, Programme, programme  # noqa: F401
from workflows.db.models import Exchange, MatchProposal
from workflows.db.process_models import OutboxMessage
from workflows.services.access import SYSTEM
from workflows.services.accounts import set_password
from workflows.services.lifecycle import start

PASSWORD = "a long enough password"
BRUSSELS_ID, VIENNA_ID = 2800866, 2761369
VISITOR_APPLICATION = {"call": "CXP-TEST-01", "role": "visitor", "format": "exchange_visit", "date_from": "2027-02-01",
                       "date_to": "2027-03-01", "sectors": ["digital"], "wished_countries": ["AT"],
                       "motivation": "Pilot lines.", "declaration_given": True, "audit_rights_accepted": True}


@pytest.fixture
def client(programme: Programme) -> Any:  # noqa: F811
    from fastapi.testclient import TestClient

    from workflows.web.app import create_app

    programme.app.wall_clock = WallClock()
    for name in (OFFICER, SOUTH_OFFICER, ADMIN):
        set_password(programme.app, SYSTEM, name, PASSWORD)
    with TestClient(create_app(application=programme.app), base_url="https://testserver") as test_client:
        yield test_client


def bearer(client: Any, username: str) -> dict[str, str]:
    answer = client.post("/api/auth/token", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def register(client: Any, prog: Programme, n: int, country: str, city_id: int, partnership: str) -> str:
    body = {"legal_name": f"Front Door Cluster {n}", "legal_id": f"{country}0990000{n:02d}", "org_type": "cluster_organisation",
            "country": country, "city_id": city_id, "sectors": ["digital"], "cluster_member": True,
            "contact_email": f"contact{n}@front.example", "partnership": partnership, "name": f"Fran Front {n}",
            "email": f"fran{n}@front.example", "password": PASSWORD}
    answer = client.post("/api/registrations", json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "pending_verification"
    with prog.app.uow() as uow:   # the link in the email the outbox is to send
        mail = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "registration_verify")
                                   .order_by(OutboxMessage.id.desc())).first()
        token = re.search(r"token=([A-Za-z0-9_-]+)", mail.context["link"]).group(1)
    verified = client.post("/api/registrations/verify", json={"token": token})
    assert verified.status_code == 200 and verified.json()["status"] == "verified", verified.text
    return str(answer.json()["username"])


def only_task(client: Any, who: dict[str, str], task: str) -> int:
    found = client.get("/api/tasks", params={"task": task}, headers=who)
    assert found.status_code == 200, found.text
    tasks = found.json()["tasks"]
    assert len(tasks) == 1, (task, tasks)
    return int(tasks[0]["id"])


def complete(client: Any, who: dict[str, str], task_id: int, data: dict[str, Any]) -> None:
    done = client.post(f"/api/tasks/{task_id}/complete", json=data, headers=who)
    assert done.status_code == 200, done.text


def test_two_organisations_register_apply_prefer_and_are_matched_through_the_api(
        client: Any, programme: Programme) -> None:  # noqa: F811
    prog = programme
    visitor_user = register(client, prog, 1, "BE", BRUSSELS_ID, "CXP-NORTH")
    host_user = register(client, prog, 2, "AT", VIENNA_ID, "CXP-SOUTH")
    visitor, host = bearer(client, visitor_user), bearer(client, host_user)
    early = client.post("/api/applications", headers=visitor, json=VISITOR_APPLICATION)
    assert early.status_code == 403 and "assessment" in early.text, early.text  # not approved yet: may not apply

    north, south = bearer(client, OFFICER), bearer(client, SOUTH_OFFICER)
    complete(client, north, only_task(client, north, "assess_registration"), {"decision": "approve"})
    complete(client, south, only_task(client, south, "assess_registration"), {"decision": "approve"})

    applied = client.post("/api/applications", headers=visitor, json=VISITOR_APPLICATION)
    assert applied.status_code == 201, applied.text
    assert applied.json()["eligibility"]["eligible"] is True and applied.json()["status"] != "draft"
    visitor_app = applied.json()["id"]
    complete(client, north, only_task(client, north, "assess_application"), {"decision": "approve", "comment": "Good fit."})

    offered = client.post("/api/applications", headers=host, json={
        "call": "CXP-TEST-01", "role": "host", "date_from": "2027-02-01", "date_to": "2027-04-30",
        "sectors": ["digital"], "capacity": 1, "topics": ["pilot lines"],
        "activities_offered": ["study_visit"], "declaration_given": True, "audit_rights_accepted": True})
    assert offered.status_code == 201, offered.text
    offer = offered.json()["id"]
    complete(client, south, only_task(client, south, "approve_host"), {"decision": "approve", "comment": "Clear."})
    public = client.get("/api/offers", params={"country": "AT"}).json()  # published: on the public list
    assert offer in [o["id"] for o in public["offers"]]

    suggested = client.get(f"/api/applications/{visitor_app}/suggestions", headers=visitor)
    assert suggested.status_code == 200 and offer in [s["offer"] for s in suggested.json()]
    marked = client.put(f"/api/applications/{visitor_app}/preferences", headers=visitor, json={"offers": [offer]})
    assert marked.status_code == 200, marked.text

    with prog.app.uow() as uow:  # the call's process, as the administrator's publication starts it
        start(prog.app, uow, "call", "call", prog.call_id, {"call_id": prog.call_id, "partnership_id": prog.north_id})
        uow.commit()
    admin = bearer(client, ADMIN)
    complete(client, admin, only_task(client, admin, "prepare_call"), {"confirm": True})
    prog.advance_to(datetime(2027, 3, 6, 9, 0, tzinfo=BRUSSELS))      # the call closed: the matching round
    complete(client, north, only_task(client, north, "review_proposals"),
             {"confirm": True, "drop_proposals": [], "comment": "ok"})
    with prog.app.uow() as uow:
        proposal = uow.session.scalars(select(MatchProposal).where(
            MatchProposal.visitor_application_id == visitor_app)).one()
        assert proposal.host_application_id == offer and "preferred by the visitor" in proposal.explanation["reasons"]

    accept = {"accept": True, "reason": None}
    complete(client, visitor, only_task(client, visitor, "visitor_accept_match"), accept)
    complete(client, host, only_task(client, host, "host_accept_match"), accept)
    with prog.app.uow() as uow:
        exchange = uow.session.scalars(select(Exchange).where(Exchange.visitor_application_id == visitor_app)).one()
        assert exchange.status == "matched" and exchange.host_application_id == offer
