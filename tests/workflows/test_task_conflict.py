"""Two people completing the same task at the same moment: one wins, the other gets `Conflict` with
the same message every time — wherever it lost the race (the task read as no longer open, the close of
its row, the instance's optimistic lock, SQLite's stale snapshot) — nothing of the loser is written,
and the loser is not audited as a refusal. On SQLite and PostgreSQL, with two applications (each its
own engine, connection pool and workflow cache, as two processes have)."""
from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.workflows.builders import OFFICER, SECOND_OFFICER, Programme, _org, approve, as_user, programme  # noqa: F401
from workflows.app import App
from workflows.db.models import Partnership
from workflows.db.process_models import AuditEvent, HumanTask
from workflows.services import Conflict
from workflows.services.inbox import claim, complete_task, unclaim
from workflows.settings import Settings

ROUNDS = 12


def conflict_message(task_id: int) -> str:
    return f"task {task_id} was completed or changed by someone else meanwhile; nothing was written"


def race(apps: list[App], users: list[str], task_id: int, action: Any, jitter: float) -> list[tuple[str, str]]:
    """Run `action(app, task_id, user)` in one thread per app, released together (one of them a little
    later, by `jitter` seconds); each thread's outcome."""
    barrier = threading.Barrier(len(apps))
    outcomes: list[tuple[str, str]] = [("none", "")] * len(apps)

    def attempt(i: int) -> None:
        barrier.wait()
        if i == 1 and jitter:
            threading.Event().wait(jitter)
        try:
            action(apps[i], task_id, users[i])
            outcomes[i] = ("ok", "")
        except Conflict as err:
            outcomes[i] = ("conflict", str(err))
        except BaseException as err:  # anything else is the failure this test is about
            outcomes[i] = ("other", f"{type(err).__name__}: {err}")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(apps))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


def new_application(programme: Programme, n: int) -> None:  # noqa: F811
    """A visitor application of an organisation of its own (R-ELIG: one live application and one visit
    per organisation), so that each round has a fresh `assess_application` task."""
    with programme.app.uow() as uow:
        north = uow.session.get(Partnership, programme.north_id)
        organisation = _org(100 + n, f"Round{n} Cluster Liege", "BE", "Liège", 50.6326, 5.5797, north,
                            "BE71096123456769")
        uow.session.add(organisation)
        uow.session.flush()
        programme.visitor_org_id = organisation.id
        uow.commit()
    programme.submit_visitor_application()


@pytest.fixture
def second_app(programme: Programme, tmp_path: Path):  # type: ignore[no-untyped-def]  # noqa: F811
    other = App(Settings(database_url=programme.app.settings.database_url, files_dir=tmp_path / "files"))
    yield other
    other.close()


def test_one_of_two_simultaneous_completions_wins_the_other_gets_the_conflict_every_round(
        programme: Programme, second_app: App) -> None:  # noqa: F811
    rng = random.Random(7)
    apps = [programme.app, second_app]
    for n in range(ROUNDS):
        new_application(programme, n)
        task = programme.open_task("assess_application")
        completions_before = len(programme.events("task_completed"))
        outcomes = race(apps, [OFFICER, SECOND_OFFICER], task.id,
                        lambda app, task_id, user: complete_task(app, task_id, as_user(app, user), approve()),
                        jitter=rng.choice([0, 0, 0.001, 0.003, 0.01]))
        assert sorted(kind for kind, _ in outcomes) == ["conflict", "ok"], f"round {n}: {outcomes}"
        assert [m for kind, m in outcomes if kind == "conflict"] == [conflict_message(task.id)]
        winner = [OFFICER, SECOND_OFFICER][[kind for kind, _ in outcomes].index("ok")]
        completed = programme.events("task_completed")
        assert len(completed) == completions_before + 1 and completed[-1].actor == winner
        with programme.app.uow() as uow:
            row = uow.session.get(HumanTask, task.id)
            assert (row.status, row.completed_by) == ("completed", programme.users[winner])
        assert programme.exchange().status == "awaiting_match"
    assert programme.events("task_refused") == []


def test_a_completion_of_a_task_completed_meanwhile_is_a_conflict_not_an_audited_refusal(
        programme: Programme) -> None:  # noqa: F811
    programme.submit_visitor_application()
    task = programme.open_task("assess_application")
    complete_task(programme.app, task.id, as_user(programme.app, OFFICER), approve())
    before = programme.snapshot()
    for attempt in (lambda: complete_task(programme.app, task.id, as_user(programme.app, SECOND_OFFICER), approve()),
                    lambda: claim(programme.app, task.id, as_user(programme.app, SECOND_OFFICER)),
                    lambda: unclaim(programme.app, task.id, as_user(programme.app, OFFICER))):
        with pytest.raises(Conflict) as caught:
            attempt()
        assert str(caught.value) == conflict_message(task.id)
    assert programme.snapshot() == before
    assert programme.events("task_refused") == []


def test_one_of_two_simultaneous_claims_wins(programme: Programme, second_app: App) -> None:  # noqa: F811
    """The loser either finds the row re-assigned under it (Conflict) or reads it claimed already (the
    refusal of a task claimed by someone else); never do both claims succeed."""
    programme.submit_visitor_application()
    for _ in range(6):
        task = programme.open_task("assess_application")
        outcomes = race([programme.app, second_app], [OFFICER, SECOND_OFFICER], task.id,
                        lambda app, task_id, user: claim(app, task_id, as_user(app, user)), jitter=0)
        kinds = [kind for kind, _ in outcomes]
        assert kinds.count("ok") == 1, outcomes
        assert all(m == conflict_message(task.id) for kind, m in outcomes if kind == "conflict"), outcomes
        assert all("claimed by someone else" in m for kind, m in outcomes if kind == "other"), outcomes
        winner = [OFFICER, SECOND_OFFICER][kinds.index("ok")]
        assert programme.open_task("assess_application").assignee_id == programme.users[winner]
        unclaim(programme.app, task.id, as_user(programme.app, winner))
    with programme.app.uow() as uow:
        claims = uow.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "task_claimed"))
    assert claims == 6
