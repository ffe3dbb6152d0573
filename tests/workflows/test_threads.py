"""One App serving several threads at once, as the HTTP API's thread pool will: people complete the
tasks of different exchanges at the same moment through the real services. On SQLite the write lock
takes the steps one at a time, on PostgreSQL they run side by side; either way nothing the threads
share (the serializer, the parsed specs, the engine's workflows kept in memory, the prepared
statements) may mix one instance's state into another's.

Written against the services' signatures of today (usernames); the front door's `Principal` changes
only how `complete` names who acts."""
from __future__ import annotations

import dataclasses
import json
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.workflows.builders import (  # noqa: F401
    HOST,
    OFFICER,
    SOUTH_OFFICER,
    Programme,
    _org,
    accept_match,
    approve,
    commitment,
    programme,
    signature,
)
from workflows.db.models import Application, Organisation, Partnership, User
from workflows.db.process_models import AuditEvent
from workflows.engine import spiff
from workflows.services.audit_trail import verify_trail
from workflows.services.lifecycle import submit_application

EXCHANGES = 4

Step = tuple[str, str, Callable[[], dict[str, Any]]]  # task, who ("visitor": the exchange's own), form


def after_the_match(visitor: str) -> list[Step]:
    return [
        ("visitor_accept_match", visitor, accept_match),
        ("host_accept_match", HOST, accept_match),
        ("agree_commitment", visitor, commitment),
        ("sign_commitment_visitor", visitor, lambda: signature("Vera Visitor")),
        ("sign_commitment_host", HOST, lambda: signature("Hans Host")),
        ("sign_commitment_visitor_officer", OFFICER, lambda: signature("Olga Officer")),
        ("sign_commitment_host_officer", SOUTH_OFFICER, lambda: signature("Sepp Officer")),
    ]


def another_visitor(prog: Programme, n: int) -> tuple[str, int]:
    """A visiting organisation of the North partnership and its applicant: (username, organisation id)."""
    username = f"visitor{n}"
    with prog.app.uow() as uow:
        north = uow.session.get(Partnership, prog.north_id)
        org = _org(10 + n, f"Visitor{n} Cluster Leuven", "BE", "Leuven", 50.8798, 4.7005, north, "BE71096123456769")
        uow.session.add(org)
        uow.session.flush()
        uow.session.add(User(username=username, display_name=f"Visitor {n}", email=f"v{n}@visitor{n}.example",
                             role="applicant", organisation_id=org.id))
        uow.commit()
        return username, org.id


def apply(prog: Programme, org_id: int) -> Programme:
    """A visitor application of `org_id` submitted through the real service: the programme of its exchange."""
    from datetime import date

    with prog.app.uow() as uow:
        org = uow.session.get(Organisation, org_id)
        application = Application(
            call_id=prog.call_id, organisation_id=org.id, partnership_id=org.partnership_id, role="visitor",
            format="exchange_visit", date_from=date(2027, 2, 1), date_to=date(2027, 3, 1), sectors=["digital"],
            wished_countries=["AT"], motivation="Peers abroad.", declaration_given=True, audit_rights_accepted=True,
            submitted_at=uow.now())
        uow.session.add(application)
        uow.session.flush()
        instance = submit_application(prog.app, uow, application)
        uow.commit()
        return dataclasses.replace(prog, instance_id=instance.id, exchange_id=instance.subject_id)


def in_threads(work: list[Callable[[], None]]) -> list[str]:
    """Run each piece of work in a thread of its own, all starting together; what went wrong."""
    start = threading.Barrier(len(work))
    problems: list[str] = []

    def run(index: int) -> None:
        start.wait(timeout=60)
        try:
            work[index]()
        except Exception as err:  # reported, with the thread it happened in
            problems.append(f"thread {index}: {type(err).__name__}: {err}")

    threads = [threading.Thread(target=run, args=(i,), name=f"exchange-{i}") for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    return problems


@pytest.fixture
def frequent_switches() -> Iterator[None]:
    """Threads take turns every few microseconds, so that their steps interleave everywhere."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


def test_threads_completing_tasks_of_different_exchanges_at_once_leave_each_instance_whole(
        programme: Programme, frequent_switches: None) -> None:  # noqa: F811
    prog = programme
    with prog.app.uow() as uow:  # room for every exchange at the host
        uow.session.get(Application, prog.host_application_id).capacity = EXCHANGES
        uow.commit()
    visitors = [("visitor", prog.visitor_org_id)] + [another_visitor(prog, n) for n in range(1, EXCHANGES)]
    exchanges = [apply(prog, org_id) for _, org_id in visitors]

    assert in_threads([lambda p=p: p.complete("assess_application", OFFICER, approve(), p.instance_id)
                       for p in exchanges]) == []
    for each in exchanges:
        each.propose_match()

    def drive(each: Programme, visitor: str) -> Callable[[], None]:
        def steps() -> None:
            for spec, who, form in after_the_match(visitor):
                each.complete(spec, visitor if who == "visitor" else who, form(), each.instance_id)
        return steps

    assert in_threads([drive(each, visitor) for each, (visitor, _) in zip(exchanges, visitors, strict=True)]) == []

    # every instance: its stored state restores to itself, and the copy the engine keeps in memory for
    # its next step is that same state
    stories = set()
    for each in exchanges:
        stored = prog.instance(each.instance_id)
        state = json.loads(stored.state_json)
        restored = spiff.load_state(stored.state_json, spiff.ServiceBindingEngine())
        assert json.loads(spiff._full_state(restored)) == state
        assert {t.data.get("exchange_id") for t in restored.tasks.values()} - {None} == {each.exchange_id}
        kept = prog.app.engine._cache.get(each.instance_id)
        if kept is not None:
            assert kept[0] == stored.lock_version
            assert json.loads(spiff._full_state(kept[1])) == state
        stories.add((stored.status, tuple(each.open_specs()), stored.lock_version, _events_of(prog, each.instance_id)))
    assert len(stories) == 1, f"the same steps told different stories: {stories}"

    trail = verify_trail(prog.app)
    assert trail["ok"], trail


def _events_of(prog: Programme, instance_id: int) -> int:
    with prog.app.uow() as uow:
        return uow.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.instance_id == instance_id))  # type: ignore[return-value]
