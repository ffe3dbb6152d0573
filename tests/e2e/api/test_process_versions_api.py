"""The process-version routes of SPEC §14 over HTTP, on SQLite and PostgreSQL: list, deploy (201; the
same file again 200; an older version 409), bad files answered 422 naming the problem in `detail`
(`[{loc, msg}]`) with nothing stored, the dry run, the migration of the world's exchange (its instance
page then shows its versions) and its rollback."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.bpmn.changes import BPMN_DIR, changed, changed_process, relabel, without_form
from tests.e2e.api.conftest import World

EXCHANGE_V1 = 2  # `cxp init` deploys call, exchange, hosting in that order: the exchange's first version is id 2


def deploy(client: Any, world: World, content: bytes, name: str = "exchange.bpmn", reason: str | None = "why",
           who: str = "admin") -> Any:
    data = {"reason": reason} if reason is not None else {}
    return client.post("/api/process-versions", headers=world.headers(who), data=data,
                       files={"file": (name, content, "application/xml")})


def versions(client: Any, world: World) -> list[dict[str, Any]]:
    answer = client.get("/api/process-versions", headers=world.headers("admin"))
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def changed_version(client: Any, world: World) -> Iterator[int]:
    """The changed exchange process, deployed once through the API: its version id."""
    answer = deploy(client, world, changed_process("exchange"), "exchange-v2.bpmn", "Officers decide extensions alone")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["created"], body["version"]["process"], body["version"]["version"]) == (True, "exchange", 2)
    assert body["lint"] == "bpmnlint's recommended rules: clean"
    yield body["version"]["id"]


def test_the_versions_are_listed_for_administrators_and_auditors(client: Any, world: World) -> None:
    listed = versions(client, world)
    assert {(v["process"], v["version"]) for v in listed} >= {("call", 1), ("exchange", 1), ("hosting", 1)}
    exchange = next(v for v in listed if v["id"] == EXCHANGE_V1)
    assert exchange["process"] == "exchange" and exchange["running"] >= 1
    assert client.get("/api/process-versions", headers=world.headers("auditor")).status_code == 200
    assert client.get("/api/process-versions/999999", headers=world.headers("admin")).status_code == 404


@pytest.mark.parametrize(("content", "name", "problem"), [
    (b"<definitions>not BPMN</definitions>", "x.bpmn", "does not parse as BPMN 2.0"),
    (changed("exchange.bpmn").replace(b'serviceTaskOperator id="compute_grant"',
                                      b'serviceTaskOperator id="compute_grant_v9"'), "x.bpmn",
     "service task 'svc_compute_grant' calls unknown service 'compute_grant_v9'"),
    (without_form(), "x.bpmn", "user task 'validate_all_evidence' has no form"),
    (changed("hosting.bpmn", relabel("approve_host", "x")).replace(b'name="x"', b""), "x.bpmn",
     "bpmnlint: approve_host: Element is missing label/name"),
    (changed_process("exchange"), "exchange.txt", "'exchange.txt' is not a .bpmn file"),
], ids=["not-bpmn", "unbound-service", "user-task-without-form", "lint", "not-a-bpmn-name"])
def test_a_file_that_cannot_run_is_422_naming_the_problem_and_nothing_is_stored(
        client: Any, world: World, content: bytes, name: str, problem: str) -> None:
    before, count = world.last_event_id(), len(versions(client, world))
    answer = deploy(client, world, content, name)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert all(d["loc"] == ["body", "file"] for d in detail)
    assert any(problem in d["msg"] for d in detail), detail
    assert len(versions(client, world)) == count
    assert world.events("process_version_deployed", after_id=before) == []


def test_a_deployment_without_a_reason_or_a_file_is_422_naming_the_field(client: Any, world: World) -> None:
    answer = deploy(client, world, changed_process("exchange"), reason="")
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "reason"]
    answer = client.post("/api/process-versions", headers=world.headers("admin"), data={"reason": "why"})
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "file"]


def test_a_file_above_the_limit_is_413(client: Any, world: World) -> None:
    answer = deploy(client, world, b"<x>" + b" " * 2_000_001 + b"</x>", "big.bpmn")
    assert answer.status_code == 413, answer.text


def test_the_same_file_again_is_200_and_an_older_version_409(client: Any, world: World, changed_version: int) -> None:
    again = deploy(client, world, changed_process("exchange"), "again.bpmn")
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["version"]["id"] == changed_version
    older = deploy(client, world, (BPMN_DIR / "exchange.bpmn").read_bytes(), "exchange.bpmn")
    assert older.status_code == 409 and "current version is 2" in older.json()["detail"]


def test_a_version_is_read_with_its_changes_history_and_candidates(client: Any, world: World,
                                                                   changed_version: int) -> None:
    answer = client.get(f"/api/process-versions/{changed_version}", headers=world.headers("auditor"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["previous_version"] == 1 and body["current"] is True
    assert {"step": "host_consent_extension", "change": "removed"}.items() <= next(
        c for c in body["changes"] if c["step"] == "host_consent_extension").items()
    assert body["history"][0]["action"] == "deployed" and body["history"][0]["by"] == "admin"
    assert world.instance_id in [c["instance_id"] for c in body["candidates"]]


@pytest.mark.parametrize(("body", "loc"), [
    ({"instances": [999999], "dry_run": True}, ["body", "instances", 0]),
    ({"instances": [], "dry_run": True}, ["body", "instances"]),
    ({"dry_run": True, "rollback": True}, ["body"]),
    ({"dryrun": True}, ["body", "dryrun"]),
    ({"instances": [1]}, ["body", "reason"]),
    ({"instances": ["one"], "dry_run": True}, ["body", "instances", 0]),
], ids=["unknown-instance", "no-instance", "dry-run-rollback", "mistyped-field", "no-reason", "not-an-id"])
def test_a_bad_migration_request_is_422_naming_the_field_and_moves_nothing(
        client: Any, world: World, changed_version: int, body: dict[str, Any], loc: list[Any]) -> None:
    before = world.last_event_id()
    answer = client.post(f"/api/process-versions/{changed_version}/migrate", headers=world.headers("admin"), json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"][:len(loc)] == loc
    assert world.events("process_migrated", after_id=before) == []


def test_a_migration_to_an_unknown_version_is_404(client: Any, world: World) -> None:
    answer = client.post("/api/process-versions/999999/migrate", headers=world.headers("admin"),
                         json={"dry_run": True})
    assert answer.status_code == 404


def test_dry_run_migration_instance_page_and_rollback(client: Any, world: World, changed_version: int) -> None:
    url = f"/api/process-versions/{changed_version}/migrate"
    admin = world.headers("admin")
    dry = client.post(url, headers=admin, json={"instances": [world.instance_id], "dry_run": True})
    assert dry.status_code == 200, dry.text
    [result] = dry.json()["results"]
    assert (result["outcome"], result["waiting_on"]) == ("can move", ["validate_evidence"])
    assert world.events("process_migrated") == []

    moved = client.post(url, headers=admin, json={"instances": [world.instance_id], "reason": "The new evidence check"})
    assert moved.status_code == 200 and moved.json()["results"][0]["outcome"] == "moved"
    page = client.get(f"/api/instances/{world.instance_id}", headers=world.headers("officer")).json()
    assert page["version"] == 2
    assert [(v["action"], v["version"]) for v in page["versions"]] == [("started", 1), ("migrated", 2)]
    assert page["open_tasks"][0]["name"] == "Check the evidence and the attended days"
    diagram = client.get(f"/api/instances/{world.instance_id}/diagram", headers=world.headers("officer"))
    assert b"milestone_visit_started" in diagram.content

    back = client.post(url, headers=admin, json={"instances": [world.instance_id], "rollback": True,
                                                 "reason": "Wait for the officers' training"})
    assert back.status_code == 200 and back.json()["results"][0]["outcome"] == "rolled back", back.text
    page = client.get(f"/api/instances/{world.instance_id}", headers=world.headers("officer")).json()
    assert page["version"] == 1 and page["open_tasks"][0]["name"] == "Validate the evidence"
    assert [v["action"] for v in page["versions"]] == ["started", "migrated", "rolled_back"]
    again = client.post(url, headers=admin, json={"instances": [world.instance_id], "rollback": True, "reason": "x"})
    assert again.json()["results"][0]["outcome"] == "refused"
