"""The programme administration's routes of SPEC §14 over HTTP, on SQLite and PostgreSQL: calls
(create, change while a draft, publish, close early), the budget (a waiting grant approved by a raise
in the same request), rule sets (JSON body and file upload, stored once by content), partnerships,
organisations and the programme at a glance; bad input answered 422 with `detail` naming each field
(`[{loc, msg}]`), an unknown record 404, a change that no longer fits 409 — nothing written."""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.api.conftest import World
from tests.workflows.builders import accept_evidence

CALL = {
    "code": "CXP-2027-API", "title": "API call", "lead_partnership": "CXP-NORTH", "partnerships": ["CXP-SOUTH"],
    "opens_on": "2027-02-01", "closes_on": "2027-03-31", "matching_deadline": "2027-05-28T18:00:00+02:00",
    "budget": "20000.00", "formats": ["exchange_visit", "conference_fair"], "rule_set_version": "2026.1",
    "events": [{"kind": "virtual_marketplace", "title": "#1 Marketplace", "starts_on": "2027-02-08",
                "ends_on": "2027-03-12"},
               {"kind": "conference_fair", "title": "Hannover fair", "starts_on": "2027-04-20",
                "ends_on": "2027-04-23", "place": "Hannover"}],
}


def call(client: Any, world: World, method: str, path: str, who: str = "admin", **kwargs: Any) -> Any:
    return client.request(method, path, headers=world.headers(who), **kwargs)


def fields(answer: Any) -> dict[str, str]:
    assert answer.status_code == 422, answer.text
    return {".".join(str(p) for p in d["loc"]): d["msg"] for d in answer.json()["detail"]}


def test_a_call_is_created_changed_published_and_closed_with_its_history(client: Any, world: World) -> None:
    created = call(client, world, "POST", "/api/calls", json=CALL)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["call"]["status"], body["call"]["editable"], len(body["call"]["events"])) == ("draft", True, 2)
    assert body["budget"] == {"budget": "20000.00", "committed": "0.00", "paid": "0.00", "waiting": "0.00",
                              "waiting_grants": 0, "left": "20000.00"}
    changed = call(client, world, "PATCH", "/api/calls/CXP-2027-API", json={"budget": 25000, "title": "API call 2"})
    assert changed.status_code == 200 and changed.json()["call"]["budget"] == "25000.00"
    published = call(client, world, "POST", "/api/calls/CXP-2027-API/publish", json={"reason": "checked"})
    assert published.status_code == 200, published.text      # the world's clock is past its opening: open at once
    assert published.json()["call"]["status"] == "open" and published.json()["call"]["published_at"]
    frozen = call(client, world, "PATCH", "/api/calls/CXP-2027-API", json={"formats": ["exchange_visit"]})
    assert frozen.status_code == 409 and "no longer change" in frozen.json()["detail"]
    again = call(client, world, "POST", "/api/calls/CXP-2027-API/publish")
    assert again.status_code == 409
    closed = call(client, world, "POST", "/api/calls/CXP-2027-API/close", json={"reason": "Funding withdrawn."})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    detail = call(client, world, "GET", "/api/admin/calls/CXP-2027-API", who="auditor").json()
    actions = [h["action"] for h in detail["history"]]
    assert actions[:4] == ["call_created", "call_updated", "process_started", "call_published"]
    assert {"call_status", "call_closed_early", "process_terminated"} <= set(actions)
    assert next(h for h in detail["history"] if h["action"] == "call_closed_early")["reason"] == "Funding withdrawn."
    listed = {row["call"]["code"] for row in call(client, world, "GET", "/api/admin/calls").json()}
    assert {"CXP-2027-API", "CXP-TEST-01"} <= listed


