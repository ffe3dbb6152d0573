"""Two exchanges of one call commit their grants at the same time on PostgreSQL (SPEC §15): each step
inserts its claim (whose foreign key share-locks the call row) and then locks the call row to check the
budget (R-BUDGET). Both must commit, one after the other — never a deadlock between the two (found by
the chaos run, benchmarks/chaos.py: two officers validating evidence at once)."""
from __future__ import annotations

import threading
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.workflows.builders import BRUSSELS, Programme, programme  # noqa: F401
from workflows.app import App
from workflows.db.models import Application, Call, Claim, ClaimStatus, Exchange
from workflows.programme import Programme as Records


def _exchanges(prog: Programme, n: int) -> tuple[int, list[int]]:
    """A call of its own and `n` exchanges of it without a claim yet."""
    with prog.app.uow() as uow:
        call = Call(code="CXP-LOCK-1", title="Lock call", lead_partnership_id=prog.north_id, opens_on=date(2027, 1, 11),
                    closes_on=date(2027, 3, 5), matching_deadline=datetime(2027, 5, 28, 18, tzinfo=BRUSSELS),
                    budget=Decimal("10000"), rule_set_version="2026.1", formats=["exchange_visit"], status="open")
        uow.session.add(call)
        uow.session.flush()
        exchanges = []
        for _ in range(n):
            application = Application(call_id=call.id, organisation_id=prog.visitor_org_id,
                                      partnership_id=prog.north_id, role="visitor", date_from=date(2027, 2, 1),
                                      date_to=date(2027, 3, 1), submitted_at=uow.now(), status="matched")
            uow.session.add(application)
            uow.session.flush()
            exchange = Exchange(ref=f"EX-{application.id:06d}", call_id=call.id, visitor_application_id=application.id,
                                visitor_org_id=prog.visitor_org_id, visitor_partnership_id=prog.north_id,
                                format="exchange_visit", status="grant_computed", created_at=uow.now())
            uow.session.add(exchange)
            uow.session.flush()
            exchanges.append(exchange.id)
        uow.commit()
        return call.id, exchanges


def test_two_grants_of_one_call_committed_at_once_both_commit_without_a_deadlock(programme: Programme) -> None:  # noqa: F811
    app: App = programme.app
    if app.db.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: row locks are PostgreSQL's")
    call_id, exchanges = _exchanges(programme, 2)
    inserted = threading.Barrier(2)
    errors: list[BaseException] = []

    def step(exchange_id: int) -> None:
        try:
            with app.uow() as uow:
                uow.session.add(Claim(exchange_id=exchange_id, call_id=call_id, partnership_id=programme.north_id,
                                      amount=Decimal("1100.00"), computation={}, status=ClaimStatus.COMPUTED,
                                      created_at=uow.now()))
                uow.session.flush()  # the claim's foreign key share-locks the call row
                inserted.wait(timeout=30)  # both transactions hold that share now
                Records(uow.session, uow.now(), uow.audit).commit_budget(exchange_id)
                uow.commit()
        except BaseException as err:  # noqa: BLE001 — reported by the test's thread below
            errors.append(err)

    threads = [threading.Thread(target=step, args=(e,)) for e in exchanges]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with app.uow() as uow:
        statuses = uow.session.scalars(select(Claim.status).where(Claim.call_id == call_id)).all()
    assert statuses == [ClaimStatus.COMMITTED, ClaimStatus.COMMITTED]
