"""R-BUDGET under concurrency on PostgreSQL (SPEC §15, issue 21).

Two exchanges of one call commit their grants at the same time: each step inserts its claim (whose
foreign key share-locks the call row) and then checks the budget. Both must commit — never a deadlock
(found by the chaos run, benchmarks/chaos.py: two officers validating evidence at once).

The check reserves the amount in a short transaction of its own (`workflows.budget`): the call row is
free again for the rest of the step; many steps at once never commit more than the budget; a retried
step reuses its reservation; a cancellation gives it back; the reservation of a step that died before
committing is swept, never while its step still runs."""
from __future__ import annotations

import threading
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.exc import OperationalError

from tests.workflows.builders import BRUSSELS, OFFICER, Programme, programme  # noqa: F401
from workflows import budget
from workflows.app import App
from workflows.budget import ReservationLost
from workflows.db.models import Application, BudgetReservation, Call, Claim, ClaimStatus, Exchange
from workflows.db.process_models import ProcessInstance
from workflows.programme import Programme as Records
from workflows.services.calls import budget_of
from workflows.services.exchanges import cancel_exchange

AMOUNT = Decimal("1100.00")


def _postgres(app: App) -> None:
    if app.db.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: row locks and reservations in a second transaction are PostgreSQL's")


def _exchanges(prog: Programme, n: int, budget: Decimal = Decimal("10000"), call_id: int | None = None) -> tuple[int, list[int]]:
    """A call of its own (or `call_id`) and `n` exchanges of it without a claim yet."""
    with prog.app.uow() as uow:
        if call_id is not None:
            call = uow.session.get(Call, call_id)
            call.budget = budget
        else:
            call = Call(code="CXP-LOCK-1", title="Lock call", lead_partnership_id=prog.north_id,
                        opens_on=date(2027, 1, 11), closes_on=date(2027, 3, 5),
                        matching_deadline=datetime(2027, 5, 28, 18, tzinfo=BRUSSELS), budget=budget,
                        rule_set_version="2026.1", formats=["exchange_visit"], status="open")
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


def _claim(app: App, exchange_id: int, call_id: int, partnership_id: int, amount: Decimal = AMOUNT) -> None:
    """The exchange's computed claim, committed (as the step that computed the grant left it)."""
    with app.uow() as uow:
        uow.session.add(Claim(exchange_id=exchange_id, call_id=call_id, partnership_id=partnership_id, amount=amount,
                              computation={}, status=ClaimStatus.COMPUTED, created_at=uow.now()))
        uow.commit()


def _reservations(app: App) -> dict[int, Decimal]:
    with app.uow() as uow:
        return {e: a for e, a in uow.session.execute(select(BudgetReservation.exchange_id, BudgetReservation.amount))}


def _died_after_reserving(app: App, exchange_id: int) -> bool:
    """A step that checks R-BUDGET and then dies before committing (its transaction rolled back): what
    its check decided."""
    with app.uow() as uow:
        decision = Records(uow.session, uow.now(), uow.audit).commit_budget(exchange_id)
        # no commit: the process was killed here
    return decision.ok


def _lock_call_nowait(app: App, call_id: int) -> None:
    """Take the call row's R-BUDGET lock from another connection without waiting (fails if held)."""
    other = create_engine(app.db.url)
    try:
        with other.connect() as conn:
            conn.execute(text("SELECT id FROM calls WHERE id = :id FOR NO KEY UPDATE NOWAIT"), {"id": call_id})
            conn.rollback()
    finally:
        other.dispose()


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


def test_the_call_row_is_free_for_the_rest_of_the_step_once_the_budget_is_checked(programme: Programme) -> None:  # noqa: F811
    app: App = programme.app
    _postgres(app)
    call_id, (exchange_id,) = _exchanges(programme, 1)
    _claim(app, exchange_id, call_id, programme.north_id)
    with app.uow() as uow:
        decision = Records(uow.session, uow.now(), uow.audit).commit_budget(exchange_id)
        uow.session.flush()
        assert decision.ok
        # the step goes on (approval task, state, audit events): another grant of the call may check now
        _lock_call_nowait(app, call_id)
        uow.commit()
    with app.uow() as uow:
        assert uow.session.scalar(select(Claim.status).where(Claim.exchange_id == exchange_id)) == ClaimStatus.COMMITTED
    assert _reservations(app) == {}  # adopted by the step: counted once, as the committed claim


