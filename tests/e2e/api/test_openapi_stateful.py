"""A stateful replay of the API (issue 18, point 10): each principal walks the API as a client would —
the collections first, then every record their answers name (tasks, instances and their diagrams,
exchanges and their evidence, payment batches and their files) — and every call that succeeded is
replayed without credentials (401) and as the principal of another partnership or organisation, who
must get nothing of it: 404 for a record (as for an id that does not exist) or 403, and from a
collection none of the records the first principal saw."""
from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.api.conftest import World

# (who walks, who replays): the other partnership's officer and finance user, an unrelated organisation
PAIRS = [("officer", "officer_other"), ("finance", "finance_other"), ("applicant", "outsider"),
         ("officer_other", "officer")]
COLLECTIONS = ("/api/tasks", "/api/exchanges", "/api/payments/batches")


def _records(path: str, answer: Any) -> dict[str, list[str]]:
    """The records a collection's answer names → the paths a client follows next."""
    follow: dict[str, list[str]] = {}
    if path == "/api/tasks":
        for task in answer["tasks"]:
            follow[f"task {task['id']}"] = [f"/api/tasks/{task['id']}", f"/api/instances/{task['instance_id']}",
                                            f"/api/instances/{task['instance_id']}/diagram"]
    elif path == "/api/exchanges":
        for exchange in answer["exchanges"] if isinstance(answer, dict) else answer:
            ref = exchange["ref"]
            follow[f"exchange {ref}"] = [f"/api/exchanges/{ref}", f"/api/exchanges/{ref}/evidence"]
    else:
        for batch in answer["batches"] if isinstance(answer, dict) else answer:
            ref = batch["batch"]
            follow[f"batch {ref}"] = [f"/api/payments/batches/{ref}", f"/api/payments/batches/{ref}/csv",
                                      f"/api/payments/batches/{ref}/file"]
    return follow


def walk(client: Any, world: World, who: str) -> tuple[dict[str, set[str]], list[str]]:
    """(collection → the records it named, every record path that answered 200) for `who`."""
    named: dict[str, set[str]] = {}
    succeeded: list[str] = []
    for collection in COLLECTIONS:
        answer = client.get(collection, headers=world.headers(who))
        assert answer.status_code == 200, (who, collection, answer.text[:200])
        follow = _records(collection, answer.json())
        named[collection] = set(follow)
        for paths in follow.values():
            for path in paths:
                reply = client.get(path, headers=world.headers(who))
                assert reply.status_code == 200, (who, path, reply.status_code)
                succeeded.append(path)
    return named, succeeded


@pytest.mark.parametrize(("who", "other"), PAIRS, ids=[f"{a} replayed as {b}" for a, b in PAIRS])
def test_no_successful_call_of_one_principal_works_for_another_or_for_nobody(client: Any, world: World,
                                                                            who: str, other: str) -> None:
    named, succeeded = walk(client, world, who)
    assert succeeded, f"{who} reached no record: the replay would prove nothing"
    for path in [*COLLECTIONS, *succeeded]:
        anonymous = client.get(path)
        assert anonymous.status_code == 401, (path, anonymous.status_code)
    for path in succeeded:
        replay = client.get(path, headers=world.headers(other))
        assert replay.status_code in (403, 404), (other, path, replay.status_code, replay.text[:200])
    for collection in COLLECTIONS:
        seen = set(_records(collection, client.get(collection, headers=world.headers(other)).json()))
        assert not seen & named[collection], (other, collection, sorted(seen & named[collection]))


def test_a_claim_replayed_by_another_partnership_or_without_credentials_is_refused(client: Any,
                                                                                  world: World) -> None:
    claimed = client.post(f"/api/tasks/{world.task_id}/claim", headers=world.headers("officer"))
    assert claimed.status_code == 200
    try:
        for who, expected in (("anonymous", 401), ("officer_other", 404), ("outsider", 404)):
            for action in ("claim", "unclaim"):
                replay = client.post(f"/api/tasks/{world.task_id}/{action}", headers=world.headers(who))
                assert replay.status_code == expected, (who, action, replay.text[:200])
        assert world.task().assignee_id == world.prog.users["officer1.north"]
    finally:
        assert client.post(f"/api/tasks/{world.task_id}/unclaim", headers=world.headers("officer")).status_code == 200