@pytest.mark.parametrize(("changes", "named"), [
    ({"opens_on": "first of May"}, {"body.opens_on": "Input should be a valid date"}),
    ({"opens_on": "2027-03-05", "closes_on": "2027-03-01", "events": []},
     {"body.closes_on": "2027-03-01 is not after the opening on 2027-03-05: the window must be in order"}),
    ({"budget": "12.345"}, {"body.budget": "12.345 has more than two decimals: euros and cents only"}),
    ({"budget": -1}, {"body.budget": "EUR -1 is not a positive amount"}),
    ({"matching_deadline": "2027-05-28T18:00:00"}, {"body.matching_deadline": "needs a time zone, e.g. "
                                                                             "2027-05-28T18:00:00+02:00"}),
    ({"events": [{"kind": "matchmaking", "title": "B2B", "starts_on": "2027-06-01", "ends_on": "2027-06-02"}]},
     {"body.events.0.ends_on": "2027-06-02 is after the matching deadline (2027-05-28)"}),
    ({"partnerships": ["CXP-NOPE"]}, {"body.partnerships.0": "'CXP-NOPE' is no partnership (known: CXP-EAST, "
                                                             "CXP-NORTH, CXP-SOUTH)"}),
])
def test_a_wrong_call_field_is_named_and_nothing_is_written(client: Any, world: World, changes: dict[str, Any],
                                                            named: dict[str, str]) -> None:
    answer = call(client, world, "POST", "/api/calls", json={**CALL, "code": "CXP-BAD-1", **changes})
    found = fields(answer)
    assert set(found) == set(named) and all(found[k].startswith(v) for k, v in named.items()), found
    assert call(client, world, "GET", "/api/admin/calls/CXP-BAD-1").status_code == 404


def test_unknown_calls_are_404_and_a_missing_body_is_named(client: Any, world: World) -> None:
    assert call(client, world, "PATCH", "/api/calls/CXP-NOPE", json={"title": "Nope nope"}).status_code == 404
    assert call(client, world, "POST", "/api/calls/CXP-NOPE/publish").status_code == 404
    assert call(client, world, "POST", "/api/calls/CXP-NOPE/budget",
                json={"budget": "1.00", "reason": "x"}).status_code == 404
    assert "body.reason" in fields(call(client, world, "POST", "/api/calls/CXP-TEST-01/close", json={}))
    assert fields(call(client, world, "POST", "/api/calls/CXP-TEST-01/budget", json={"budget": "lots", "reason": "x"})) \
        == {"body.budget": "'lots' is not an amount in euros"}
    assert "body.budget" in fields(call(client, world, "POST", "/api/calls/CXP-TEST-01/budget", json={"reason": "x"}))


def test_a_raise_approves_the_waiting_grant_in_the_same_request(client: Any, world: World) -> None:
    lowered = call(client, world, "POST", "/api/calls/CXP-TEST-01/budget",
                   json={"budget": "10.00", "reason": "Provisional budget until the partners sign."})
    assert lowered.status_code == 200, lowered.text
    completed = call(client, world, "POST", f"/api/tasks/{world.task_id}/complete", who="officer",
                     json=accept_evidence())
    assert completed.status_code == 200, completed.text
    waiting = call(client, world, "GET", "/api/admin/calls/CXP-TEST-01").json()
    assert [w["exchange"] for w in waiting["waiting"]] == [world.exchange_ref]
    assert waiting["budget"]["waiting"] == "1100.00"
    raised = call(client, world, "POST", "/api/calls/CXP-TEST-01/budget",
                  json={"budget": 30000, "reason": "The partners signed."})
    assert raised.status_code == 200, raised.text
    body = raised.json()
    assert body["approved"] == [world.exchange_ref] and body["after"]["committed"] == "1100.00"
    instance = call(client, world, "GET", f"/api/instances/{world.instance_id}", who="officer").json()
    assert [t["task"] for t in instance["open_tasks"]] == ["approve_payment"]
    too_low = call(client, world, "POST", "/api/calls/CXP-TEST-01/budget", json={"budget": "1000.00", "reason": "x"})
    assert fields(too_low) == {"body.budget": "EUR 1000.00 is below what is committed (EUR 1100.00) and paid "
                                              "(EUR 0.00): the budget must be at least EUR 1100.00"}