def test_many_grants_of_one_call_at_once_never_commit_more_than_the_budget(programme: Programme) -> None:  # noqa: F811
    app: App = programme.app
    _postgres(app)
    call_id, exchanges = _exchanges(programme, 8, budget=Decimal("4500.00"))  # room for four grants of 1,100
    for exchange_id in exchanges:
        _claim(app, exchange_id, call_id, programme.north_id)
    ready = threading.Barrier(len(exchanges))
    errors: list[BaseException] = []

    def step(exchange_id: int) -> None:
        try:
            with app.uow() as uow:
                records = Records(uow.session, uow.now(), uow.audit)
                records._claim(exchange_id)
                ready.wait(timeout=30)
                records.commit_budget(exchange_id)
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
        statuses = sorted(uow.session.scalars(select(Claim.status).where(Claim.call_id == call_id)))
        committed = uow.session.scalar(select(func.sum(Claim.amount)).where(
            Claim.call_id == call_id, Claim.status == ClaimStatus.COMMITTED))
        budget = budget_of(uow, uow.session.get(Call, call_id))
    assert statuses == [ClaimStatus.COMMITTED] * 4 + [ClaimStatus.WAITING_BUDGET] * 4
    assert committed == Decimal("4400.00") and budget.committed == Decimal("4400.00") and budget.left == Decimal("100.00")
    assert _reservations(app) == {}


def test_a_retried_step_reuses_its_reservation_and_counts_it_once(programme: Programme) -> None:  # noqa: F811
    app: App = programme.app
    _postgres(app)
    call_id, (exchange_id,) = _exchanges(programme, 1, budget=Decimal("1500.00"))  # one grant of 1,100 fits, not two
    _claim(app, exchange_id, call_id, programme.north_id)
    assert _died_after_reserving(app, exchange_id)
    assert _reservations(app) == {exchange_id: AMOUNT}  # committed in its own transaction
    with app.uow() as uow:
        held = budget_of(uow, uow.session.get(Call, call_id))
    assert (held.committed, held.left) == (AMOUNT, Decimal("400.00"))  # summaries count the reservation
    with app.uow() as uow:  # the retried step: reserving again would not fit, reusing does
        decision = Records(uow.session, uow.now(), uow.audit).commit_budget(exchange_id)
        uow.commit()
    assert decision.ok and decision.inputs["remaining"] == "1500.00"  # the decision taken when it reserved
    assert _reservations(app) == {}
    with app.uow() as uow:
        after = budget_of(uow, uow.session.get(Call, call_id))
        assert uow.session.scalar(select(Claim.status).where(Claim.exchange_id == exchange_id)) == ClaimStatus.COMMITTED
    assert (after.committed, after.left) == (AMOUNT, Decimal("400.00"))


def test_a_budget_lowered_never_goes_below_the_reservations(programme: Programme) -> None:  # noqa: F811
    from workflows.services import Invalid
    from workflows.services.calls import change_budget

    app: App = programme.app
    _postgres(app)
    call_id, (exchange_id,) = _exchanges(programme, 1, budget=Decimal("1500.00"))
    _claim(app, exchange_id, call_id, programme.north_id)
    assert _died_after_reserving(app, exchange_id)
    with pytest.raises(Invalid, match="budget") as refused:
        change_budget(app, "CXP-LOCK-1", programme.principal("admin"), "1000.00", "fewer funds")
    assert "committed (EUR 1100.00)" in str(refused.value)


def test_a_cancellation_gives_the_reservation_back(programme: Programme) -> None:  # noqa: F811
    app: App = programme.app
    _postgres(app)
    programme.awaiting_evidence()
    assert programme.exchange_id is not None and programme.exchange_ref is not None
    _claim(app, programme.exchange_id, programme.call_id, programme.north_id)
    assert _died_after_reserving(app, programme.exchange_id)
    assert list(_reservations(app)) == [programme.exchange_id]
    cancel_exchange(app, programme.exchange_ref, programme.principal(OFFICER), "the visitor withdrew")
    assert _reservations(app) == {}


