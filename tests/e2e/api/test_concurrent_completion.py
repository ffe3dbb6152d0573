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


def test_many_people_completing_many_tasks_at_once_never_deadlock(world: World) -> None:
    """Three people complete each of four tasks at the same moment (twelve transactions on four
    instances): each task is completed once, every other attempt is told it lost the race — none
    fails on a deadlock. A step locks its instance's row first and its audit chains' heads last, as it
    commits, so two steps on one instance queue on its row and never hold locks in opposite orders."""
    from tests.workflows.builders import as_user
    from workflows.services import Conflict
    from workflows.services.inbox import complete_task

    tasks = [fresh_assessment(world) for _ in range(4)]
    people = [as_user(world.app, name) for name in ("officer1.north", SECOND_OFFICER, "officer1.north")]
    attempts = [(task, who) for task in tasks for who in people]
    barrier = threading.Barrier(len(attempts))
    outcomes: dict[int, list[str]] = {task: [] for task in tasks}
    lock = threading.Lock()

    def complete(task: int, who: Any) -> None:
        barrier.wait(timeout=30)
        try:
            complete_task(world.app, task, who, approve())
            outcome = "completed"
        except Conflict:
            outcome = "conflict"
        except Exception as err:  # noqa: BLE001 - a deadlock or anything else is the failure shown
            outcome = f"{type(err).__name__}: {err}"
        with lock:
            outcomes[task].append(outcome)

    threads = [threading.Thread(target=complete, args=attempt) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    for task, seen in outcomes.items():
        assert sorted(seen) == ["completed", "conflict", "conflict"], (task, seen)
        assert len([e for e in world.events("task_completed") if e.data_after["human_task"] == task]) == 1
