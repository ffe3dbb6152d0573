"""Due timers shared by any number of sweeps (SPEC §15): claimed in small batches with a lease, each
fired exactly once however many sweeps run at once; a killed sweep's claim is taken over when its lease
ends, and not before."""
from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import insert, select, update

from tests.workflows.builders import Programme, programme  # noqa: F401
from workflows.app import App
from workflows.db import queue
from workflows.db.base import table_of
from workflows.db.process_models import ProcessInstance
from workflows.services.lifecycle import _due_timers, fire_due_timers

_PI = table_of(ProcessInstance)


def _clones(app: App, n: int) -> list[int]:
    """`n` copies of the programme's hosting instance (waiting for its visitors) whose next timer is an
    hour past: what a sweep must advance, once each."""
    with app.uow() as uow:
        now = uow.now()
        source = uow.connection.execute(select(_PI.c.id).where(_PI.c.process_id == "hosting")).scalar_one()
        row = dict(uow.connection.execute(select(_PI).where(_PI.c.id == source)).mappings().one())
        ids = []
        for i in range(n):
            values = {**row, "subject_id": 10_000 + i, "next_timer_at": now - timedelta(hours=1),
                      "status": "running", "lock_version": 1}
            del values["id"]
            ids.append(uow.connection.execute(insert(_PI).values(values).returning(_PI.c.id)).scalar_one())
        uow.connection.execute(update(_PI).where(_PI.c.id.not_in(ids)).values(next_timer_at=None))
        uow.commit()
    return ids


def _versions(app: App, ids: list[int]) -> dict[int, tuple[int, str | None]]:
    with app.uow() as uow:
        return {i: (v, o) for i, v, o in uow.connection.execute(
            select(_PI.c.id, _PI.c.lock_version, _PI.c.lease_owner).where(_PI.c.id.in_(ids)))}


def test_four_sweeps_at_once_fire_every_due_timer_exactly_once(programme: Programme) -> None:  # noqa: F811
    app = programme.app
    ids = _clones(app, 30)
    barrier = threading.Barrier(4)
    fired: list[int] = []

    def sweep() -> None:
        barrier.wait(timeout=30)
        fired.append(fire_due_timers(app, batch=3))

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert sum(fired) == 30, fired
    assert _versions(app, ids) == {i: (2, None) for i in ids}  # each stepped once, its claim cleared
    assert fire_due_timers(app) == 0


def test_a_killed_sweeps_claim_is_taken_over_when_its_lease_ends_and_not_before(programme: Programme) -> None:  # noqa: F811
    app = programme.app
    ids = _clones(app, 4)
    live, ended = ids[:2], ids[2:]
    with app.uow() as uow:  # two sweeps claimed two instances each, then were killed
        now = queue.wall_clock()
        assert queue.claim(uow, _PI, _PI.c.id.in_(live), (_PI.c.id,), owner="killed-a", lease=timedelta(minutes=2),
                           size=10) == live
        assert queue.claim(uow, _PI, _PI.c.id.in_(ended), (_PI.c.id,), owner="killed-b",
                           lease=timedelta(minutes=2), size=10, now=now - timedelta(minutes=3)) == ended
        uow.commit()

    assert fire_due_timers(app) == 2
    versions = _versions(app, ids)
    assert {i: versions[i] for i in ended} == {i: (2, None) for i in ended}
    assert {i: versions[i] for i in live} == {i: (1, "killed-a") for i in live}
    with app.uow() as uow:  # still due, still claimed: no other sweep takes them before the lease ends
        due = _due_timers(uow.now())
        assert queue.claim(uow, _PI, due, (_PI.c.id,), owner="other", lease=timedelta(minutes=2), size=10) == []
        uow.rollback()
