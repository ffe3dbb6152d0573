"""Two people complete one task over HTTP at the same moment, against a real uvicorn server on
loopback: one gets 200, the other 409, and the task is completed once (SQLite and PostgreSQL)."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.api.conftest import World, fresh_assessment
from tests.e2e.browser.conftest import LiveServer, serve, stop
from tests.workflows.builders import SECOND_OFFICER, approve
from workflows.services.access import SYSTEM
from workflows.services.tokens import issue_token


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[LiveServer]:
    from workflows.web.app import create_app

    live = serve(create_app(application=world.app))
    yield live
    stop(live)


def test_two_completions_at_the_same_moment_give_one_200_and_one_409(server: LiveServer, world: World) -> None:
    task_id = fresh_assessment(world)
    second = issue_token(world.app, SYSTEM, SECOND_OFFICER, name="race").token
    tokens = [world.tokens["officer"], second]
    barrier = threading.Barrier(len(tokens))
    answers: dict[int, Any] = {}

    def complete(i: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            request = http.build_request("POST", f"/api/tasks/{task_id}/complete", json=approve(),
                                         headers={"Authorization": f"Bearer {tokens[i]}"})
            barrier.wait(timeout=30)
            answers[i] = http.send(request)

    threads = [threading.Thread(target=complete, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert sorted(a.status_code for a in answers.values()) == [200, 409], [a.text for a in answers.values()]
    lost = next(a for a in answers.values() if a.status_code == 409)
    assert isinstance(lost.json()["detail"], str)
    completed = [e for e in world.events("task_completed") if e.data_after["human_task"] == task_id]
    assert len(completed) == 1
    winner = next(i for i, a in answers.items() if a.status_code == 200)
    assert completed[0].actor == ("officer1.north", SECOND_OFFICER)[winner]
    assert world.task(task_id).status == "completed"