def test_a_killed_steps_reservation_is_swept_but_never_while_its_step_runs(programme: Programme) -> None:  # noqa: F811
    app: App = programme.app
    _postgres(app)
    programme.awaiting_evidence()
    dead = programme.exchange_id
    assert dead is not None
    call_id, (other,) = _exchanges(programme, 1, budget=Decimal("2000.00"), call_id=programme.call_id)  # one of two fits
    _claim(app, dead, call_id, programme.north_id)
    _claim(app, other, call_id, programme.north_id)
    assert _died_after_reserving(app, dead)
    with app.uow() as running:  # a step of the dead exchange's instance is running again: its row is locked
        running.session.execute(select(ProcessInstance.id).where(ProcessInstance.id == programme.instance_id)
                                .with_for_update())
        with app.uow() as uow:
            waits = Records(uow.session, uow.now(), uow.audit).commit_budget(other)
            uow.commit()
        assert not waits.ok and _reservations(app) == {dead: AMOUNT}  # not swept under a running step
    with app.uow() as uow:  # no step holds it now: the next check of the call sweeps it and takes the budget
        uow.session.execute(update(Claim).where(Claim.exchange_id == other).values(status=ClaimStatus.COMPUTED))
        decision = Records(uow.session, uow.now(), uow.audit).commit_budget(other)
        uow.commit()
    assert decision.ok and _reservations(app) == {}
    with app.uow() as uow:
        assert budget_of(uow, uow.session.get(Call, call_id)).committed == AMOUNT


def test_a_step_whose_reservation_was_given_back_does_not_commit_the_grant(programme: Programme) -> None:  # noqa: F811
    app: App = programme.app
    _postgres(app)
    call_id, (exchange_id,) = _exchanges(programme, 1)
    _claim(app, exchange_id, call_id, programme.north_id)
    with app.uow() as uow:
        records = Records(uow.session, uow.now(), uow.audit)
        records.commit_budget(exchange_id)
        uow.commit()
    with app.uow() as uow:  # a second attempt finds the reservation gone under it (adopted, swept or cancelled)
        with pytest.raises(ReservationLost, match=f"exchange {exchange_id}"):
            budget.adopt(uow.session, exchange_id)


def test_the_lock_helper_fails_while_another_transaction_holds_the_call(programme: Programme) -> None:  # noqa: F811
    """The NOWAIT check of `test_the_call_row_is_free_for_the_rest_of_the_step_once_the_budget_is_checked`
    can fail: a held call row is seen (the old design held it there until the step committed)."""
    app: App = programme.app
    _postgres(app)
    call_id, _ = _exchanges(programme, 0)
    with app.uow() as uow:
        uow.session.execute(select(Call.id).where(Call.id == call_id).with_for_update(key_share=True))
        with pytest.raises(OperationalError, match="could not obtain lock"):
            _lock_call_nowait(app, call_id)


def test_the_timers_job_gives_back_a_killed_steps_reservation_nobody_took_over(programme: Programme) -> None:  # noqa: F811
    from workflows.flows.jobs import timers

    app: App = programme.app
    _postgres(app)
    programme.awaiting_evidence()
    dead = programme.exchange_id
    assert dead is not None
    _claim(app, dead, programme.call_id, programme.north_id)
    with app.uow() as running:  # its step still runs: the job leaves the reservation alone
        assert _died_after_reserving(app, dead)
        running.session.execute(select(ProcessInstance.id).where(ProcessInstance.id == programme.instance_id)
                                .with_for_update())
        assert timers(app)["budget_reservations_released"] == 0
        assert _reservations(app) == {dead: AMOUNT}
    assert timers(app)["budget_reservations_released"] == 1  # the step died: the budget comes back
    assert _reservations(app) == {}
    with app.uow() as uow:
        assert budget_of(uow, uow.session.get(Call, programme.call_id)).committed == Decimal("0.00")
    assert timers(app)["budget_reservations_released"] == 0


def test_a_reservation_is_not_swept_while_another_instance_of_its_exchange_runs_a_step(programme: Programme) -> None:  # noqa: F811
    app: App = programme.app
    _postgres(app)
    programme.awaiting_evidence()
    dead = programme.exchange_id
    assert dead is not None
    _claim(app, dead, programme.call_id, programme.north_id)
    with app.uow() as uow:  # a second (ended) instance of the same exchange, idle
        first = uow.session.get(ProcessInstance, programme.instance_id)
        uow.session.add(ProcessInstance(definition_id=first.definition_id, process_id=first.process_id,
                                        subject_type="exchange", subject_id=dead, state_json="{}", status="completed",
                                        waiting_messages=[], created_at=uow.now(), updated_at=uow.now()))
        uow.commit()
    assert _died_after_reserving(app, dead)
    with app.uow() as running:  # the step runs on the first instance; the second one's row is free
        running.session.execute(select(ProcessInstance.id).where(ProcessInstance.id == programme.instance_id)
                                .with_for_update())
        with app.uow() as uow:
            assert budget.sweep_orphans(uow.session, programme.call_id) == []
            uow.commit()
        assert _reservations(app) == {dead: AMOUNT}
    with app.uow() as uow:
        assert budget.sweep_orphans(uow.session, programme.call_id) == [dead]
        uow.commit()
    assert _reservations(app) == {}
