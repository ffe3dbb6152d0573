"""The public JSON of SPEC §13 without credentials: `GET /api/calls` (no draft), `GET /api/calls/{code}`
(404 for a draft as for an unknown code), `GET /api/offers` (filters, paging with the total, 422 naming
each wrong filter), nothing personal in any answer, and the OpenAPI document listing the three with
their models — on SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.api.conftest import World
from tests.e2e.api.public_data import DRAFT, HIDDEN, MARKUP, PublicData, add_public_data

SEEDED = 25


@pytest.fixture(scope="module")
def data(world: World) -> PublicData:
    return add_public_data(world.prog, SEEDED)


def offers(client: Any, **params: Any) -> dict[str, Any]:
    answer = client.get("/api/offers", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_anyone_reads_the_published_calls_with_their_rules_in_words_and_never_a_draft(
        client: Any, data: PublicData) -> None:
    answer = client.get("/api/calls")
    assert answer.status_code == 200
    calls = {c["code"]: c for c in answer.json()}
    assert DRAFT not in calls and "CXP-TEST-01" in calls
    call = calls["CXP-TEST-01"]
    assert [p["code"] for p in call["partnerships"]] == ["CXP-NORTH", "CXP-SOUTH"] and call["partnerships"][0]["lead"]
    assert call["formats"] == [{"code": "exchange_visit", "label": "Exchange visit"}]
    assert call["events"] == [{"kind": {"code": "virtual_marketplace", "label": "Virtual marketplace"},
                               "title": "Spring matchmaking days", "starts_on": "2027-02-02", "ends_on": "2027-02-04",
                               "place": "online"}]
    rules = call["rules"]
    assert rules["version"] == "2026.1" and rules["cap"] == "1100.00" and rules["min_working_days"] == 3
    assert rules["caps_by_host_country"][0]["amount"] == "1100.00"
    assert {"code": "AT", "name": "Austria"} in rules["caps_by_host_country"][0]["countries"]
    words = " ".join(rules["in_words"])
    assert "EUR 1,100.00 for a host in Austria" in words and "EUR 780.00 for a host in any other" in words
    assert "halved" in words and "at least 3 working days" in words and "No grant is above EUR 1,100.00" in words
    assert call["offers"] == 1 + 1 + SEEDED  # Helix, the markup name's, the seeded; not the deactivated one

    one = client.get("/api/calls/cxp-test-01")
    assert one.status_code == 200 and one.json() == call


@pytest.mark.parametrize("code", [DRAFT, "NO-SUCH-CALL", "x" * 41])
def test_a_draft_answers_not_found_as_an_unknown_code_does(client: Any, data: PublicData, code: str) -> None:
    answer = client.get(f"/api/calls/{code}")
    assert answer.status_code == (422 if len(code) > 40 else 404)
    if answer.status_code == 404:
        assert answer.json() == {"detail": f"call: no published call '{code}'"}


def test_the_offers_show_the_places_left_and_only_what_is_published(client: Any, world: World,
                                                                   data: PublicData) -> None:
    found = offers(client, page_size=100)
    assert found["total"] == 2 + SEEDED and len(found["offers"]) == found["total"]
    ids = {o["id"] for o in found["offers"]}
    assert data.draft_offer not in ids and data.hidden_offer not in ids and data.markup_offer in ids
    helix = next(o for o in found["offers"] if o["id"] == world.prog.host_application_id)
    # capacity 2, one visit matched: one place left
    assert (helix["capacity"], helix["places_left"]) == (2, 1)
    assert helix["organisation"] == "Helix Cluster Vienna" and helix["country"] == {"code": "AT", "name": "Austria"}
    assert helix["city"] == "Vienna" and helix["sectors"] == [{"code": "digital", "label": "Digital"}]
    assert helix["call"] == "CXP-TEST-01" and helix["format"]["label"] == "Exchange visit"
    marked = next(o for o in found["offers"] if o["id"] == data.markup_offer)
    assert marked["organisation"] == MARKUP
    assert HIDDEN not in str(found)


def test_the_offers_filter_by_country_sector_format_call_and_overlapping_dates(client: Any, world: World,
                                                                              data: PublicData) -> None:
    def ids(**params: Any) -> set[int]:
        return {o["id"] for o in offers(client, page_size=100, **params)["offers"]}

    every = offers(client, page_size=100)["offers"]
    assert ids(country="at") == {o["id"] for o in every if o["country"]["code"] == "AT"}
    assert world.prog.host_application_id in ids(country="AT") and world.prog.host_application_id not in ids(country="FR")
    assert ids(sector="tourism") == {o["id"] for o in every if "tourism" in [s["code"] for s in o["sectors"]]}
    assert data.markup_offer in ids(sector="tourism")
    assert ids(format="conference_fair") == {o["id"] for o in every if o["format"]["code"] == "conference_fair"}
    assert ids(call="CXP-TEST-01") == {o["id"] for o in every} and ids(call=DRAFT) == set()
    # Helix receives from 25 Jan to 30 Apr 2027: an overlap at either end counts, a range beside it not
    assert world.prog.host_application_id in ids(date_from="2027-04-30", date_to="2027-05-10")
    assert world.prog.host_application_id in ids(date_from="2027-01-01", date_to="2027-01-25")
    assert world.prog.host_application_id not in ids(date_from="2027-05-01")
    assert world.prog.host_application_id not in ids(date_to="2027-01-24")
    both = ids(country="PT", sector="tourism", format="conference_fair", date_from="2027-06-15", date_to="2027-06-15")
    assert both == {data.markup_offer}
    assert ids(country="", sector="", date_from="") == {o["id"] for o in every}  # an empty filter is no filter


def test_the_offers_come_in_pages_with_the_total_on_each(client: Any, data: PublicData) -> None:
    total = 2 + SEEDED
    pages = [offers(client, page=p, page_size=10) for p in (1, 2, 3)]
    assert [len(p["offers"]) for p in pages] == [10, 10, total - 20]
    assert all(p["total"] == total and p["page_size"] == 10 for p in pages)
    seen = [o["id"] for p in pages for o in p["offers"]]
    assert len(set(seen)) == total  # no offer twice, none left out
    dates = [o["date_from"] for p in pages for o in p["offers"]]
    assert dates == sorted(dates)
    beyond = offers(client, page=9, page_size=10)
    assert beyond["offers"] == [] and beyond["total"] == total


@pytest.mark.parametrize(("params", "field"), [
    ({"country": "XX"}, "country"), ({"country": "Austria"}, "country"), ({"sector": "<b>"}, "sector"),
    ({"format": "holiday"}, "format"), ({"date_from": "2027-05-01", "date_to": "2027-04-01"}, "date_to"),
    ({"date_from": "yesterday"}, "date_from"), ({"page_size": 1000}, "page_size"), ({"page": 0}, "page"),
])
def test_a_wrong_filter_is_named_in_a_422(client: Any, data: PublicData, params: dict[str, Any], field: str) -> None:
    answer = client.get("/api/offers", params=params)
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert [d["loc"] for d in detail] == [["query", field]] and detail[0]["msg"]


def test_nothing_personal_is_in_the_public_answers(client: Any, world: World, data: PublicData) -> None:
    text = " ".join(client.get(path).text for path in ("/api/calls", "/api/calls/CXP-TEST-01",
                                                       "/api/offers?page_size=100"))
    assert "@" not in text  # no email
    for secret in ("Vera Visitor", "Hans Host", "Olga Officer", "AT611904300234573201", "PT50000201231234567890154",
                   "BE100000001", "AT100000002", "PT-MARK-1", "iban", "legal_id", "contact_email", "GKCCBEBB",
                   "BE68539007547034"):
        assert secret not in text, secret


def test_the_public_routes_answer_with_a_token_too_and_the_admin_routes_stay_theirs(client: Any, world: World,
                                                                                     data: PublicData) -> None:
    anonymous = client.get("/api/calls").json()
    assert client.get("/api/calls", headers=world.headers("admin")).json() == anonymous
    assert client.get("/api/calls", headers={"Authorization": "Bearer not-a-token"}).status_code == 200
    admin = client.get("/api/admin/calls", headers=world.headers("admin"))
    assert admin.status_code == 200 and DRAFT in {r["call"]["code"] for r in admin.json()}
    assert client.post("/api/calls", json={}).status_code == 401  # creating a call still needs a principal


def test_the_openapi_document_lists_the_public_routes_with_their_models(client: Any) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    listing, one, found = paths["/api/calls"]["get"], paths["/api/calls/{code}"]["get"], paths["/api/offers"]["get"]
    assert "post" in paths["/api/calls"]  # the administration's create, beside the public read
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["items"]["$ref"].endswith("PublicCallOut")
    assert one["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("PublicCallOut")
    assert "404" in one["responses"] and "401" not in one["responses"] and "security" not in one
    assert found["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("OfferPageOut")
    assert {p["name"] for p in found["parameters"]} == {"country", "sector", "format", "call", "date_from", "date_to",
                                                        "page", "page_size"}
    assert "422" in found["responses"]
    offer = document["components"]["schemas"]["PublicOfferOut"]["properties"]
    assert "places_left" in offer and not {"iban", "contact_email", "legal_id"} & set(offer)
