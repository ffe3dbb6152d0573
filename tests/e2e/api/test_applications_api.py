"""Applications over HTTP on SQLite and PostgreSQL (SPEC §13): a draft created, changed and sent, the
answer 201 with the eligibility outcome in words; suggested matches and preferred offers; bad input
answered 422 naming each field (`body.<field>`), nothing written; a withdrawal."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.e2e.api.conftest import World
from workflows.db.models import Application

DRAFT = {"call": "CXP-TEST-01", "role": "visitor", "date_from": "2027-04-01", "date_to": "2027-04-30",
         "sectors": ["digital"], "wished_countries": ["AT"], "motivation": "", "submit": False}


def fields(answer: Any) -> dict[str, str]:
    assert answer.status_code == 422, answer.text
    return {".".join(str(p) for p in d["loc"]): d["msg"] for d in answer.json()["detail"]}


def applications(world: World) -> int:
    with world.app.uow() as uow:
        return int(uow.session.scalar(select(func.count(Application.id))) or 0)


def test_an_outsider_applies_through_a_draft_prefers_an_offer_and_withdraws(client: Any, world: World) -> None:
    me = world.headers("outsider")
    created = client.post("/api/applications", json=DRAFT, headers=me)
    assert created.status_code == 201, created.text
    draft = created.json()
    assert (draft["status"], draft["eligibility"]["eligible"], draft["may_edit"]) == ("draft", None, True)
    refused = client.post(f"/api/applications/{draft['id']}/submit", headers=me)
    assert fields(refused) == {"body.motivation": "say why your organisation wants this exchange",
                               "body.declaration_given": "tick the declaration on honour (no other EU funding for "
                                                         "the same trip) to submit",
                               "body.audit_rights_accepted": "accept the audit rights to submit"}
    changed = client.patch(f"/api/applications/{draft['id']}", headers=me, json={
        "motivation": "Learn pilot lines.", "declaration_given": True, "audit_rights_accepted": True})
    assert changed.status_code == 200 and changed.json()["motivation"] == "Learn pilot lines."
    sent = client.post(f"/api/applications/{draft['id']}/submit", headers=me)
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["status"] == "eligible" and body["eligibility"] == {
        "eligible": True, "reasons": [], "summary": body["eligibility"]["summary"]}
    assert [a["id"] for a in client.get("/api/applications", headers=me).json()] == [draft["id"]]

    offers = client.get(f"/api/applications/{draft['id']}/suggestions", headers=me).json()
    assert offers and offers[0]["offer"] == world.prog.host_application_id and offers[0]["country"] == "AT"
    assert set(offers[0]["parts"]) == {"sector", "country_wish", "date_overlap", "region_bonus", "preferred"}
    preferred = client.put(f"/api/applications/{draft['id']}/preferences", headers=me,
                           json={"offers": [offers[0]["offer"]]})
    assert preferred.status_code == 200 and preferred.json()["preferred_offers"] == [offers[0]["offer"]]
    too_many = client.put(f"/api/applications/{draft['id']}/preferences", headers=me, json={"offers": [1, 2, 3, 4]})
    assert "body.offers" in fields(too_many)

    withdrawn = client.post(f"/api/applications/{draft['id']}/withdraw", headers=me, json={"reason": "Plans changed."})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"


@pytest.mark.parametrize(("changes", "named"), [
    ({"format": "conference_fair"}, {"body.format": "CXP-TEST-01 does not allow conference_fair"}),
    ({"date_from": "2027-01-12", "date_to": "2027-01-30"}, {"body.date_from": "2027-01-12 is in the past"}),
    ({"date_to": "2027-03-01"}, {"body.date_to": "2027-03-01 is before the first day 2027-04-01"}),
    ({"motivation": "x" * 2001}, {"body.motivation": "String should have at most 2000 characters"}),
    ({"wished_countries": ["Atlantis"]}, {"body.wished_countries": "'Atlantis' is not"}),
    ({"role": "visitor", "declaration_given": False, "submit": True, "motivation": "m"},
     {"body.declaration_given": "tick the declaration", "body.audit_rights_accepted": "accept the audit rights"}),
])
def test_bad_input_is_named_beside_its_field_and_nothing_is_written(client: Any, world: World,
                                                                    changes: dict[str, Any], named: dict[str, str]) -> None:
    before = applications(world)
    found = fields(client.post("/api/applications", json={**DRAFT, **changes}, headers=world.headers("outsider")))
    assert set(found) == set(named) and all(named[k] in found[k] for k in named), found
    assert applications(world) == before


def test_a_second_live_visitor_application_is_refused(client: Any, world: World) -> None:
    before = applications(world)
    answer = client.post("/api/applications", headers=world.headers("applicant"), json={
        **DRAFT, "motivation": "Again", "submit": True, "declaration_given": True, "audit_rights_accepted": True})
    assert "already has a visitor application under way" in fields(answer)["body.role"]
    assert applications(world) == before