def test_rule_sets_from_a_json_body_or_a_file_are_checked_and_stored_once(client: Any, world: World) -> None:
    new = {"version": "2027.api", "base": "2026.1", "thresholds": {"PL": "860.00"}, "note": "Poland dearer"}
    added = call(client, world, "POST", "/api/rule-sets", json=new)
    assert added.status_code == 201, added.text
    assert added.json()["version"]["note"] == "Poland dearer" and added.json()["created"] is True
    same = call(client, world, "POST", "/api/rule-sets",
                files={"file": ("same.json", json.dumps({**new, "version": "other-name"}).encode(), "application/json")},
                data={"note": "a copy"})
    assert same.status_code == 200 and same.json()["version"]["version"] == "2027.api"
    conflict = call(client, world, "POST", "/api/rule-sets", json={**new, "thresholds": {"PL": "870.00"}})
    assert conflict.status_code == 409
    assert fields(call(client, world, "POST", "/api/rule-sets", json={**new, "version": "x2", "cap": "1500.00"})) == {
        "body.cap": "EUR 1500.00 is above the programme's cap of EUR 1100.00 per visiting organisation"}
    assert fields(call(client, world, "POST", "/api/rule-sets",
                       files={"file": ("r.json", b"{oops", "application/json")})) == {
        "body.file": "is not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2)"}
    plain = client.post("/api/rule-sets", content=b"version=1",
                        headers={**world.headers("admin"), "content-type": "text/plain"})
    assert fields(plain) == {"body.body": "send the rule set as a JSON body or as the file of a multipart form"}
    compared = call(client, world, "GET", "/api/rule-sets?compare=2026.1&compare=2027.api", who="applicant").json()
    assert compared["compared"] == ["2026.1", "2027.api"]
    assert [r["setting"] for r in compared["rows"] if r["differs"]] == ["thresholds.PL"]
    assert call(client, world, "GET", "/api/rule-sets?compare=1.0").status_code == 404


def test_partnerships_and_organisations_are_managed_with_each_problem_named(client: Any, world: World) -> None:
    west = {"code": "CXP-WEST", "name": "ClusterXchange West", "country": "FR", "debtor_name": "Clusters de l'Ouest",
            "debtor_iban": "FR14 2004 1010 0505 0001 3M02 606"}
    created = call(client, world, "POST", "/api/admin/partnerships", json=west)
    assert created.status_code == 201 and created.json()["debtor_iban"] == "FR1420041010050500013M02606"
    assert set(fields(call(client, world, "POST", "/api/admin/partnerships",
                           json={**west, "code": "CXP-WEST-2", "debtor_iban": "FR00 1234"}))) == {"body.debtor_iban"}
    assert call(client, world, "PATCH", "/api/admin/partnerships/CXP-WEST", json={"name": "West"}).status_code == 200
    assert call(client, world, "PATCH", "/api/admin/partnerships/CXP-NOPE", json={"name": "No"}).status_code == 404
    found = call(client, world, "GET", "/api/admin/organisations?q=orbit", who="auditor").json()
    assert [o["legal_id"] for o in found["items"]] == ["BE100000003"] and found["total"] == 1
    assert call(client, world, "GET", "/api/admin/organisations?page_size=0").status_code == 422
    off = call(client, world, "POST", "/api/admin/organisations/BE100000003/deactivate", json={"reason": "Closed."})
    assert off.status_code == 200 and off.json()["active"] is False
    assert call(client, world, "POST", "/api/admin/organisations/BE100000003/deactivate",
                json={"reason": "again"}).status_code == 409
    inactive = call(client, world, "GET", "/api/admin/organisations?state=inactive").json()
    assert [o["legal_id"] for o in inactive["items"]] == ["BE100000003"]
    assert call(client, world, "POST", "/api/admin/organisations/BE100000003/activate",
                json={"reason": "Reopened."}).status_code == 200
    assert call(client, world, "POST", "/api/admin/organisations/XX0/activate", json={"reason": "x"}).status_code == 404


def test_the_programme_at_a_glance(client: Any, world: World) -> None:
    glance = call(client, world, "GET", "/api/admin", who="auditor")
    assert glance.status_code == 200, glance.text
    body = glance.json()
    assert {c["code"] for c in body["calls"]} >= {"CXP-TEST-01"}
    assert body["last_batch"]["msg_id"] in (world.batch, world.east_batch)
    assert body["stuck"] == [] and isinstance(body["exchanges_by_stage"], dict)
    assert set(body) == {"calls", "exchanges_by_stage", "running_instances", "incidents", "stuck", "failed_emails",
                         "recent_failed_emails", "last_batch", "last_anchor"}
